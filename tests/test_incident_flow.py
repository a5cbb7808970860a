"""A whole SEV1 through the services: declare, log, assign, hand over, breach the clocks, mitigate, resolve."""

from __future__ import annotations

from datetime import timedelta

from whole_incident import BRIEF, TITLE, run_with_services

from models.enums import Milestone, Status
from models.types import iso


def test_whole_incident_leaves_the_expected_record(sitrep, clock):
    t0 = clock()
    changes = []
    sitrep.changes.subscribe(changes.append)

    key = run_with_services(sitrep, clock)

    def at(minutes: float):
        return t0 + timedelta(minutes=minutes)

    inc = sitrep.incidents.get(key)
    assert key == "INC-0001"
    assert inc.status is Status.RESOLVED
    assert inc.severity == "SEV1" and inc.is_major
    assert inc.services == ("checkout", "payments")

    entries = sitrep.timeline.entries(inc.id)
    assert [e.seq for e in entries] == list(range(1, 15))
    assert [(e.kind, e.body) for e in entries] == [
        ("status_change", f"Major incident declared at SEV1 (Critical): {TITLE}"),
        ("observation", "Payment errors at 40% on checkout-api"),
        ("role_change", "Ana Ruiz (@ana) assigned as Incident Commander"),
        ("assumption", "The 08:50 deploy of payments-api is the trigger"),
        ("decision", "Roll back payments-api to 4.12.2"),
        ("note", "Support saw failed payments from 08:45"),
        ("role_change", "Incident Commander handed over from Ana Ruiz (@ana) to Ben Okafor (@ben)"),
        ("milestone_change", "Milestone set: Bridge opened at 2026-03-14 09:09:00 UTC"),
        (
            "clock_breach",
            "Clock breached: Bridge open was due 2026-03-14 09:05:00 UTC (SEV1); met 4 min late",
        ),
        ("clock_breach", "Clock breached: Next external update was due 2026-03-14 09:10:00 UTC (SEV1)"),
        ("comms", "Status page: investigating failed card payments at checkout"),
        ("clock_breach", "Clock breached: Next external update was due 2026-03-14 09:32:00 UTC (SEV1)"),
        ("status_change", "Status changed: Declared → Mitigated"),
        ("status_change", "Status changed: Mitigated → Resolved"),
    ]
    by_seq = {e.seq: e for e in entries}

    declared = by_seq[1]
    assert declared.data["action"] == "declared"
    assert declared.data["severity"] == "SEV1" and declared.data["major"] is True
    assert declared.data["services"] == ["checkout", "payments"]
    assert declared.data["milestones"] == {
        "impact_started": iso(at(-20)),
        "detected": iso(at(-10)),
        "declared": iso(t0),
    }
    assert by_seq[3].data == {
        "action": "assigned",
        "role": "IC",
        "person": "ana",
        "milestones": {"ic_assigned": iso(at(2))},
    }
    assert by_seq[5].rationale == "the errors began with that deploy"
    assert all(e.rationale is None for e in entries if e.seq != 5)

    note = by_seq[6]
    assert note.occurred_at == at(-15), "a backdated entry keeps when it happened"
    assert note.recorded_at == at(5), "and when it was written"

    handover = by_seq[7]
    assert handover.data == {"action": "handover", "role": "IC", "from": "ana", "to": "ben", "brief": BRIEF}

    breaches = [e for e in entries if e.kind == "clock_breach"]
    assert [(e.data["clock"], e.data["due_at"]) for e in breaches] == [
        ("bridge", iso(at(5))),
        ("next_update", iso(at(10))),
        ("next_update", iso(at(32))),
    ]
    assert [e.occurred_at for e in breaches] == [at(5), at(10), at(32)], "a breach is dated at its deadline"
    assert all(e.author == "sitrep" for e in breaches)

    assert by_seq[13].data == {
        "from": "declared",
        "to": "mitigated",
        "reason": None,
        "milestones": {"mitigated": iso(at(35))},
    }
    assert by_seq[14].data["milestones"] == {"resolved": iso(at(45))}

    assert [e.author for e in entries] == [
        "ana", "ana", "ana", "ana", "ana", "ana", "ana", "ben", "sitrep", "sitrep", "ana", "sitrep", "ben", "ben",
    ]  # fmt: skip
    assert all(e.source == "sitrep" for e in entries)

    assert inc.milestones == {
        Milestone.IMPACT_STARTED: at(-20),
        Milestone.DETECTED: at(-10),
        Milestone.DECLARED: t0,
        Milestone.ACKNOWLEDGED: None,
        Milestone.IC_ASSIGNED: at(2),
        Milestone.BRIDGE_OPENED: at(9),
        Milestone.IDENTIFIED: None,
        Milestone.MITIGATED: at(35),
        Milestone.RESOLVED: at(45),
        Milestone.CLOSED: None,
    }

    report = sitrep.integrity.verify()
    assert report.ok and report.incidents == 1 and report.entries == 14

    topics = [c.topic for c in changes]
    assert topics.count("timeline") == 7  # 5 logged entries and 2 checks that found breaches
    assert topics.count("incident") == 4  # declared, bridge opened, mitigated, resolved
    assert topics.count("roles") == 2 and topics.count("people") == 2


