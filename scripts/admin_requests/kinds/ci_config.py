"""Round-trip edits of the YAML files the CI-resource kinds keep in step.

Each function takes a file's current bytes (None when it does not exist) and returns
the new bytes, or None when the file already says what was asked (so nothing is
written and the item reports "already in place"). Comments, key order and quoting
survive (ruamel.yaml round-trip); a file that is not what we expect raises a
PermanentError naming it, so a person repairs it instead of us overwriting it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.tokens import CommentToken

from admin_requests.errors import PermanentError
from admin_requests.kinds.add_feedstock_output import _round_trip_yaml

ACCESS_CONTROL_HEADER = (
    "This file is kept by admin-requests (the CI-resource requests) and core.\n"
    "Please do not edit it by hand: file a request instead."
)


def _load(current: bytes | None, name: str) -> tuple[Any, Any]:
    text = current.decode() if current is not None else ""
    yaml = _round_trip_yaml(text)
    # 'key: null' stays 'key: null' (ruamel would write 'key:'), as conda-forge's
    # .access_control.yml spells an empty resource.
    yaml.representer.add_representer(type(None), _represent_null)
    try:
        data = yaml.load(text) if text.strip() else None
    except YAMLError as error:
        raise PermanentError(
            f"{name!r} is not valid YAML ({error}); ask core to repair it."
        ) from None
    return yaml, data


def _append(seq: CommentedSeq, value: object) -> None:
    """Append ``value``; comment and blank lines below the old last item stay below it all.

    ruamel.yaml keeps the lines that follow a list with its last item (for a list of
    mappings: with the last key of the last mapping), so a plain append would put the
    new item under a comment or a blank line meant for what follows the list.
    """
    following = _take_following_lines(seq)
    seq.append(value)
    if following is not None:
        _give_following_lines(seq, following)


def _remove(seq: CommentedSeq, value: object) -> None:
    """Remove ``value``; lines that followed the list stay after it (see ``_append``)."""
    index = seq.index(value)
    following = _take_following_lines(seq) if index == len(seq) - 1 else None
    del seq[index]  # CommentedSeq moves the other items' comments along
    if following is not None and len(seq):
        _give_following_lines(seq, following)


def _last_slot(node: Any) -> tuple[Any, Any, int] | None:
    """(container, key, index in its comment list) holding the trailing lines."""
    if isinstance(node, CommentedSeq) and len(node):
        last = node[-1]
        if isinstance(last, CommentedMap | CommentedSeq) and len(last):
            return _last_slot(last)
        return node, len(node) - 1, 0
    if isinstance(node, CommentedMap) and len(node):
        key = list(node)[-1]
        value = node[key]
        if isinstance(value, CommentedMap | CommentedSeq) and len(value):
            return _last_slot(value)
        return node, key, 2
    return None


def _take_following_lines(seq: CommentedSeq) -> CommentToken | None:
    slot = _last_slot(seq)
    if slot is None:
        return None
    container, key, index = slot
    entry = container.ca.items.get(key)
    token = entry[index] if entry and len(entry) > index else None
    if token is None:
        return None
    own_line, newline, following = token.value.partition("\n")
    if not newline or not following:
        return None
    token.value = own_line + "\n"
    return CommentToken("\n" + following, token.start_mark)


def _give_following_lines(seq: CommentedSeq, token: CommentToken) -> None:
    slot = _last_slot(seq)
    assert slot is not None
    container, key, index = slot
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    entry[index] = token


def _represent_null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _dump(yaml: Any, data: Any) -> bytes:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue().encode()


def _mapping(data: Any, key: str, name: str) -> CommentedMap:
    value = data.get(key)
    if value is None:
        data[key] = value = CommentedMap()
    if not isinstance(value, CommentedMap):
        raise PermanentError(f"{key!r} in {name!r} is not a mapping; ask core to repair it.")
    return value


def _sequence(data: Any, key: str, name: str) -> CommentedSeq:
    value = data.get(key)
    if value is None:
        data[key] = value = CommentedSeq()
    if not isinstance(value, CommentedSeq):
        raise PermanentError(f"{key!r} in {name!r} is not a list; ask core to repair it.")
    return value


def _root(data: Any, name: str) -> CommentedMap:
    if data is None:
        return CommentedMap()
    if not isinstance(data, CommentedMap):
        raise PermanentError(f"{name!r} is not a YAML mapping; ask core to repair it.")
    return data


# -- the organisation's .access_control.yml --------------------------------------------


def edit_access_control(
    current: bytes | None,
    *,
    resource: str,
    feedstock: str,
    grant: bool,
    name: str = ".access_control.yml",
    settings: dict[str, Any] | None = None,
) -> bytes | None:
    """One entry ``{feedstock: <repo>, **settings}`` under ``resource``: added or removed.

    Entries written by hand without the '-feedstock' suffix count as the same feedstock.
    """
    yaml, data = _load(current, name)
    root = _root(data, name)
    if data is None:
        root["version"] = 1
        root.yaml_set_start_comment(ACCESS_CONTROL_HEADER)
    resources = _mapping(root, "access_control", name)
    entries = _sequence(resources, resource, name)
    same = {feedstock, feedstock.removesuffix("-feedstock")}
    matching = [e for e in entries if isinstance(e, dict) and str(e.get("feedstock")) in same]
    settings = settings or {}
    if grant:
        if matching and all(matching[0].get(k) == v for k, v in settings.items()):
            return None
        if matching:
            matching[0].update(settings)
        else:
            _append(entries, CommentedMap({"feedstock": feedstock, **settings}))
    else:
        if not matching:
            return None
        for entry in matching:
            _remove(entries, entry)
    return _dump(yaml, root)


# -- the feedstock's own configuration (the cirun pull request) -------------------------


def enable_self_hosted(current: bytes | None, *, pull_request: bool) -> bytes | None:
    """conda-forge.yml builds linux_64 on self-hosted GitHub Actions runners."""
    name = "conda-forge.yml"
    yaml, data = _load(current, name)
    root = _root(data, name)
    before = _dump(yaml, root) if data is not None else b""
    actions = _mapping(root, "github_actions", name)
    actions["self_hosted"] = True
    if pull_request:
        actions["triggers"] = CommentedSeq(["push", "pull_request"])
    elif "triggers" in actions:
        del actions["triggers"]
    _mapping(root, "provider", name)["linux_64"] = "github_actions"
    after = _dump(yaml, root)
    return None if after == before else after


def set_runner_labels(current: bytes | None, *, resources: Sequence[str]) -> bytes | None:
    """recipe/conda_build_config.yaml asks for the cirun runners by their labels."""
    name = "recipe/conda_build_config.yaml"
    yaml, data = _load(current, name)
    root = _root(data, name)
    if list(root.get("github_actions_labels") or []) == list(resources):
        return None
    root["github_actions_labels"] = CommentedSeq(list(resources))
    return _dump(yaml, root)


def runner_labels(current: bytes | None) -> list[str]:
    _, data = _load(current, "recipe/conda_build_config.yaml")
    labels = data.get("github_actions_labels") if isinstance(data, dict) else None
    return [str(label) for label in labels] if isinstance(labels, list) else []
