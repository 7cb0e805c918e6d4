"""The aws backend: STS AssumeRoleWithWebIdentity, Secrets Manager, and KMS signing.

The STS session is the shortest AWS allows (900 s) and cannot be revoked, only left to
expire; a run that lasts longer assumes the role again with a fresh OIDC token. The App
key can live in KMS (imported RSA_2048 key material, SIGN_VERIFY), which signs with
RSASSA_PKCS1_V1_5_SHA_256 like transit does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord, utc_now
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import MAX_TOKEN_SECONDS, CredentialSettings
from admin_requests.errors import AwsCredentialError, CredentialConfigError

log = logging.getLogger(__name__)

SESSION_SECONDS = MAX_TOKEN_SECONDS  # STS's minimum DurationSeconds
RENEW_MARGIN = timedelta(seconds=60)


def _error_code(exc: Exception) -> str:
    # ClientError's str() is the service's message, which may echo request values.
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


class AwsBackend:
    name = "aws"

    def __init__(
        self,
        settings: CredentialSettings,
        oidc: OidcRequester,
        masker: Masker,
        *,
        session_name: str = "admin-requests",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not settings.aws_role_arn or not settings.aws_secret_id:
            raise CredentialConfigError(
                "ADMIN_REQUESTS_AWS_ROLE_ARN and ADMIN_REQUESTS_AWS_SECRET_ID must both be "
                "set for the aws backend (see deploy/aws/)"
            )
        self._settings = settings
        self._oidc = oidc
        self._masker = masker
        self._session_name = session_name
        self._clock = clock
        self._ledger: CredentialLedger | None = None
        self._session: boto3.Session | None = None
        self._record: CredentialRecord | None = None

    def start(self, ledger: CredentialLedger) -> None:
        self._ledger = ledger
        self._assume_role()

    def _client(self, service: str, endpoint_url: str, session: Any) -> Any:
        return session.client(
            service, region_name=self._settings.aws_region, endpoint_url=endpoint_url or None
        )

    def _assume_role(self) -> None:
        assert self._ledger is not None
        s = self._settings
        id_token = self._oidc.id_token(s.default_audience())
        try:
            # AssumeRoleWithWebIdentity is authenticated by the web identity token alone:
            # unsigned, so no stray AWS credentials from the environment are ever used.
            sts = boto3.client(
                "sts",
                region_name=s.aws_region,
                endpoint_url=s.aws_sts_endpoint_url or None,
                config=Config(signature_version=UNSIGNED),
            )
            answer = sts.assume_role_with_web_identity(
                RoleArn=s.aws_role_arn,
                RoleSessionName=self._session_name,
                WebIdentityToken=id_token.reveal(),
                DurationSeconds=SESSION_SECONDS,
            )
        except (ClientError, BotoCoreError) as exc:
            raise AwsCredentialError(
                f"STS refused AssumeRoleWithWebIdentity for {s.aws_role_arn!r} "
                f"({_error_code(exc)}); check the role's trust policy in deploy/aws/"
            ) from None
        finally:
            id_token.clear()
        creds = answer["Credentials"]
        for value in (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]):
            self._masker.register(value)
        self._session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=s.aws_region,
        )
        self._record = self._ledger.created(
            "aws-session",
            f"role {s.aws_role_arn}",
            "job",
            lifetime=timedelta(seconds=SESSION_SECONDS),
            revocable=False,
        )

    def _current_session(self) -> boto3.Session:
        if self._session is None or self._record is None:
            raise AwsCredentialError("the AWS session is closed; use the broker inside its 'with'")
        if self._clock() >= self._record.expires_at - RENEW_MARGIN:
            self._assume_role()
        assert self._session is not None
        return self._session

    def read_job_secret(self) -> dict[str, Secret]:
        s = self._settings
        client = self._client(
            "secretsmanager", s.aws_secretsmanager_endpoint_url, self._current_session()
        )
        try:
            answer = client.get_secret_value(SecretId=s.aws_secret_id)
        except (ClientError, BotoCoreError) as exc:
            raise AwsCredentialError(
                f"Secrets Manager refused GetSecretValue for {s.aws_secret_id!r} "
                f"({_error_code(exc)}); check that the secret exists in {s.aws_region!r} and "
                "that deploy/aws/permissions-policy.json grants it to the role"
            ) from None
        text = answer.get("SecretString") or ""
        self._masker.register(text)
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise AwsCredentialError(
                f"secret {s.aws_secret_id!r} is not a JSON object; store it as "
                '{"anaconda_org_username": "...", "anaconda_org_password": "...", '
                '"github_app_id": "...", ...}'
            )
        return {str(k): self._masker.register(str(v)) for k, v in data.items()}

    def sign_rs256(self, message: bytes) -> bytes:
        s = self._settings
        if not s.aws_kms_key_id:
            raise CredentialConfigError(
                "ADMIN_REQUESTS_AWS_KMS_KEY_ID is empty; the aws backend signs App JWTs with "
                "a KMS key holding the App's private key"
            )
        client = self._client("kms", s.aws_kms_endpoint_url, self._current_session())
        try:
            answer = client.sign(
                KeyId=s.aws_kms_key_id,
                Message=message,
                MessageType="RAW",
                SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise AwsCredentialError(
                f"KMS refused Sign with key {s.aws_kms_key_id!r} ({_error_code(exc)}); check "
                "deploy/aws/permissions-policy.json"
            ) from None
        return bytes(answer["Signature"])

    def close(self, ledger: CredentialLedger) -> None:
        # STS sessions cannot be revoked; dropping it ends our use, expiry ends it.
        self._session = None
