"""The read lane (plain sqlite3, for the console's first paint) returns exactly what the services return
for the same store: one meaning, two paths."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from models.migrations import SCHEMA_HEAD
from services.demo import open_demo
from services.storage.read_lane import ReadLane, ReadLaneUnavailable

ROOT = Path(__file__).resolve().parents[1]


def as_fields(view) -> dict:
    return view._asdict()


@pytest.fixture
def demo(sitrep, monkeypatch):
    """The demo's store, its services reading through SQLAlchemy only (TimelineService.entries would
    otherwise take the read lane itself, and the comparison would be of the lane with itself)."""
    open_demo(sitrep)
    monkeypatch.setattr(sitrep.store, "read_lane", lambda: None)
    return sitrep


@pytest.fixture
def lane(sitrep):
    reader = ReadLane(sitrep.store.path, SCHEMA_HEAD)
    yield reader
    reader.close()


def test_the_incidents_list_is_the_services_list(demo, lane):
    assert len(demo.incidents.list()) >= 3
    for open_only in (False, True):
        for limit in (None, 2):
            services = [as_fields(v) for v in demo.incidents.list(open_only=open_only, limit=limit)]
            assert [as_fields(v) for v in lane.incidents(open_only=open_only, limit=limit)] == services
    assert lane.incident_count() == len(demo.incidents.list())


def test_an_incident_by_id_key_or_number_is_the_services_incident(demo, lane):
    view = demo.incidents.list()[0]
    for ref in (view.id, view.key, view.key.lower(), str(view.number)):
        assert as_fields(lane.incident(ref)) == as_fields(demo.incidents.get(ref))
    assert lane.incident("INC-9999") is None


def test_timeline_pages_counts_and_corrections_are_the_services(demo, lane):
    inc = demo.incidents.list()[0]
    first = demo.timeline.log(inc.id, "Rollback started", author="dana")
    demo.timeline.correct(first.id, "Rollback of 10:02 deploy started", author="dana", reason="named the deploy")
    every = demo.timeline.entries(inc.id)
    assert [tuple(r) for r in every] == lane.entries(inc.id)
    assert [tuple(r) for r in demo.timeline.entries(inc.id, after_seq=3, limit=4)] == lane.entries(
        inc.id, after_seq=3, limit=4
    )
    assert lane.last_entries(inc.id, 5) == [tuple(r) for r in every[-5:]]
    occurred = demo.timeline.matching_seqs(inc.id, order="occurred")[-6:]
    assert [r[2] for r in lane.last_occurred(inc.id, 6)] == occurred
    assert lane.last_occurred(inc.id, 6) == [tuple(r) for r in demo.timeline.entries_by_seq(inc.id, occurred)]
    assert lane.count(inc.id) == demo.timeline.count(inc.id) == len(every)
    assert lane.last_seq(inc.id) == demo.timeline.last_seq(inc.id)
    assert lane.superseded_ids(inc.id) == demo.timeline.superseded_ids(inc.id) and first.id in lane.superseded_ids(inc.id)
    for hide in (False, True):
        assert lane.seqs(inc.id, hide_superseded=hide) == demo.timeline.matching_seqs(inc.id, hide_superseded=hide)
    assert first.seq not in lane.seqs(inc.id, hide_superseded=True)


def test_a_store_written_by_another_process_reads_the_same(demo, lane):
    inc = demo.incidents.list()[0]
    before = lane.count(inc.id)
    script = textwrap.dedent(
        f"""
        from services.core import Sitrep
        app = Sitrep.open("sqlite:///{demo.store.path}")
        inc = app.incidents.get({inc.id!r})
        app.timeline.log(inc.id, "Written from a terminal", author="sam")
        app.incidents.declare("Second site down", severity="SEV3", author="sam")
        app.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)
    assert lane.count(inc.id) == before + 1 == demo.timeline.count(inc.id)
    assert lane.last_entries(inc.id, 1)[0][4] == "Written from a terminal"
    assert [as_fields(v) for v in lane.incidents()] == [as_fields(v) for v in demo.incidents.list()]
    assert lane.entries(inc.id) == [tuple(r) for r in demo.timeline.entries(inc.id)]


def test_a_store_at_another_schema_or_missing_is_refused(sitrep, tmp_path):
    with pytest.raises(ReadLaneUnavailable):
        ReadLane(tmp_path / "absent.db", SCHEMA_HEAD)
    with pytest.raises(ReadLaneUnavailable, match="not 9999"):
        ReadLane(sitrep.store.path, "9999")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ReadLaneUnavailable):
        ReadLane(junk, SCHEMA_HEAD)


def test_the_timeline_service_reads_the_live_edge_through_the_lane_with_the_same_rows(sitrep):
    open_demo(sitrep)
    inc = sitrep.incidents.list()[0]
    assert sitrep.store.read_lane() is not None
    through_lane = sitrep.timeline.entries(inc.id, after_seq=2)
    lane = sitrep.store.read_lane
    sitrep.store.read_lane = lambda: None
    try:
        assert sitrep.timeline.entries(inc.id, after_seq=2) == through_lane and through_lane
    finally:
        sitrep.store.read_lane = lane


def test_a_read_after_the_store_closed_goes_the_services_way(sitrep, tmp_path):
    open_demo(sitrep)
    inc = sitrep.incidents.list()[0]
    lane = sitrep.store.read_lane()
    assert lane is not None
    sitrep.store.close()
    with pytest.raises(ReadLaneUnavailable):
        lane.count(inc.id)
    assert sitrep.timeline.entries(inc.id)  # through SQLAlchemy, whose engine opens again as before
