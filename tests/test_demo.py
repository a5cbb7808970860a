"""`sitrep --demo`'s seed: a SEV1 a newcomer can learn the console from, consistent with every rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import FakeClock

from models.enums import EntryKind, Status
from services.analytics.metrics import MetricFilter
from services.core import Sitrep
from services.demo import seed_demo
from services.record.owed import owed_at_resolve
from services.record.roles import HANDOVER_FIELDS


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Seeded once for the module: the tests only read it (about a hundred commits to write)."""
    folder = tmp_path_factory.mktemp("demo")
    clock = FakeClock()
    app = Sitrep.open(f"sqlite:///{folder / 'sitrep.db'}", backups_dir=folder / "backups", now=clock)
    view = seed_demo(app)
    yield app, clock, view
    app.close()


@pytest.fixture
def sitrep(seeded):
    return seeded[0]


@pytest.fixture
def clock(seeded):
    return seeded[1]


@pytest.fixture
def demo(seeded):
    return seeded[2]


def test_the_sev1_is_the_first_incident_listed_and_declared_95_minutes_ago(sitrep, clock, demo):
    listed = sitrep.incidents.list()
    assert listed[0].id == demo.id  # the console opens the first one
    assert demo.severity == "SEV1" and demo.is_major and demo.status is Status.MITIGATED
    assert clock() - demo.milestones["declared"] == timedelta(minutes=95)
    others = {(i.key, i.severity, i.status.is_open) for i in listed[1:4]}
    # The open SEV2, the overnight identity incident Sam commanded (services/rotation/demo.py), the SEV3.
    assert {(sev, is_open) for _, sev, is_open in others} == {("SEV3", False), ("SEV2", True), ("SEV2", False)}
    # A year of earlier incidents behind them, for the charts, all closed.
    assert len(listed) > 100 and not any(i.status.is_open for i in listed[4:])


def test_the_record_holds_and_nothing_is_recorded_in_the_future(sitrep, clock, demo):
    report = sitrep.integrity.verify()
    assert report.ok and report.incidents > 100  # the three live ones and the imported history
    for inc in sitrep.incidents.list():
        for e in sitrep.timeline.entries(inc.id):
            assert e.recorded_at <= clock() and e.occurred_at <= e.recorded_at


def test_the_timeline_tells_a_story_with_every_kind_a_commander_logs(sitrep, demo):
    entries = sitrep.timeline.entries(demo.id)
    kinds = {e.kind for e in entries}
    for kind in ("observation", "assumption", "decision", "action", "comms", "alert", "config_change"):
        assert kind in kinds
    decisions = [e for e in entries if e.kind == EntryKind.DECISION.value]
    assert len(decisions) >= 2 and all(e.rationale for e in decisions)
    backdated = [e for e in entries if e.occurred_at < e.recorded_at - timedelta(minutes=5)]
    assert {e.kind for e in backdated} >= {"alert", "observation"}
    corrections = [e for e in entries if e.supersedes_id]
    assert corrections and corrections[0].data["correction_reason"]
    breaches = [e for e in entries if e.kind == EntryKind.CLOCK_BREACH.value]
    assert {b.data["clock"] for b in breaches} >= {"commander", "next_update"}


def test_roles_include_a_handover_with_a_full_brief(sitrep, demo):
    holders = {h.role: h.person.handle for h in sitrep.roles.holders(demo.id)}
    assert {"IC", "DEPUTY", "COMMS", "TECH", "SCRIBE"} <= set(holders)
    ics = [h for h in sitrep.roles.history(demo.id) if h.role == "IC"]
    assert [h.person.handle for h in ics] == ["ana.ruiz", "sam.okafor"]
    brief = ics[1].handover_brief
    assert brief["from"] == "ana.ruiz"
    assert all(brief[k].strip() for k in HANDOVER_FIELDS)


def test_responders_span_several_time_zones(sitrep, demo):
    zones = {p.timezone for p in sitrep.people.list()}
    assert len(zones) >= 6


def test_the_demo_opens_on_a_running_update_clock_that_is_about_to_run_out(sitrep, clock, demo):
    clocks = {c.id: c for c in sitrep.clocks.clocks(demo)}
    assert clocks["commander"].state(clock()) == "met_late"
    assert clocks["next_update"].state(clock()) == "running"
    assert timedelta(0) < clocks["next_update"].remaining(clock()) <= timedelta(minutes=10)
    assert sitrep.clocks.check(demo.id) == []  # every breach so far is already on the record


def test_the_demo_tells_one_story_in_every_panel(sitrep, demo):
    """Each public update on the timeline is a message with its approval and its stakeholder log line;
    the registry, the calls to customers, a regulatory clock and the charts' history are there too."""
    messages = sitrep.comms.messages(demo.id)
    assert len(messages) == 4 and all(m.approver and m.state.value == "sent" for m in messages)
    comms_entries = [e for e in sitrep.timeline.entries(demo.id) if e.kind == "comms"]
    assert len(comms_entries) == len(messages)
    log = sitrep.comms.log(demo.key)
    # Four messages, two calls to enterprise customers, and the commander's case with the database host.
    assert {r.kind for r in log} == {"message", "contact"} and len(log) == 7
    assert [r.audience for r in log if r.audience == "vendors"] == ["vendors"]
    assert len(sitrep.comms.stakeholders()) >= 5
    assert [c.label for c in sitrep.comms.regulatory_clocks(demo.id)] == ["DORA: initial notification"]
    resolved = sitrep.metrics.table("time_to_resolve", "month", MetricFilter())
    assert sum(g.stats.count for g in resolved.groups) > 100


def test_resolving_the_demo_sev1_says_what_it_owes(sitrep, demo):
    owed = {o.kind: o.text for o in owed_at_resolve(sitrep, demo.id)}
    assert "DORA: initial notification" in owed["regulatory"] and "post-incident review" in owed["review"]
    assert "Incident Commander" in owed["checklist"]


def test_the_sev1_shares_a_known_error_with_an_older_imported_incident(sitrep, demo):
    problem = sitrep.problems.for_incident(demo.key)
    assert problem is not None and problem.is_known_error and "Pause settle-eu" in problem.workaround
    (older,) = [i for i in sitrep.problems.incidents_of(problem.key) if i.id != demo.id]
    assert older.started_at < demo.created_at - timedelta(days=30)
    first = sitrep.timeline.entries(older.id, limit=1)[0]
    assert first.source.startswith("import:")  # it came in through the history import, not seeded directly
    assert [c.ref for c in sitrep.change_links.list(demo.key)] == ["CHG0041207"]
    assert sitrep.metrics.table("time_to_resolve", "problem").groups[0].group.startswith(problem.key)
