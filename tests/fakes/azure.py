"""A fake Entra ID token endpoint and Azure DevOps build-definitions API on 127.0.0.1.

Entra ID: ``POST /{tenant}/oauth2/v2.0/token`` takes a client-credentials request whose
``client_assertion`` is a GitHub OIDC token, and answers with an access token only if
the app registration (``client_id``) has a federated credential (``trust(...)``) whose
issuer, subject and audience match the token exactly, and the signature verifies against
the issuer's JWKS, as Entra does. Azure DevOps: build definitions by name and id, and a
PUT that refuses a stale ``revision`` (409) and keeps stored secret values that come
back without a value. Both answer 401 to tokens they did not issue or that expired::

    with FakeOidcIssuer() as issuer, FakeAzure() as azure:
        azure.trust(issuer, subject="repo:conda-forge/admin-requests:environment:production")
        azure.add_pipeline("foo-feedstock")
        ...
        assert azure.pipeline("foo-feedstock").variables["FEEDSTOCK_TOKEN"]["value"] == ...

Effects: ``mint_token``, ``update_definition``.
"""

from __future__ import annotations

import copy
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt

from .oidc import FakeOidcIssuer
from .server import FakeServer, HttpError, Request, Response

AZURE_DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class FederatedCredential:
    issuer: FakeOidcIssuer
    subject: str
    audience: str


