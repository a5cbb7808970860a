"""What people do in the backends comes back onto the timeline, with its source, and Sitrep's own
writes never come back as news."""

from __future__ import annotations

from models.enums import Milestone
from tests.sync.conftest import configure_backends
from tests.sync.test_delivery import run_full_incident


def remote_entries(app, incident_id):
    return [e for e in app.timeline.entries(incident_id) if (e.data or {}).get("remote")]


def test_pull_brings_remote_work_onto_the_timeline_without_echo(app, fake_pd, fake_jira, fake_sp):
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    inc = app.incidents.declare("Checkout: payments failing", "SEV1", author="ic", services=["checkout"])
    app.timeline.log(inc.id, "Roll back", author="ic", kind="decision", rationale="deploy matches")
    app.timeline.log(
        inc.id, "Payments are failing.", author="ic", kind="comms", data={"sync": ["statuspage"]}
    )
    app.sync.drain_once()
    # Pulling right after our own writes finds nothing new: no echo of notes, comments, updates, log entries.
    assert app.sync.drain_once(pull=True).pulled == 0
    before = app.timeline.count(inc.id)

    (pd_id,) = fake_pd.incidents
    fake_pd.add_note_as(pd_id, "ana@example.com", "DB team paged, joining the bridge")
    fake_pd.acknowledge_as(pd_id, "bo@example.com")
    fake_jira.add_comment_as("OPS-1", "Dana Lee", "Finance asks for an ETA")
    fake_jira.move("OPS-1", "In Progress")
    (sp_id,) = fake_sp.incidents
    fake_sp.post_update_as_person(sp_id, "identified", "Payment provider confirmed an outage.")

    report = app.sync.drain_once(pull=True)
    # Five things done elsewhere, two changes the acknowledgement makes here (milestone, status) and two the
    # page's "identified" stage makes (the Identified milestone, status Identified).
    assert report.pulled == 9
    pulled = remote_entries(app, inc.id)
    got = {(e.source, e.kind, e.author, e.body) for e in pulled}
    assert got == {
        ("pagerduty", "note", "Ana Ruiz (PagerDuty)", "DB team paged, joining the bridge"),
        ("pagerduty", "system", "Bo Chen (PagerDuty)", "PagerDuty: Acknowledged by Bo Chen."),
        ("jira", "note", "Dana Lee (Jira)", "Finance asks for an ETA"),
        ("jira", "system", "Jira", "Jira: OPS-1 moved from 'To Do' to 'In Progress'"),
        (
            "statuspage",
            "comms",
            "Statuspage",
            "Statuspage update (identified): Payment provider confirmed an outage.",
        ),
    }
    assert app.timeline.count(inc.id) == before + 9
    assert app.incidents.get(inc.id).status == "identified"
    assert app.integrity.verify().ok  # pulled entries join the hash chain like any other

    # Pulled entries are never sent back out, and a second pull adds nothing.
    assert app.sync.items(states=["pending"]) == []
    assert app.sync.drain_once(pull=True).pulled == 0
    assert app.timeline.count(inc.id) == before + 9
    assert len(fake_pd.notes[pd_id]) == 2 and len(fake_jira.comments["OPS-1"]) == 2


def test_our_own_note_is_not_echoed_even_when_its_answer_was_lost(app, fake_pd):
    """The note reached PagerDuty but the answer did not: a pull before the retry must not take the
    note for someone else's, and the retry must adopt it rather than post it again."""
    configure_backends(app, fake_pd, timeout_s=0.5)
    inc = app.incidents.declare("Checkout down", "SEV1", author="ic")
    app.sync.drain_once()
    app.timeline.log(inc.id, "Fail over", author="ic", kind="decision", rationale="primary gone")
    fake_pd.add_fault(method="POST", path=r"/notes$", kind="timeout", delay=0.9, after_effect=True)
    worker = app.sync.make_worker(backoff_base=5.0, backoff_cap=5.0)
    try:
        assert worker.step("pagerduty")[0] == "retry"
        assert worker.pull() == 0
        assert remote_entries(app, inc.id) == []
    finally:
        worker.close()
    (pending,) = app.sync.items(states=["pending"])
    app.sync.retry(pending.id)
    assert app.sync.drain_once().sent == 1
    assert len(next(iter(fake_pd.notes.values()))) == 1


def test_a_full_incident_then_pull_only_adds_what_others_did(app, fake_pd, fake_jira, fake_sp):
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    inc = run_full_incident(app)
    app.sync.drain_once()
    assert app.sync.drain_once(pull=True).pulled == 0
    (pd_id,) = fake_pd.incidents
    fake_pd.add_note_as(pd_id, "ana@example.com", "Post-incident review booked for Thursday")
    assert app.sync.drain_once(pull=True).pulled == 1
    (entry,) = remote_entries(app, inc.id)
    assert entry.source == "pagerduty" and entry.data["remote"]["kind"] == "note"


def test_an_acknowledgement_in_pagerduty_sets_the_milestone_and_starts_the_investigation(
    app, clock, fake_pd, fake_jira
):
    configure_backends(app, fake_pd, fake_jira)
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic", services=["checkout"])
    app.sync.drain_once()
    (pd_id,) = fake_pd.incidents
    status_puts = fake_pd.count("PUT", r"^/incidents/")
    acked_at = clock.advance(minutes=4)
    fake_pd.acknowledge_as(pd_id, "bo@example.com", at=acked_at.isoformat().replace("+00:00", "Z"))
    clock.advance(minutes=3)

    app.sync.drain_once(pull=True)

    now = app.incidents.get(inc.id)
    assert now.status == "investigating"
    assert now.milestone(Milestone.ACKNOWLEDGED) == acked_at  # when it happened there, not when we heard
    derived = [e for e in app.timeline.entries(inc.id) if (e.data or {}).get("caused_by")]
    assert [(e.kind, e.source, e.author) for e in derived] == [
        ("milestone_change", "pagerduty", "Bo Chen (PagerDuty)"),
        ("status_change", "pagerduty", "Bo Chen (PagerDuty)"),
    ]
    assert "acknowledged in PagerDuty" in derived[1].body
    # PagerDuty is not told what it told us; Jira still follows the status (its own transition).
    assert fake_pd.count("PUT", r"^/incidents/") == status_puts
    assert fake_jira.issues["OPS-1"]["fields"]["status"] == "In Progress"
    assert app.sync.items(states=["pending", "failed"]) == []
    # Pulling again changes nothing; the record still verifies.
    assert app.sync.drain_once(pull=True).pulled == 0
    assert app.integrity.verify().ok


def test_an_acknowledgement_does_not_overrule_what_the_commander_already_set(app, fake_pd):
    configure_backends(app, fake_pd)
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic")
    app.incidents.set_status(inc.id, "identified", author="ic")
    app.incidents.set_milestone(
        inc.id, "acknowledged", app.incidents.get(inc.id).milestone(Milestone.DECLARED), author="ic"
    )
    app.sync.drain_once()
    (pd_id,) = fake_pd.incidents
    fake_pd.acknowledge_as(pd_id, "bo@example.com")
    before = app.incidents.get(inc.id)

    assert app.sync.drain_once(pull=True).pulled == 1  # the log entry itself, nothing derived
    after = app.incidents.get(inc.id)
    assert after.status == "identified"
    assert after.milestone(Milestone.ACKNOWLEDGED) == before.milestone(Milestone.ACKNOWLEDGED)