def test_who_held_the_commander_role_when(sitrep, clock):
    t0 = clock()
    key = run_with_services(sitrep, clock)

    def holder(minutes: float):
        h = sitrep.roles.who_held(key, "IC", t0 + timedelta(minutes=minutes))
        return h.person.handle if h else None

    assert holder(1) is None, "nobody before the assignment at T+2"
    assert holder(2) == "ana"
    assert holder(7.99) == "ana"
    assert holder(8) == "ben", "the incoming holder holds from the handover instant"
    assert holder(60) == "ben"
    assert sitrep.roles.who_held(key, "COMMS", t0 + timedelta(minutes=20)) is None

    history = sitrep.roles.history(key)
    assert [(h.person.handle, h.started_at, h.ended_at) for h in history] == [
        ("ana", t0 + timedelta(minutes=2), t0 + timedelta(minutes=8)),
        ("ben", t0 + timedelta(minutes=8), None),
    ]
    assert history[1].handover_brief == {**BRIEF, "from": "ana"}
    assert [h.person.handle for h in sitrep.roles.holders(key)] == ["ben"]


def test_a_breach_is_recorded_once_however_often_the_clocks_are_checked(sitrep, clock):
    inc = sitrep.incidents.declare("Search slow", "SEV1", author="ana")
    clock.advance(minutes=4)
    assert sitrep.clocks.check(inc.key) == [], "nothing is due yet"
    clock.advance(minutes=2)  # T+6: bridge and commander (5 min) are late; first update (10 min) is not
    first = sitrep.clocks.check(inc.key)
    assert sorted(c.id for c in first) == ["bridge", "commander"]
    assert sitrep.clocks.check(inc.key) == []
    clock.advance(minutes=5)  # T+11
    assert [c.id for c in sitrep.clocks.check(inc.key)] == ["next_update"]
    assert sitrep.clocks.check(inc.key) == []
    kinds = [e.kind for e in sitrep.timeline.entries(inc.id)]
    assert kinds.count("clock_breach") == 3

    # Meeting a clock after its breach was recorded does not record it again.
    sitrep.incidents.set_milestone(inc.key, "bridge_opened", clock(), author="ana")
    assert sitrep.clocks.check(inc.key) == []
    states = {c.id: c.state(clock()) for c in sitrep.clocks.clocks(sitrep.incidents.get(inc.key))}
    assert states == {"bridge": "met_late", "commander": "breached", "next_update": "breached"}


def test_clocks_that_are_met_in_time_record_nothing(sitrep, clock):
    sitrep.people.add("Ana Ruiz", "ana")
    inc = sitrep.incidents.declare("Search slow", "SEV2", author="ana")
    clock.advance(minutes=3)
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    sitrep.incidents.set_milestone(inc.key, "bridge_opened", clock(), author="ana")
    clock.advance(minutes=20)
    sitrep.timeline.log(inc.id, "Status page updated", author="ana", kind="comms")
    clock.advance(minutes=29)  # SEV2: updates every 30 minutes; the next is due in one minute
    assert sitrep.clocks.check(inc.key) == []
    states = {c.id: c.state(clock()) for c in sitrep.clocks.clocks(sitrep.incidents.get(inc.key))}
    assert states == {"bridge": "met", "commander": "met", "next_update": "running"}
    clock.advance(minutes=2)
    assert [c.id for c in sitrep.clocks.check(inc.key)] == ["next_update"]


def test_a_resolved_incident_owes_no_more_updates(sitrep, clock):
    inc = sitrep.incidents.declare("Search slow", "SEV1", author="ana")
    clock.advance(minutes=1)
    sitrep.incidents.set_status(inc.key, "resolved", author="ana")
    clock.advance(hours=3)
    ids = [c.id for c in sitrep.clocks.check(inc.key)]
    assert "next_update" not in ids
    assert sorted(ids) == ["bridge", "commander"], "the bridge and commander were still never met"


def test_long_incidents_slow_the_update_cadence(sitrep, clock):
    inc = sitrep.incidents.declare("Region down", "SEV1", author="ana")
    clock.advance(minutes=150)  # past the 2-hour mark, SEV1 updates go hourly
    sitrep.timeline.log(inc.id, "Update 7 posted", author="ana", kind="comms")
    (update,) = [c for c in sitrep.clocks.clocks(sitrep.incidents.get(inc.key)) if c.id == "next_update"]
    assert update.due_at == clock() + timedelta(minutes=60)


def test_severities_without_obligations_have_no_clocks(sitrep, clock):
    inc = sitrep.incidents.declare("Typo on the help page", "SEV5", author="ana")
    clock.advance(days=2)
    assert sitrep.clocks.clocks(sitrep.incidents.get(inc.key)) == []
    assert sitrep.clocks.check(inc.key) == []
