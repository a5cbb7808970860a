"""Tampering with a real database file behind Sitrep's back is caught by verify, naming the entry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from models.migrations import SCHEMA_HEAD
from services.core import Sitrep
from services.record.timeline import entry_digest


@pytest.fixture
def record(data_dir: Path, clock) -> Path:
    """Two incidents on disk, closed again: INC-0001 with six entries, INC-0002 with two."""
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", now=clock)
    first = app.incidents.declare("Checkout down", "SEV1", author="ana")
    for text in ("Errors at 40%", "Rolled back payments-api", "Errors falling", "Errors at baseline"):
        clock.advance(minutes=2)
        app.timeline.log(first.id, text, author="ana")
    app.incidents.set_status(first.id, "mitigated", author="ana")
    second = app.incidents.declare("Search slow", "SEV3", author="ben")
    app.timeline.log(second.id, "p99 at 4 s", author="ben")
    assert app.integrity.verify().ok
    app.close()
    return data_dir / "sitrep.db"


def tamper(db: Path, *statements: str) -> None:
    """Plain sqlite3, as someone editing the file would: no Sitrep, no foreign keys."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            incident = conn.execute("SELECT id FROM incidents WHERE key = 'INC-0001'").fetchone()[0]
            for sql in statements:
                conn.execute(sql.replace(":inc", f"'{incident}'"))
    finally:
        conn.close()


def verify(db: Path):
    app = Sitrep.open(f"sqlite:///{db}")
    try:
        return app.integrity.verify()
    finally:
        app.close()


