"""``token_reset``: issue a fresh feedstock token (used by CI to prove uploads come from it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ruamel.yaml.nodes import Node, ScalarNode, SequenceNode

from ..fields import Decoder, Text
from ..names import CI_PROVIDERS, check_feedstock_name
from ..problems import Problem
from .base import Item, RequestKind, RequestModel, check_each, feedstock_list
from .layout import EntryLayout, ListEntries


@dataclass(frozen=True)
class TokenResetRequest(RequestModel):
    feedstocks: tuple[Text, ...]
    skip_providers: tuple[Text, ...] = ()
    existing_tokens_time_to_expiration: int | None = None
    unique_token_per_provider: bool = False


def _check_provider(value: str) -> str | None:
    if value in CI_PROVIDERS:
        return None
    known = ", ".join(CI_PROVIDERS)
    return f"unknown CI provider {value!r} in 'skip_providers'; use some of: {known}."


class TokenResetKind(RequestKind):
    model_type: ClassVar[type[RequestModel]] = TokenResetRequest
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ListEntries("feedstocks")
    optional_keys: ClassVar[tuple[str, ...]] = (
        "skip_providers",
        "existing_tokens_time_to_expiration",
        "unique_token_per_provider",
    )

    def build(self, fields: dict[str, Node], decoder: Decoder) -> TokenResetRequest | None:
        skip: list[Text] | None = []
        node = fields.get("skip_providers")
        # 'skip_providers: []' is the documented way of saying "none" and stays valid.
        if node is not None and not (isinstance(node, SequenceNode) and not node.value):
            if isinstance(node, ScalarNode) and str(node.value) in ("", "~", "null"):
                skip = []
            else:
                skip = decoder.sequence(
                    node,
                    "skip_providers",
                    lambda item: decoder.text(item, "a CI provider"),
                    example_item="travis",
                )
        ok, expiration = True, None
        if "existing_tokens_time_to_expiration" in fields:
            ok, expiration = decoder.optional_int(
                fields["existing_tokens_time_to_expiration"], "existing_tokens_time_to_expiration"
            )
        unique: bool | None = False
        if "unique_token_per_provider" in fields:
            unique = decoder.boolean(
                fields["unique_token_per_provider"], "unique_token_per_provider"
            )
        feedstocks = (
            feedstock_list(decoder, fields["feedstocks"]) if "feedstocks" in fields else None
        )
        if feedstocks is None or skip is None or not ok or unique is None:
            return None
        return TokenResetRequest(
            decoder.path, self.action, tuple(feedstocks), tuple(skip), expiration, unique
        )

    def validate(self, model: TokenResetRequest) -> list[Problem]:
        return check_each(
            model.path, model.feedstocks, check_feedstock_name, "bad-feedstock-name"
        ) + check_each(model.path, model.skip_providers, _check_provider, "bad-provider")

    def plan(self, model: TokenResetRequest) -> list[Item]:
        providers = [p for p in CI_PROVIDERS if p not in model.skip_providers]
        old = (
            "replace the old tokens"
            if model.existing_tokens_time_to_expiration is None
            else f"let the old tokens expire in {model.existing_tokens_time_to_expiration} s"
        )
        return [
            Item(
                f"{self.action}:{name}",
                self.action,
                f"{name}-feedstock",
                f"issue a new feedstock token for {name}-feedstock on "
                f"{', '.join(providers) or 'no provider'} and {old}",
            )
            for name in model.feedstocks
        ]


TOKEN_RESET = TokenResetKind(
    "token_reset",
    "Issue a new feedstock token when uploads fail with a token/authentication error.",
)
