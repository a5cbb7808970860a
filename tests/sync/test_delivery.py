"""What the commander does reaches PagerDuty, Jira and Statuspage once, in order, whatever the network does."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models.entities import OutboxItem, TimelineEntry
from services.sync.worker import SyncWorker
from tests.fakes import pagerduty as fpd
from tests.sync.conftest import configure_backends

PD_LOG_ORDER = ["trigger_log_entry", "annotate_log_entry", "acknowledge_log_entry", "resolve_log_entry"]
SP_STATUS_ORDER = ["investigating", "investigating", "identified", "resolved"]


def run_full_incident(app):
    """A SEV1 from declaration to resolution, touching everything the backends hear about."""
    if not any(p.handle == "ana" for p in app.people.list()):
        app.people.add("Ana Ruiz", "ana", email="ana@example.com")
    inc = app.incidents.declare("Checkout: payments failing", "SEV1", author="ic", services=["checkout"])
    app.roles.assign(inc.id, "IC", "ana", author="ic")
    app.timeline.log(
        inc.id, "Roll back the 10:02 deploy", author="ana", kind="decision", rationale="errors began with it"
    )
    app.timeline.log(inc.id, "Payments are failing for some customers; we are on it.", author="ana", kind="comms",
                     data={"sync": ["statuspage", "pagerduty"]})  # fmt: skip
    app.incidents.set_status(inc.id, "identified", author="ic")
    app.incidents.set_status(inc.id, "resolved", author="ic")
    return inc


def assert_delivered_once_in_order(fake_pd, fake_jira, fake_sp) -> None:
    assert len(fake_pd.incidents) == 1
    (pd_inc,) = fake_pd.incidents.values()
    assert pd_inc["status"] == "resolved"
    assert pd_inc["priority"]["id"] == "PPRI001"
    assert [n["content"].splitlines()[0] for n in fake_pd.notes[pd_inc["id"]]] == [
        "Decision: Roll back the 10:02 deploy"
    ]
    assert [le["type"] for le in fake_pd.log_entries[pd_inc["id"]]] == PD_LOG_ORDER
    assert len(fake_pd.status_updates[pd_inc["id"]]) == 1
    assert len(fake_pd.responder_requests[pd_inc["id"]]) == 1

    assert len(fake_jira.issues) == 1
    (issue,) = fake_jira.issues.values()
    assert issue["fields"]["status"] == "Done"
    texts = [c["body"]["content"][0]["content"][0]["text"] for c in fake_jira.comments[issue["key"]]]
    assert texts == [
        "Role change: Ana Ruiz (@ana) assigned as Incident Commander",
        "Decision: Roll back the 10:02 deploy",
    ]

    assert len(fake_sp.incidents) == 1
    (page_inc,) = fake_sp.incidents.values()
    assert [u["status"] for u in reversed(page_inc["incident_updates"])] == SP_STATUS_ORDER
    assert page_inc["status"] == "resolved"
    assert fake_sp.components["cmp0001"]["status"] == "operational"


def outbox_states(app) -> dict[str, int]:
    with app.store.read() as s:
        return dict(s.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state)).all())


def test_a_full_incident_reaches_all_three_once_and_in_order(app, fake_pd, fake_jira, fake_sp):
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    inc = run_full_incident(app)
    report = app.sync.drain_once()
    assert (report.sent, report.failed, report.left_pending) == (15, 0, 0)
    assert_delivered_once_in_order(fake_pd, fake_jira, fake_sp)
    links = {lk.backend: lk for lk in app.sync.links(inc.id)}
    assert links["jira"].remote_id == "OPS-1" and links["jira"].url.endswith("/browse/OPS-1")
    assert links["pagerduty"].url == next(iter(fake_pd.incidents.values()))["html_url"]
    assert links["statuspage"].url.startswith("https://stspg.io/")
    # Nothing is owed twice: a second drain sends nothing.
    assert app.sync.drain_once().sent == 0


def test_the_outbox_item_commits_with_its_entry_or_not_at_all(app, fake_pd):
    configure_backends(app, fake_pd)
    inc = app.incidents.declare("Queue backlog", "SEV2", author="ic")
    assert [i.op for i in app.sync.items()] == ["create_incident"]

    def broken_hook(db, entry):
        raise RuntimeError("a later hook fails")

    app.store.entry_hooks.append(broken_hook)
    with pytest.raises(RuntimeError):
        app.timeline.log(inc.id, "decided", author="ic", kind="decision", rationale="because")
    app.store.entry_hooks.remove(broken_hook)
    with app.store.read() as s:
        assert s.scalar(select(func.count()).select_from(TimelineEntry)) == 1
    assert [i.op for i in app.sync.items()] == ["create_incident"]


def test_made_offline_it_arrives_once_in_order_when_the_backends_return(app, fake_pd, fake_jira, fake_sp):
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    for fake in (fake_pd, fake_jira, fake_sp):
        fake.stop()
    run_full_incident(app)
    report = app.sync.drain_once(max_wait_s=5)
    assert report.sent == 0 and report.left_pending == 15
    status = app.sync.status()
    assert not status.online
    assert status.headline() == "Sync: offline, 15 pending"
    assert all("unreachable" in (lane.last_error or "") for lane in status.lanes)
    for fake in (fake_pd, fake_jira, fake_sp):
        fake.restart()
    report = app.sync.drain_once()
    assert (report.sent, report.left_pending) == (15, 0)
    assert_delivered_once_in_order(fake_pd, fake_jira, fake_sp)
    assert app.sync.status().headline() == "Sync: online"


CREATES_AND_NOTES = [
    ("pd", "POST", r"^/incidents$"),
    ("pd", "POST", r"/notes$"),
    ("jira", "POST", r"/issue$"),
    ("jira", "POST", r"/comment$"),
    ("sp", "POST", r"/incidents$"),
    ("sp", "PATCH", r"/incidents/[^/]+$"),
]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "timeout", "delay": 1.2},  # the change happens; the answer comes after the client gave up
        {"kind": "status", "status": 500},  # the change happens, then the server fails
        {"kind": "status", "status": 503, "headers": {"Retry-After": "0"}},
        {"kind": "malformed"},  # a 2xx nobody can read
        {"kind": "drop"},  # the connection dies after the change
    ],
    ids=["timeout", "500", "503", "malformed-json", "dropped-connection"],
)
def test_a_lost_answer_never_makes_a_duplicate(app, fake_pd, fake_jira, fake_sp, fault):
    configure_backends(app, fake_pd, fake_jira, fake_sp, timeout_s=0.6)
    fakes = {"pd": fake_pd, "jira": fake_jira, "sp": fake_sp}
    for name, method, path in CREATES_AND_NOTES:
        fakes[name].add_fault(method=method, path=path, after_effect=True, **fault)
    inc = app.incidents.declare("Checkout: payments failing", "SEV1", author="ic", services=["checkout"])
    app.timeline.log(
        inc.id, "Fail over to the standby", author="ic", kind="decision", rationale="primary is gone"
    )
    app.timeline.log(inc.id, "We are failing over.", author="ic", kind="comms", data={"sync": ["statuspage"]})
    report = app.sync.drain_once()
    assert report.failed == 0 and report.left_pending == 0, app.sync.items()
    assert report.retries >= 6
    assert len(fake_pd.incidents) == 1
    assert sum(len(v) for v in fake_pd.notes.values()) == 1
    assert len(fake_jira.issues) == 1
    assert sum(len(v) for v in fake_jira.comments.values()) == 1
    assert len(fake_sp.incidents) == 1
    (page_inc,) = fake_sp.incidents.values()
    assert [u["body"] for u in reversed(page_inc["incident_updates"])] == [
        "We are investigating reports of a problem.", "We are failing over."]  # fmt: skip
    # The adopted objects are the ones linked.
    links = {lk.backend: lk.remote_id for lk in app.sync.links(inc.id)}
    assert links == {
        "pagerduty": next(iter(fake_pd.incidents)),
        "jira": "OPS-1",
        "statuspage": page_inc["id"],
    }


def test_a_429_storm_is_waited_out_as_asked_without_duplicates_or_tripping_the_breaker(
    app, fake_pd, fake_jira, fake_sp
):
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    fake_pd.add_fault(method="POST", path=r"^/incidents$", status=429, count=2,
                      headers={"Retry-After": "1", "ratelimit-remaining": "0", "ratelimit-reset": "1"})  # fmt: skip
    fake_jira.add_fault(method="POST", path=r"/issue$", status=429, count=2,
                        headers={"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"})  # fmt: skip
    fake_sp.add_fault(method="POST", path=r"/incidents$", status=420, count=2)  # no Retry-After: at least 1 s
    run_full_incident(app)
    report = app.sync.drain_once()
    assert report.left_pending == 0 and report.failed == 0
    assert_delivered_once_in_order(fake_pd, fake_jira, fake_sp)
    for fake, path in ((fake_pd, r"^/incidents$"), (fake_jira, r"/issue$"), (fake_sp, r"/incidents$")):
        times = [r.at for r in fake.requests if r.method == "POST" and __import__("re").search(path, r.path)]
        assert len(times) == 3
        assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False)), (fake.label, times)
    assert all(lane.breaker == "closed" for lane in app.sync.status().lanes)


def test_a_permanent_refusal_stops_with_the_vendors_words_and_holds_only_that_incident(app, fake_jira):
    configure_backends(app, jira=fake_jira)
    app.sync.configure("jira", {"priority_map": {"SEV1": "Urgent", "SEV3": "Medium"}})
    bad = app.incidents.declare("DB failover", "SEV1", author="ic")
    app.timeline.log(bad.id, "Promote the replica", author="ic", kind="decision", rationale="primary is gone")
    good = app.incidents.declare("Slow search", "SEV3", author="ic")
    report = app.sync.drain_once()
    assert report.failed == 1
    (failed,) = app.sync.items(states=["failed"])
    assert failed.incident_id == bad.id and failed.op == "create_issue"
    assert failed.last_status == 400
    assert failed.last_error == "Jira refused the request (400): priority: The priority selected is invalid."
    held = app.sync.items(states=["pending"])
    assert [i.incident_id for i in held] == [bad.id]  # the decision waits behind its failed create
    assert [i["fields"]["summary"] for i in fake_jira.issues.values()] == [f"[{good.key}] Slow search"]
    assert app.sync.status().headline() == "Sync: online, 1 pending, 1 failed"
    # Fix the mapping, retry the failed item: everything goes, once, in order.
    app.sync.configure("jira", {"priority_map": {"SEV1": "Highest", "SEV3": "Medium"}})
    app.sync.retry(failed.id)
    report = app.sync.drain_once()
    assert report.sent == 2 and report.left_pending == 0
    assert len(fake_jira.issues) == 2
    assert len(fake_jira.comments["OPS-2"]) == 1


def test_cancelling_a_failed_create_lets_the_rest_fail_with_a_reason(app, fake_jira):
    configure_backends(app, jira=fake_jira)
    app.sync.configure("jira", {"issue_type": "Epic"})
    inc = app.incidents.declare("DB failover", "SEV1", author="ic")
    app.timeline.log(inc.id, "Promote the replica", author="ic", kind="decision", rationale="primary is gone")
    app.sync.drain_once()
    (failed,) = app.sync.items(states=["failed"])
    assert "issuetype: valid issue type is required" in failed.last_error
    app.sync.cancel(failed.id)
    app.sync.drain_once()
    (comment,) = app.sync.items(states=["failed"])
    assert comment.op == "comment" and "Jira has no ticket for INC-0001" in comment.last_error


def test_a_backend_that_keeps_failing_opens_the_breaker_then_probes(app, fake_pd):
    configure_backends(app, fake_pd)
    fake_pd.add_fault(method="POST", path=r"^/incidents$", status=502, count=1000)
    app.incidents.declare("Checkout down", "SEV1", author="ic")
    worker = app.sync.make_worker(
        backoff_base=0.001, backoff_cap=0.002, breaker_threshold=3, breaker_cooldown=0.4
    )
    try:
        outcomes = []
        for _ in range(200):
            outcome, wait = worker.step("pagerduty")
            outcomes.append(outcome)
            if outcome == "breaker_open":
                break
            __import__("time").sleep(max(0.0, min(wait, 0.01)))
        assert outcomes.count("retry") == 3 and outcomes[-1] == "breaker_open"
        sent_while_open = fake_pd.count("POST", r"^/incidents$")
        assert worker.step("pagerduty")[0] == "breaker_open"
        assert fake_pd.count("POST", r"^/incidents$") == sent_while_open == 3
        __import__("time").sleep(0.45)
        assert worker.step("pagerduty")[0] == "retry"  # the half-open probe fails: open again, for longer
        assert worker.breakers["pagerduty"].state == "open"
        fake_pd.faults.clear()
        __import__("time").sleep(0.85)
        assert worker.step("pagerduty")[0] == "sent"  # the probe succeeds: closed
        assert worker.breakers["pagerduty"].state == "closed"
    finally:
        worker.close()
    assert len(fake_pd.incidents) == 1


def test_refused_credentials_pause_the_backend_until_they_change(app, fake_pd):
    configure_backends(app, fake_pd)
    app.sync.secrets.set("pagerduty", "api_token", "wrong-token")
    app.incidents.declare("Checkout down", "SEV1", author="ic")
    report = app.sync.drain_once()
    assert report.sent == 0 and report.notes == ["pagerduty: paused"]
    (item,) = app.sync.items()
    assert (
        item.state == "pending"
        and item.last_error == "PagerDuty refused the credentials (401): Invalid Credentials"
    )
    assert "wrong-token" not in (item.last_error or "")
    app.sync.set_secret("pagerduty", "api_token", fpd.TOKEN)
    app.sync.retry(item.id)
    assert app.sync.drain_once().sent == 1


def test_a_missing_credential_says_how_to_set_it_and_sends_nothing(app, fake_pd):
    configure_backends(app, fake_pd)
    app.sync.secrets.delete("pagerduty", "api_token")
    app.incidents.declare("Checkout down", "SEV1", author="ic")
    app.sync.drain_once()
    (item,) = app.sync.items()
    assert item.state == "pending" and item.attempts == 0
    assert "sitrep backend set pagerduty --secret api_token --token-from-stdin" in item.last_error
    assert fake_pd.requests == []


def test_a_status_update_that_may_have_arrived_is_not_resent_blindly(app, fake_pd):
    configure_backends(app, fake_pd, timeout_s=0.5)
    inc = app.incidents.declare("Checkout down", "SEV1", author="ic")
    app.timeline.log(inc.id, "Customers may see errors at checkout.", author="ic", kind="comms",
                     data={"sync": ["pagerduty"]})  # fmt: skip
    fake_pd.add_fault(method="POST", path=r"/status_updates$", kind="timeout", delay=1.0, after_effect=True)
    app.sync.drain_once()
    (held,) = app.sync.items(states=["failed"])
    assert held.op == "status_update" and "may have reached the backend" in held.last_error
    assert sum(len(v) for v in fake_pd.status_updates.values()) == 1
    app.sync.retry(held.id)  # a person looked and decided to send it again
    app.sync.drain_once()
    assert sum(len(v) for v in fake_pd.status_updates.values()) == 2


def test_slow_answers_within_the_timeout_just_arrive(app, fake_pd):
    configure_backends(app, fake_pd, timeout_s=2.0)
    fake_pd.add_fault(kind="slow", delay=0.3, count=3)
    app.incidents.declare("Checkout down", "SEV1", author="ic")
    report = app.sync.drain_once()
    assert (report.sent, report.retries) == (1, 0)


def test_exercises_and_disabled_backends_owe_nothing(app, fake_pd, fake_jira):
    configure_backends(app, fake_pd, fake_jira)
    app.incidents.declare("Tabletop: region loss", "SEV1", author="facilitator", is_exercise=True)
    app.sync.configure("jira", {"enabled": False})
    app.incidents.declare("Real one", "SEV2", author="ic")
    assert [(i.backend, i.op) for i in app.sync.items()] == [("pagerduty", "create_incident")]


def test_events_mode_triggers_acknowledges_and_resolves_one_alert(app, fake_pd):
    configure_backends(app, fake_pd)
    app.sync.configure("pagerduty", {"mode": "events"})
    inc = app.incidents.declare("Disk full on db-1", "SEV2", author="ic")
    app.incidents.set_status(inc.id, "investigating", author="ic")
    app.incidents.set_status(inc.id, "resolved", author="ic")
    fake_pd.add_fault(method="POST", path=r"/v2/enqueue$", status=500, after_effect=True)
    report = app.sync.drain_once()
    assert report.sent == 3 and report.retries == 1
    assert [e["event_action"] for e in fake_pd.events_received] == [
        "trigger",
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert len(fake_pd.alerts) == 1 and next(iter(fake_pd.alerts.values()))["status"] == "resolved"
    assert fake_pd.incidents == {}


def test_two_workers_never_send_the_same_item(app, fake_pd):
    configure_backends(app, fake_pd)
    for n in range(5):
        app.incidents.declare(f"Incident {n}", "SEV3", author="ic")
    first: SyncWorker = app.sync.make_worker(batch_size=1)
    second: SyncWorker = app.sync.make_worker()
    try:
        assert first.step("pagerduty")[0] == "sent"
        assert second.step("pagerduty")[0] == "leased_elsewhere"
        first.close()  # releases the lane
        assert second.drain().sent == 4
    finally:
        second.close()
    assert len(fake_pd.incidents) == 5


def test_a_quick_comms_note_is_not_a_status_update_unless_someone_chooses_it(app, fake_pd):
    """A PagerDuty status update reaches the incident's stakeholders; a `/comms` note ("told the CEO")
    is a record, not text approved for them."""
    configure_backends(app, fake_pd)
    inc = app.incidents.declare("Checkout down", "SEV1", author="ic")
    app.timeline.log(inc.id, "Told the CFO by phone", author="ic", kind="comms")
    app.timeline.log(inc.id, "Checkout is failing; next update 10:30.", author="ic", kind="comms",
                     data={"sync": ["pagerduty"]})  # fmt: skip
    app.sync.drain_once()
    (pd_id,) = fake_pd.incidents
    assert [u["message"] for u in fake_pd.status_updates[pd_id]] == [
        "Checkout is failing; next update 10:30."
    ]
