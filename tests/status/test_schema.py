"""status.schema.json: published beside status.json, which the page's data must match."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from admin_requests.status import StatusReport, write_site
from admin_requests.status.schema import status_schema


def _validator() -> jsonschema.protocols.Validator:
    schema = status_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_status_json_matches_its_published_schema(
    scenario_report: StatusReport, tmp_path: Path
) -> None:
    write_site(scenario_report, tmp_path)
    data = json.loads((tmp_path / "status.json").read_text())
    published = json.loads((tmp_path / "status.schema.json").read_text())
    assert published == status_schema()
    _validator().validate(data)
    # Everything on the page is in it.
    assert len(data["bots"]) == 4
    assert {m["kind"] for m in data["migrations"]} == {"regular", "closed"}
    assert len(data["incidents"]) == 2
    assert all(s["ok"] for s in data["sources"])


def test_the_schema_rejects_what_the_page_does_not_write(scenario_report: StatusReport) -> None:
    data = scenario_report.to_dict()
    validator = _validator()
    validator.validate(data)
    for broken in (
        {**data, "surprise": 1},
        {**data, "bots": [{**data["bots"][0], "state": "sleepy"}]},
        {**data, "generated_at": "yesterday"},
        {**data, "migrations": [{**data["migrations"][0], "percentage": 140}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)
