"""The timeline's append lane: the fast path `timeline.log` takes on a file SQLite store.

It writes with raw sqlite3 on its own connection, so these check that it writes exactly what the
SQLAlchemy path writes, keeps the chain whole alongside the other writers, keeps hooks inside the
same transaction, and turns storage failures into words.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import event, select, update

from models.entities import Incident
from services.core import Sitrep
from services.errors import NotFound, StoreError
from services.record.timeline import append_entry
from services.storage.store import Store


@pytest.fixture
def incident(sitrep: Sitrep):
    return sitrep.incidents.declare("Checkout: payments failing", "SEV2", author="ana")


def raw_rows(sitrep: Sitrep, incident_id: str) -> list[tuple]:
    con = sqlite3.connect(sitrep.store.path)
    try:
        return con.execute(
            "SELECT seq, kind, data, typeof(data), rationale, occurred_at, recorded_at, source "
            "FROM timeline_entries WHERE incident_id = ? ORDER BY seq",
            (incident_id,),
        ).fetchall()
    finally:
        con.close()


def test_log_takes_the_lane_on_a_file_store(sitrep: Sitrep, incident) -> None:
    assert sitrep.store.has_append_lane
    entry = sitrep.timeline.log(incident.id, "error rate 4%", author="ana", kind="observation")
    assert sitrep.store._append_lane is not None  # the lane was opened by that log
    assert sitrep.timeline.entries(incident.id)[-1] == entry


def test_lane_writes_what_the_sqlalchemy_path_writes(sitrep: Sitrep, incident, clock) -> None:
    clock.advance(minutes=1)
    with sitrep.store.write_connection() as conn:
        via_orm = append_entry(conn, incident.id, "note", "written by SQLAlchemy", author="ana", now=clock())
    clock.advance(minutes=1)
    via_lane = sitrep.timeline.log(incident.id, "written by the lane", author="ana")
    clock.advance(minutes=1)
    with_data = sitrep.timeline.log(
        incident.id, "with data", author="bo", data={"z": 1, "a": ["ü", None]}, source="cli"
    )
    rows = {r[0]: r for r in raw_rows(sitrep, incident.id)}
    orm_row, lane_row = rows[via_orm.seq], rows[via_lane.seq]
    # None data is JSON 'null' text on both paths; timestamps are the same fixed-width UTC text.
    assert orm_row[2:4] == lane_row[2:4] == ("null", "text")
    assert len(orm_row[5]) == len(lane_row[5]) == 27 and lane_row[5].endswith("Z")
    assert rows[with_data.seq][2:4] == ('{"z": 1, "a": ["\\u00fc", null]}', "text")
    read_back = sitrep.timeline.entries(incident.id)
    assert read_back[-1] == with_data
    assert read_back[-1].data == {"z": 1, "a": ["ü", None]}
    assert sitrep.integrity.verify().ok


def test_backdated_entry_keeps_both_times(sitrep: Sitrep, incident, clock) -> None:
    clock.advance(minutes=30)
    earlier = clock() - __import__("datetime").timedelta(minutes=10)
    entry = sitrep.timeline.log(incident.id, "deploy 10:02 matches", author="ana", occurred_at=earlier)
    stored = sitrep.timeline.entries(incident.id)[-1]
    assert stored.occurred_at == earlier and stored.recorded_at == clock()
    assert stored == entry
    assert sitrep.integrity.verify().ok


def test_chain_holds_across_lane_and_orm_writers(sitrep: Sitrep, incident) -> None:
    sitrep.timeline.log(incident.id, "one", author="ana")
    sitrep.incidents.set_status(incident.id, "investigating", author="ana")
    first = sitrep.timeline.log(incident.id, "two", author="ana")
    sitrep.timeline.correct(first.id, "two, corrected", author="ana", reason="typo")
    sitrep.timeline.log(incident.id, "three", author="ana")
    seqs = [e.seq for e in sitrep.timeline.entries(incident.id)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sitrep.integrity.verify().ok


def test_unknown_incident_is_not_found_and_writes_nothing(sitrep: Sitrep, incident) -> None:
    before = sitrep.timeline.count(incident.id)
    with pytest.raises(NotFound):
        sitrep.timeline.log("no-such-incident", "hello", author="ana")
    assert sitrep.timeline.count(incident.id) == before
    # The lane is usable afterwards (the failed transaction was rolled back, the lock released).
    sitrep.timeline.log(incident.id, "still works", author="ana")


def test_hooks_get_a_sqlalchemy_connection_in_the_same_transaction(sitrep: Sitrep, incident) -> None:
    seen = []

    def stamp_summary(db, entry) -> None:
        seen.append(entry.seq)
        db.execute(
            update(Incident.__table__)
            .where(Incident.__table__.c.id == entry.incident_id)
            .values(summary=f"last entry #{entry.seq}")
        )

    sitrep.store.entry_hooks.append(stamp_summary)
    entry = sitrep.timeline.log(incident.id, "hooked", author="ana")
    assert seen == [entry.seq]
    with sitrep.store.read_connection() as conn:
        summary = conn.execute(
            select(Incident.__table__.c.summary).where(Incident.__table__.c.id == incident.id)
        )
        assert summary.scalar_one() == f"last entry #{entry.seq}"


def test_hooks_that_only_look_at_the_entry_make_no_connection(sitrep: Sitrep, incident) -> None:
    sitrep.timeline.log(incident.id, "opens the lane", author="ana")
    checkouts = []
    event.listen(sitrep.store._append_lane.engine, "checkout", lambda *a: checkouts.append(1))
    seen = []
    sitrep.store.entry_hooks.append(lambda db, entry: seen.append(entry.seq))
    first = sitrep.timeline.log(incident.id, "looked at", author="ana")
    assert seen == [first.seq] and checkouts == []
    sitrep.store.entry_hooks.append(lambda db, entry: seen.append(db.dialect.name))  # as the outbox asks
    second = sitrep.timeline.log(incident.id, "asked about", author="ana")
    assert seen == [first.seq, second.seq, "sqlite"] and checkouts == [1]
    sitrep.store.entry_hooks.clear()


def test_a_failing_hook_undoes_the_entry(sitrep: Sitrep, incident) -> None:
    def half_then_fail(db, entry) -> None:
        db.execute(
            update(Incident.__table__).where(Incident.__table__.c.id == entry.incident_id).values(summary="x")
        )
        raise RuntimeError("planning bug")

    before = sitrep.timeline.count(incident.id)
    sitrep.store.entry_hooks.append(half_then_fail)
    with pytest.raises(RuntimeError, match="planning bug"):
        sitrep.timeline.log(incident.id, "never kept", author="ana")
    sitrep.store.entry_hooks.clear()
    assert sitrep.timeline.count(incident.id) == before
    assert sitrep.incidents.get(incident.id).summary != "x"
    sitrep.timeline.log(incident.id, "kept", author="ana")
    assert sitrep.timeline.count(incident.id) == before + 1
    assert sitrep.integrity.verify().ok


def test_concurrent_writers_queue_and_the_chain_holds(sitrep: Sitrep, incident) -> None:
    errors: list[BaseException] = []

    def logger(name: str) -> None:
        try:
            for i in range(25):
                sitrep.timeline.log(incident.id, f"{name} {i}", author=name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def commander() -> None:
        try:
            for severity in ("SEV1", "SEV2", "SEV1"):
                sitrep.incidents.set_severity(incident.id, severity, author="ana", reason="re-triage")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=logger, args=(n,)) for n in ("ana", "bo")]
    threads.append(threading.Thread(target=commander))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [e.seq for e in sitrep.timeline.entries(incident.id)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sum(1 for e in sitrep.timeline.entries(incident.id) if e.kind == "note") == 50
    assert sitrep.integrity.verify().ok


def test_locked_database_is_a_store_error_in_words(sitrep: Sitrep, incident) -> None:
    sitrep.timeline.log(incident.id, "opens the lane", author="ana")
    sitrep.store._append_lane.raw.execute("PRAGMA busy_timeout=50")  # don't wait 5 s for the lock
    other = sqlite3.connect(sitrep.store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked"):
            sitrep.timeline.log(incident.id, "blocked", author="ana")
    finally:
        other.execute("ROLLBACK")
        other.close()
    sitrep.timeline.log(incident.id, "after the lock", author="ana")
    assert [e.body for e in sitrep.timeline.entries(incident.id)][-1] == "after the lock"


def test_other_databases_log_through_sqlalchemy(sitrep: Sitrep, incident, monkeypatch) -> None:
    # PostgreSQL has no lane; without a server here, the same fallback is taken by switching it off.
    monkeypatch.setattr(Store, "has_append_lane", property(lambda self: False))
    entry = sitrep.timeline.log(incident.id, "through SQLAlchemy", author="ana", data={"k": 1})
    with pytest.raises(NotFound):
        sitrep.timeline.log("no-such-incident", "x", author="ana")
    assert sitrep.store._append_lane is None
    assert sitrep.timeline.entries(incident.id)[-1] == entry
    assert sitrep.integrity.verify().ok


def test_close_releases_the_lane(data_dir, clock) -> None:
    app = Sitrep.open(f"sqlite:///{data_dir / 'lane.db'}", now=clock)
    inc = app.incidents.declare("Lane", "SEV3", author="ana")
    app.timeline.log(inc.id, "x", author="ana")
    lane = app.store._append_lane
    app.close()
    assert app.store._append_lane is None
    with pytest.raises(sqlite3.ProgrammingError):
        lane.raw.execute("SELECT 1")


# -- corrections, served by ix_timeline_corrections ------------------------------------------------


def test_corrections_index_exists_and_is_partial(sitrep: Sitrep) -> None:
    con = sqlite3.connect(sitrep.store.path)
    try:
        (sql,) = con.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_timeline_corrections'"
        ).fetchone()
    finally:
        con.close()
    assert "supersedes_id IS NOT NULL" in sql


def test_hide_superseded_and_correct_twice(sitrep: Sitrep, incident) -> None:
    a = sitrep.timeline.log(incident.id, "db in eu-west-1", author="ana")
    b = sitrep.timeline.log(incident.id, "cache warm", author="ana")
    fixed = sitrep.timeline.correct(a.id, "db in eu-west-2", author="ana", reason="wrong region")
    other = sitrep.incidents.declare("Other", "SEV3", author="bo")
    o1 = sitrep.timeline.log(other.id, "unrelated", author="bo")
    sitrep.timeline.correct(o1.id, "unrelated, fixed", author="bo", reason="typo")

    assert sitrep.timeline.superseded_ids(incident.id) == {a.id}
    shown = sitrep.timeline.matching_seqs(incident.id, hide_superseded=True)
    assert a.seq not in shown and b.seq in shown and fixed.seq in shown
    assert sitrep.timeline.matching_seqs(incident.id, hide_superseded=True, text="eu-west") == [fixed.seq]
    with pytest.raises(Exception, match="already corrected"):
        sitrep.timeline.correct(a.id, "again", author="ana", reason="again")
