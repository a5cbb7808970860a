"""Configuration change records: entered by hand or made through a checklist; listed; CSV/JSON for a CMDB
import that reads back unchanged."""

from __future__ import annotations

import json

import pytest

from services.errors import ImportFailure, ValidationError
from services.resolution.change_records import CSV_COLUMNS, from_csv, from_json, to_csv, to_json


@pytest.fixture
def incident(sitrep, clock):
    sitrep.people.add("Ana Ruiz", "ana")
    inc = sitrep.incidents.declare("Payments failing", "SEV1", author="ana", services=["payments-api"])
    clock.advance(minutes=3)
    return inc


def test_a_change_record_by_hand_is_a_timeline_entry_with_its_structure(sitrep, incident):
    rec = sitrep.change_records.add(incident.key, author="ana", ci="payments-db-eu", attribute="max_connections",
                                    before="200", after="400", why="pool exhausted",
                                    undo="set max_connections=200 and reload")  # fmt: skip
    assert rec.summary == "payments-db-eu: max_connections 200 → 400" and rec.who == "ana"
    entry = sitrep.timeline.entries(incident.id)[-1]
    assert entry.kind == "config_change" and entry.id == rec.id
    with pytest.raises(ValidationError, match="how to undo it"):
        sitrep.change_records.add(incident.key, author="ana", ci="x", attribute="y", before="1", after="2",
                                  why="z", undo=" ")  # fmt: skip
    with pytest.raises(ValidationError, match="nothing changed"):
        sitrep.change_records.add(incident.key, author="ana", ci="x", attribute="y", before="1", after="1",
                                  why="z", undo="u")  # fmt: skip


def test_csv_and_json_exports_read_back_unchanged(sitrep, incident):
    sitrep.change_records.add(incident.key, author="ana", ci="payments-api", attribute="replicas", before="3",
                              after="6", why='load, "burst"', undo="scale to 3\nthen watch")  # fmt: skip
    sitrep.change_records.add(incident.key, author="ana", ci="card-gateway", attribute="timeout", before="",
                              after="5s", why="retries piling up", undo="remove the timeout")  # fmt: skip
    records = sitrep.change_records.list(incident.key)
    text = to_csv(records)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert from_csv(text) == records
    assert from_json(to_json(records)) == records
    assert json.loads(to_json(records))["records"][0]["type"] == "emergency"
    with pytest.raises(ImportFailure, match="lacks the column"):
        from_csv("cmdb_ci\nx\n")


def test_change_cli_adds_lists_as_json_and_exports(run_cli, tmp_path):
    assert run_cli("people", "add", "Ana Ruiz", "ana")[0] == 0
    assert run_cli("--as", "ana", "declare", "Payments failing", "-s", "SEV1")[0] == 0
    code, out, err = run_cli("--as", "ana", "change", "add", "1", "--ci", "payments-api", "--attribute", "replicas",
                             "--before", "3", "--after", "6", "--why", "load", "--undo", "scale to 3")  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli("change", "list", "--incident", "1", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["ci"] == "payments-api" and row["incident_key"] == "INC-0001"
    target = tmp_path / "changes.csv"
    code, _, err = run_cli("change", "export", "--incident", "1", "--format", "csv", "--output", str(target))
    assert code == 0, err
    assert from_csv(target.read_text(encoding="utf-8"))[0].ci == "payments-api"
    code, _, err = run_cli("--as", "ana", "change", "add", "1", "--ci", "x", "--attribute", "y", "--after", "2",
                           "--why", "z")  # fmt: skip
    assert code == 2 and "--undo" in err