CASES = {
    "changed body": (
        ["UPDATE timeline_entries SET body = 'Errors at 4%' WHERE incident_id = :inc AND seq = 2"],
        2,
        "content was changed",
    ),
    "changed author": (
        ["UPDATE timeline_entries SET author = 'mallory' WHERE incident_id = :inc AND seq = 4"],
        4,
        "content was changed",
    ),
    "backdated": (
        [
            "UPDATE timeline_entries SET occurred_at = '2026-03-14T08:00:00.000000Z' "
            "WHERE incident_id = :inc AND seq = 3"
        ],
        3,
        "content was changed",
    ),
    "deleted middle entry": (
        ["DELETE FROM timeline_entries WHERE incident_id = :inc AND seq = 3"],
        4,
        "entry #3 is missing",
    ),
    "swapped seqs": (
        [
            "UPDATE timeline_entries SET seq = -1 WHERE incident_id = :inc AND seq = 2",
            "UPDATE timeline_entries SET seq = 2 WHERE incident_id = :inc AND seq = 3",
            "UPDATE timeline_entries SET seq = 3 WHERE incident_id = :inc AND seq = -1",
        ],
        2,
        "does not follow the entry before it",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_verify_names_the_incident_and_the_first_broken_entry(record, run_cli, case):
    statements, seq, reason = CASES[case]
    tamper(record, *statements)

    report = verify(record)
    assert not report.ok
    assert len(report.breaks) == 1, "only the tampered incident is reported"
    broken = report.breaks[0]
    assert (broken.incident_key, broken.seq) == ("INC-0001", seq)
    assert reason in broken.reason

    code, out, err = run_cli("verify")
    assert code == 6
    assert f"sitrep: verify: BROKEN: INC-0001 entry #{seq} " in err and reason in err
    assert "Traceback" not in err and "OK" not in out

    code, _, _ = run_cli("verify", "INC-0002")
    assert code == 0, "the untouched incident still verifies on its own"


def test_an_entry_that_carries_a_neighbours_hash_is_caught_at_the_next_entry(record):
    """Copying entry #4's content into #3 with #4's hash leaves #3 wrong and #4 not following."""
    tamper(
        record,
        "UPDATE timeline_entries SET prev_hash = (SELECT prev_hash FROM timeline_entries "
        "WHERE incident_id = :inc AND seq = 2) WHERE incident_id = :inc AND seq = 3",
    )
    (broken,) = verify(record).breaks
    assert (broken.incident_key, broken.seq) == ("INC-0001", 3)
    assert "does not follow" in broken.reason


def test_rewriting_an_entry_with_a_correct_new_hash_breaks_the_link_to_the_next(record):
    """Whoever edits entry #4 and recomputes its hash still leaves entry #5 pointing at the old one."""
    app = Sitrep.open(f"sqlite:///{record}")
    inc = app.incidents.get("INC-0001")
    fourth = app.timeline.entries(inc.id)[3]
    app.close()
    forged = fourth._replace(body="Nothing happened")
    new_hash = entry_digest(forged.prev_hash, forged._asdict())
    tamper(
        record,
        f"UPDATE timeline_entries SET body = 'Nothing happened', hash = '{new_hash}' WHERE id = '{fourth.id}'",
    )

    (broken,) = verify(record).breaks
    assert (broken.incident_key, broken.seq) == ("INC-0001", 5)
    assert "does not follow" in broken.reason


def test_verify_json_reports_the_break(record, run_cli):
    import json

    tamper(record, "UPDATE timeline_entries SET body = 'Errors at 4%' WHERE incident_id = :inc AND seq = 2")
    code, out, _ = run_cli("verify", "--json")
    doc = json.loads(out)
    assert code == 6 and doc["ok"] is False and doc["entries"] == 8
    assert [(b["incident_key"], b["seq"]) for b in doc["breaks"]] == [("INC-0001", 2)]


def test_doctor_reports_a_healthy_file(record, run_cli):
    code, out, _ = run_cli("doctor")
    assert code == 0
    assert "integrity_check    ok" in out and f"schema_revision    {SCHEMA_HEAD}" in out


def test_a_time_stored_in_another_form_of_the_same_instant_is_not_called_changed(record):
    # verify hashes the stored time texts as they are, and checks a mismatch again with the times read and
    # written back the reference way: the same instant written differently is the same content...
    conn = sqlite3.connect(record)
    with conn:
        stored = conn.execute("SELECT occurred_at FROM timeline_entries WHERE seq = 2 AND incident_id = "
                              "(SELECT id FROM incidents WHERE key = 'INC-0001')").fetchone()[0]  # fmt: skip
    conn.close()
    assert stored.endswith("Z")
    same_instant = stored[:-1] + "+00:00"
    tamper(record, f"UPDATE timeline_entries SET occurred_at = '{same_instant}' WHERE incident_id = :inc AND seq = 2")
    assert verify(record).ok
    # ...and another instant is not, in either form.
    moved = stored[:11] + "23" + stored[13:-1] + "+00:00"
    tamper(record, f"UPDATE timeline_entries SET occurred_at = '{moved}' WHERE incident_id = :inc AND seq = 2")
    report = verify(record)
    assert [(b.incident_key, b.seq) for b in report.breaks] == [("INC-0001", 2)]
    assert "content was changed" in report.breaks[0].reason


def test_the_stored_and_the_reference_readings_agree_on_every_entry(record):
    from services.record.integrity import verify_rows, verify_stored
    from services.record.views import EntryRow

    tamper(record, "UPDATE timeline_entries SET body = 'Errors at 4%' WHERE incident_id = :inc AND seq = 5")
    app = Sitrep.open(f"sqlite:///{record}")
    try:
        conn = sqlite3.connect(record)
        for inc in app.incidents.list():
            raw = conn.execute(f"SELECT {', '.join(EntryRow._fields)} FROM timeline_entries "
                               "WHERE incident_id = ? ORDER BY seq", (inc.id,)).fetchall()  # fmt: skip
            problem, stored = verify_stored(inc.key, raw)
            reference = app.timeline.entries(inc.id)
            assert problem == verify_rows(inc.key, reference)
            assert [(e.id, e.seq, e.kind, e.body, e.data, e.hash) for e in stored] == [
                (e.id, e.seq, e.kind, e.body, e.data, e.hash) for e in reference
            ]
        conn.close()
    finally:
        app.close()
