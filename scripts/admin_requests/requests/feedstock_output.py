"""``add_feedstock_output``: allow a feedstock to upload packages with given names or globs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..fields import Decoder, Text, describe
from ..names import check_feedstock_name, check_output_name_or_glob, is_glob
from ..problems import Problem
from .base import Item, RequestKind, RequestModel, check_each
from .layout import EntryLayout, MappingOfLists

CURRENT_FORM = (
    "feedstock_to_output_mapping:\n"
    "  some-feedstock:\n"
    "    - some-output\n"
    "    - 'libsome*'   # a glob"
)


@dataclass(frozen=True)
class FeedstockOutputsRequest(RequestModel):
    feedstock_to_output_mapping: tuple[tuple[Text, tuple[Text, ...]], ...]


def _superseded_list_form(node: SequenceNode) -> str:
    """Rewrite the pre-2024 list-of-single-entry-mappings form into the current mapping."""
    mapping: dict[str, list[str]] = {}
    for entry in node.value:
        if isinstance(entry, MappingNode):
            for key, value in entry.value:
                outputs = value.value if isinstance(value, SequenceNode) else [value]
                mapping.setdefault(str(key.value), []).extend(
                    str(item.value) for item in outputs if isinstance(item, ScalarNode)
                )
    if not mapping:
        return CURRENT_FORM
    lines = ["feedstock_to_output_mapping:"]
    for feedstock, outputs in list(mapping.items())[:5]:
        lines.append(f"  {feedstock}:")
        lines += [f"    - {output}" for output in outputs[:5]]
    return "\n".join(lines)


def _bare(feedstock: Text) -> Text:
    """The feedstock name without a '-feedstock' suffix, keeping its position."""
    return Text(feedstock.removesuffix("-feedstock"), feedstock.line, feedstock.column)


def output_item_id(action: str, feedstock: str, output: str) -> str:
    return f"{action}:{feedstock.removesuffix('-feedstock')}:{output}"


class AddFeedstockOutputKind(RequestKind):
    required_keys: ClassVar[tuple[str, ...]] = ("feedstock_to_output_mapping",)
    item_entries: ClassVar[EntryLayout | None] = MappingOfLists(
        "feedstock_to_output_mapping", output_item_id
    )

    def build(self, fields: dict[str, Node], decoder: Decoder) -> FeedstockOutputsRequest | None:
        node = fields.get("feedstock_to_output_mapping")
        if node is None:
            return None
        if isinstance(node, SequenceNode):
            decoder.error(
                node,
                "superseded-format",
                "'feedstock_to_output_mapping' is a list: that is the old format, no longer "
                "accepted. The current format is a mapping from each feedstock name to a list "
                "of output names or globs; rewrite it as:\n" + _superseded_list_form(node),
            )
            return None
        if not isinstance(node, MappingNode) or not node.value:
            decoder.error(
                node,
                "expected-mapping",
                "'feedstock_to_output_mapping' must map each feedstock name to a list of "
                f"outputs, not {describe(node)}:\n{CURRENT_FORM}",
            )
            return None
        result = []
        for feedstock, outputs_node in decoder.mapping_entries(
            node, "'feedstock_to_output_mapping'"
        ):
            outputs = decoder.sequence(
                outputs_node,
                str(feedstock),
                lambda item: decoder.text(item, "an output name or glob"),
                example_item="some-output",
                indent="  ",
            )
            if outputs is not None:
                result.append((feedstock, tuple(outputs)))
        return FeedstockOutputsRequest(decoder.path, self.action, tuple(result))

    def validate(self, model: FeedstockOutputsRequest) -> list[Problem]:
        feedstocks = [feedstock for feedstock, _ in model.feedstock_to_output_mapping]
        problems = check_each(
            model.path,
            [_bare(feedstock) for feedstock in feedstocks],
            check_feedstock_name,
            "bad-feedstock-name",
        )
        # conda-forge has always accepted 'name-feedstock' keys here and stripped the
        # suffix, and real requests rely on it: keep accepting them, but say so.
        problems += [
            Problem(
                model.path,
                feedstock.line,
                feedstock.column,
                "feedstock-suffix",
                f"write the feedstock name without the '-feedstock' suffix: "
                f"{_bare(feedstock)!r}; it is read that way.",
                severity="warning",
            )
            for feedstock in feedstocks
            if feedstock.endswith("-feedstock")
        ]
        for _, outputs in model.feedstock_to_output_mapping:
            problems += check_each(model.path, outputs, check_output_name_or_glob, "bad-output")
        return problems

    def plan(self, model: FeedstockOutputsRequest) -> list[Item]:
        items = []
        for key, outputs in model.feedstock_to_output_mapping:
            feedstock = _bare(key)
            for output in outputs:
                if is_glob(output):
                    what = f"allow {feedstock}-feedstock to register outputs matching {output!s}"
                else:
                    what = f"register output {output!s} for {feedstock}-feedstock"
                items.append(
                    Item(f"{self.action}:{feedstock}:{output}", self.action, str(output), what)
                )
        return items


ADD_FEEDSTOCK_OUTPUT = AddFeedstockOutputKind(
    "add_feedstock_output",
    "Let a feedstock upload a package name it was not allowed to (fixes 'output not "
    "allowed' upload failures).",
)
