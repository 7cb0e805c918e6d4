"""The JSON Schema of ``status.json``, published beside it as ``status.schema.json``.

Written here as data, next to the model it describes (``model.py``'s ``to_dict``
methods); the tests validate the page's status.json against it, so the two cannot
drift apart. Every object is closed (``additionalProperties: false``): a new field
needs a line here.
"""

from __future__ import annotations

from typing import Any

from admin_requests.creation.steps import STEP_NAMES
from admin_requests.status.model import JSON_VERSION, MIGRATION_STATES
from admin_requests.status.oci_mirror import MIRRORED_SUBDIRS
from admin_requests.status.oci_mirror import STATES as MIRROR_STATES

SCHEMA_ID = "status.schema.json"


def _obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    props = {**required, **optional}
    return {
        "type": "object",
        "properties": props,
        "required": sorted(required),
        "additionalProperties": False,
    }


STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer", "minimum": 0}
BOOL: dict[str, Any] = {"type": "boolean"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time", "pattern": "Z$"}


def null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


LINK = _obj({"number": INT, "url": STR})
REQUESTER = _obj({"login": null(STR), "name": null(STR), "url": null(STR)})
RUN = _obj(
    {
        "number": INT,
        "event": STR,
        "status": STR,
        "conclusion": null(STR),
        "outcome": STR,
        "branch": STR,
        "created_at": TIME,
        "url": STR,
    }
)
DAY = _obj(
    {
        "date": {"type": "string", "format": "date"},
        "outcome": {"enum": ["success", "failure", "other", "none"]},
        "success": INT,
        "failure": INT,
        "other": INT,
    }
)
BOT = _obj(
    {
        "name": STR,
        "slug": STR,
        "repository": STR,
        "workflow": STR,
        "url": STR,
        "team": null(STR),
        "cadence": null({"type": "string", "pattern": "^[0-9]+[mhd]$"}),
        "state": {"enum": ["failing", "stale", "healthy", "unknown"]},
        "last_run": null(RUN),
        "last_success": null(TIME),
        "failure_streak": INT,
        "streak_complete": BOOL,
        "failing_since": null(TIME),
        "stale": BOOL,
        "days": {**array(DAY), "maxItems": 30},
        "runs_read": INT,
        "error": null(STR),
        "as_of": null(TIME),
    }
)
MIGRATION = _obj(
    {
        "name": STR,
        "kind": {"enum": ["regular", "longterm", "paused", "closed"]},
        "description": STR,
        "counts": {
            "type": "object",
            "propertyNames": {"enum": list(MIGRATION_STATES)},
            "additionalProperties": INT,
        },
        "prs_made": INT,
        "total": INT,
        "percentage": {"type": "number", "minimum": 0, "maximum": 100},
        "bot_errors": array(_obj({"name": STR, "url": STR})),
        "url": STR,
        "error": null(STR),
    }
)
INCIDENT = _obj(
    {
        "number": INT,
        "title": STR,
        "url": STR,
        "severity": STR,
        "created_at": null(TIME),
        "updated_at": null(TIME),
        "latest_update": STR,
        "latest_update_at": null(TIME),
    }
)
SOURCE = _obj(
    {
        "name": STR,
        "ok": BOOL,
        "error": null(STR),
        "failing_since": null(TIME),
        "last_ok": null(TIME),
    }
)
MIRRORED_PACKAGE = _obj(
    {
        "name": STR,
        "subdir": null({"enum": list(MIRRORED_SUBDIRS)}),
        "repository": null(STR),
        "state": {"enum": list(MIRROR_STATES)},
        "channel_newest": null(STR),
        "channel_newest_at": null(TIME),
        "mirror_newest": null(STR),
        "mirror_newest_at": null(TIME),
        "missing": INT,
        "lagging_since": null(TIME),
        "lag_seconds": null(INT),
        "error": null(STR),
        "as_of": null(TIME),
    }
)
OCI_MIRROR = _obj(
    {
        "registry": STR,
        "channel": STR,
        "grace_seconds": INT,
        "calls": INT,
        "counts": _obj({state: INT for state in MIRROR_STATES}),
        "packages": array(MIRRORED_PACKAGE),
    }
)
QUEUED = _obj(
    {
        "path": STR,
        "kind": null(STR),
        "items": null(INT),
        "requester": REQUESTER,
        "pull_request": null(LINK),
        "merged_at": null(TIME),
        "age_seconds": null(INT),
        "state": {"enum": ["pending", "retrying", "parked"]},
        "attempts": INT,
        "next_attempt": null(TIME),
        "last_error": null(STR),
        "parked_reason": null(STR),
        "issue": null(LINK),
        "note": null(STR),
    }
)
COMPLETED = _obj(
    {
        "path": STR,
        "kind": null(STR),
        "requester": REQUESTER,
        "pull_request": null(LINK),
        "merged_at": TIME,
        "done_at": TIME,
        "merge_to_done_seconds": {"type": "integer"},
        "commit": STR,
    }
)
WINDOW = _obj(
    {
        "days": INT,
        "completed": INT,
        "median_seconds": null(INT),
        "p90_seconds": null(INT),
        "p99_seconds": null(INT),
    }
)
WEEK = _obj(
    {
        "week": {"type": "string", "format": "date"},
        "completed": INT,
        "median_seconds": null(INT),
        "p90_seconds": null(INT),
    }
)
WORKFLOW = _obj(
    {
        "name": STR,
        "path": STR,
        "url": STR,
        "state": STR,
        "last_run": null(RUN),
        "failure_streak": INT,
        "failing_since": null(TIME),
        "last_success": null(TIME),
        "runs_examined": INT,
        "pull_request_only": BOOL,
        "unhealthy": BOOL,
    }
)
ISSUE = _obj(
    {
        "number": INT,
        "title": STR,
        "url": STR,
        "request": null(STR),
        "request_in_queue": BOOL,
    }
)
CREATION_RECIPE = _obj(
    {
        "recipe": STR,
        "feedstock": STR,
        "state": {"enum": ["stuck", "waiting", "in-progress"]},
        "why": STR,
        "attempts": INT,
        "last_attempt": null(TIME),
        "next_attempt": null(TIME),
        "last_error": null(STR),
        "parked_reason": null(STR),
        "issue": null(LINK),
        "steps_done": array(_obj({"step": STR, "evidence": STR})),
        "steps_pending": array({"enum": list(STEP_NAMES)}),
        "state_file": STR,
    }
)
CREATION = _obj(
    {
        "tracked": BOOL,
        "state_dir": STR,
        "recipes_total": INT,
        "stuck": INT,
        "waiting": INT,
        "in_progress": INT,
        "steps": array({"enum": list(STEP_NAMES)}),
        "recipes": array(CREATION_RECIPE),
    }
)
SUMMARY = _obj(
    {
        "queued": INT,
        "pending": INT,
        "retrying": INT,
        "parked": INT,
        "queued_older_than_stale": INT,
        "completed_total": INT,
        "unhealthy_workflows": INT,
        "failing_bots": INT,
        "stale_bots": INT,
        "open_incidents": INT,
        "migrations_in_flight": INT,
        "recipes_stuck": INT,
        "attention": array(STR),
    }
)


def status_schema() -> dict[str, Any]:
    schema = _obj(
        {
            "version": {"const": JSON_VERSION},
            "generated_at": TIME,
            "repository": STR,
            "repository_url": STR,
            "summary": SUMMARY,
            "queue": array(QUEUED),
            "completed": array(COMPLETED),
            "latency": _obj(
                {
                    "windows": array(WINDOW),
                    "stale_after_seconds": INT,
                    "queued_older_than_stale": INT,
                    "weeks": {**array(WEEK), "maxItems": 52},
                }
            ),
            "workflows": array(WORKFLOW),
            "issues": array(ISSUE),
            "problems": array(STR),
            "bots": array(BOT),
            "migrations": array(MIGRATION),
            "incidents": array(INCIDENT),
            "sources": array(SOURCE),
            "creation": CREATION,
            "oci_mirror": null(OCI_MIRROR),
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "admin-requests status page",
        "description": "status.json: everything the status page shows (docs/status-page.md).",
        **schema,
    }


BADGE = _obj(
    {"schemaVersion": {"const": 1}, "label": STR, "message": STR, "color": STR},
    isError=BOOL,
)