@dataclass
class FakePipeline:
    id: int
    name: str
    revision: int = 1
    # name -> {"value": str | None, "isSecret": bool, "allowOverride": bool}
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeAzure(FakeServer):
    def __init__(
        self,
        *,
        tenant: str = "tenant-0001",
        client_id: str = "client-0001",
        organisation: str = "conda-forge",
        project: str = "feedstock-builds",
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.tenant = tenant
        self.client_id = client_id
        self.organisation = organisation
        self.project = project
        self.federated: list[FederatedCredential] = []
        self.pipelines: dict[int, FakePipeline] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry (fake clock)
        self.token_lifetime = 3599
        self._ids = itertools.count(100)
        base = "/{org}/{project}/_apis/build/definitions"
        self.route("POST", "/{tenant}/oauth2/v2.0/token", self._token)
        self.route("GET", base, self._list_definitions)
        self.route("GET", base + "/{id}", self._get_definition)
        self.route("PUT", base + "/{id}", self._put_definition)
        # A new feedstock's pipeline (services/azure_devops.py ensure_pipeline).
        self.route("POST", base, self._create_definition)
        apis = "/{org}/{project}/_apis"
        self.route("GET", apis + "/serviceendpoint/endpoints", self._list_endpoints)
        self.route("GET", apis + "/distributedtask/queues", self._list_queues)
        self.route("GET", apis + "/distributedtask/variablegroups", self._list_groups)
        # conda-smithy's get_repo_reference (azure_ci_utils.py): BuildClient.list_repositories.
        self.route(
            "GET", apis + "/sourceProviders/{provider}/repositories", self._list_repositories
        )
        self.endpoints = [{"id": "endpoint-0001", "name": organisation, "type": "GitHub"}]
        self.queues = [{"id": 1, "name": "Default"}, {"id": 2, "name": "Hosted Ubuntu 1604"}]
        self.variable_groups = [{"id": 5, "name": "anaconda-org"}]
        self.created: dict[str, dict[str, Any]] = {}  # pipeline name -> the body it was made with

    # -- seeding ----------------------------------------------------------------------

    def trust(
        self, issuer: FakeOidcIssuer, *, subject: str, audience: str = FEDERATION_AUDIENCE
    ) -> None:
        """Give the app registration a federated credential (issuer, subject, audience)."""
        with self.lock:
            self.federated.append(FederatedCredential(issuer, subject, audience))

    def add_token(self, token: str, *, expires_in: float = 3600) -> str:
        with self.lock:
            self.tokens[token] = self.now() + expires_in
        return token

    def add_pipeline(self, name: str, variables: dict[str, Any] | None = None) -> FakePipeline:
        with self.lock:
            pipeline = FakePipeline(next(self._ids), name, variables=dict(variables or {}))
            self.pipelines[pipeline.id] = pipeline
            return pipeline

    def pipeline(self, name: str) -> FakePipeline:
        with self.lock:
            return next(p for p in self.pipelines.values() if p.name == name)

    @property
    def authority_url(self) -> str:
        return self.url

    # -- Entra ID ---------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if request.params["tenant"] != self.tenant:
            raise HttpError(400, "AADSTS90002: Tenant not found")
        if form.get("client_id") != self.client_id:
            raise HttpError(400, "AADSTS700016: Application not found in the directory")
        if form.get("grant_type") != "client_credentials":
            raise HttpError(400, "AADSTS70003: unsupported grant type")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise HttpError(400, "AADSTS700024: client assertion type is wrong")
        if form.get("scope") != AZURE_DEVOPS_SCOPE:
            raise HttpError(400, "AADSTS70011: the scope is not valid")
        if not self._federated_match(form.get("client_assertion", "")):
            raise HttpError(401, "AADSTS700213: No matching federated identity record found")
        token = "eyJ0eXAiOi.fake-azure." + secrets.token_hex(24)
        self.tokens[token] = self.now() + self.token_lifetime
        self.effects["mint_token"] += 1
        return Response(
            200,
            {"token_type": "Bearer", "expires_in": self.token_lifetime, "access_token": token},
        )

    def _federated_match(self, assertion: str) -> bool:
        for credential in self.federated:
            key = jwt.PyJWK(credential.issuer.jwks()["keys"][0]).key
            try:
                claims = jwt.decode(
                    assertion,
                    key,
                    algorithms=["RS256"],
                    audience=credential.audience,
                    issuer=credential.issuer.url,
                )
            except jwt.PyJWTError:
                continue
            if claims.get("sub") == credential.subject:
                return True
        return False

    def error_body(self, error: HttpError) -> Any:
        if error.message.startswith("AADSTS"):
            code = error.message.split(":")[0].removeprefix("AADSTS")
            kind = "invalid_client" if error.status == 401 else "invalid_request"
            return {
                "error": kind,
                "error_description": error.message,
                "error_codes": [int(code)],
            }
        return {"message": error.message, "typeKey": "FakeAzureException"}

    # -- Azure DevOps -----------------------------------------------------------------

    def _authorise(self, request: Request) -> None:
        header = request.header("Authorization") or ""
        scheme, _, value = header.partition(" ")
        expiry = self.tokens.get(value.strip())
        if scheme.lower() != "bearer" or expiry is None or self.now() >= expiry:
            raise HttpError(401, "Access denied: the token is not valid")
        params = request.params
        if params["org"] != self.organisation or params["project"] != self.project:
            raise HttpError(404, f"The project {params['project']!r} does not exist")

    def _definition_json(self, pipeline: FakePipeline) -> dict[str, Any]:
        variables = {
            name: {k: (None if k == "value" and v.get("isSecret") else val) for k, val in v.items()}
            for name, v in pipeline.variables.items()
        }
        return {
            "id": pipeline.id,
            "name": pipeline.name,
            "revision": pipeline.revision,
            "variables": variables,
            "repository": {"type": "GitHub", "name": f"conda-forge/{pipeline.name}"},
        }

    def _pipeline(self, request: Request) -> FakePipeline:
        pipeline = self.pipelines.get(int(request.params["id"]))
        if pipeline is None:
            raise HttpError(404, "The definition does not exist")
        return pipeline

    def _list_definitions(self, request: Request) -> Response:
        self._authorise(request)
        name = request.query.get("name")
        found = [
            {"id": p.id, "name": p.name, "revision": p.revision}
            for p in self.pipelines.values()
            if name is None or p.name == name
        ]
        return Response(200, {"count": len(found), "value": found})

    def _get_definition(self, request: Request) -> Response:
        self._authorise(request)
        return Response(200, self._definition_json(self._pipeline(request)))

    def _put_definition(self, request: Request) -> Response:
        self._authorise(request)
        pipeline = self._pipeline(request)
        body = request.json()
        if body.get("revision") != pipeline.revision:
            raise HttpError(409, "The definition has been updated by another client")
        variables: dict[str, dict[str, Any]] = {}
        for name, given in (body.get("variables") or {}).items():
            value = dict(given)
            if value.get("isSecret") and value.get("value") is None:
                value["value"] = pipeline.variables.get(name, {}).get("value")
            variables[name] = value
        pipeline.variables = copy.deepcopy(variables)
        pipeline.revision += 1
        self.effects["update_definition"] += 1
        return Response(200, self._definition_json(pipeline))

    # -- creating pipelines (feedstock creation) ----------------------------------------

    def _list_endpoints(self, request: Request) -> Response:
        self._authorise(request)
        kind = request.query.get("type")
        found = [e for e in self.endpoints if kind is None or e["type"] == kind]
        return Response(200, {"count": len(found), "value": found})

    def _list_queues(self, request: Request) -> Response:
        self._authorise(request)
        return Response(200, {"count": len(self.queues), "value": list(self.queues)})

    def _list_groups(self, request: Request) -> Response:
        self._authorise(request)
        name = request.query.get("groupName")
        found = [g for g in self.variable_groups if name is None or g["name"] == name]
        return Response(200, {"count": len(found), "value": found})

    def _list_repositories(self, request: Request) -> Response:
        """The GitHub repository a pipeline builds (``?repository=owner/name``), in the
        shape of Azure DevOps' ``SourceRepositories``."""
        self._authorise(request)
        full_name = request.query.get("repository", "")
        found = [
            {
                "id": full_name,
                "name": full_name,
                "fullName": full_name,
                "sourceProviderName": request.params["provider"],
                "url": f"https://github.com/{full_name}",
                "defaultBranch": "main",
                "properties": {
                    "cloneUrl": f"https://github.com/{full_name}.git",
                    "fullName": full_name,
                },
            }
        ]
        return Response(200, {"pageLength": 1, "totalPageCount": 1, "repositories": found})

    def _create_definition(self, request: Request) -> Response:
        self._authorise(request)
        body = request.json()
        name = body.get("name")
        if not name or (body.get("repository") or {}).get("type") != "GitHub":
            raise HttpError(400, "A build definition needs a name and a GitHub repository")
        if any(p.name == name for p in self.pipelines.values()):
            raise HttpError(409, f"A build definition named {name!r} already exists")
        pipeline = self.add_pipeline(name)
        self.created[name] = body
        self.effects["create_definition"] += 1
        return Response(200, self._definition_json(pipeline))
