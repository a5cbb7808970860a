"""Planned maintenance reaches Statuspage as a scheduled maintenance once, in order, whatever the network
does; what Statuspage does to it by itself (starting and completing on time) comes back to the window."""

from __future__ import annotations

import json
from datetime import timedelta

from models.enums import MaintenanceStatus
from tests.fakes.statuspage import AUTO_COMPLETED, AUTO_IN_PROGRESS, PAGE
from tests.sync.conftest import configure_backends

H = timedelta(hours=1)


def plan_upgrade(app, **kw):
    now = app.now()
    args = {"description": "Checkout is read-only while the primary database is upgraded.",
            "services": ["checkout", "search"], **kw}  # fmt: skip
    return app.maintenance.plan("Database upgrade", now + 24 * H, now + 26 * H, author="ana", **args)


def bodies(fake, method: str, path_regex: str) -> list[dict]:
    import re

    with fake.lock:
        return [json.loads(r.body)["incident"] for r in fake.requests
                if r.method == method and re.search(path_regex, r.path) and r.body]  # fmt: skip


def test_planned_offline_it_appears_once_with_its_fields_when_statuspage_is_back(app, fake_sp):
    configure_backends(app, sp=fake_sp)
    fake_sp.stop()
    w = plan_upgrade(app)
    (item,) = app.sync.items()
    assert (item.op, item.incident_id, item.incident_key, item.state) == (
        "create_maintenance",
        None,
        w.key,
        "pending",
    )
    report = app.sync.drain_once(max_wait_s=0.5)
    assert (report.sent, report.left_pending) == (0, 1)
    (copy,) = app.maintenance.remote_copies(w.key)
    assert copy.remote_id is None and copy.summary().startswith(
        "1 waiting to send (Statuspage is unreachable"
    )

    fake_sp.restart()
    assert app.sync.drain_once().sent == 1
    (m,) = fake_sp.maintenances()
    assert m["name"] == "Database upgrade" and m["status"] == "scheduled" and m["impact"] == "maintenance"
    assert (m["scheduled_for"], m["scheduled_until"]) == (
        "2026-03-15T09:00:00.000Z",
        "2026-03-15T11:00:00.000Z",
    )
    assert [c["id"] for c in m["components"]] == ["cmp0001"]  # checkout is mapped; search has no component
    assert m["metadata"] == {"sitrep": {"maintenance_id": w.id, "key": "MNT-0001"}}
    assert all(m[f] is True for f in (
        "scheduled_remind_prior", "scheduled_auto_in_progress", "scheduled_auto_completed",
        "auto_transition_to_maintenance_state", "auto_transition_to_operational_state",
        "auto_transition_deliver_notifications_at_start", "auto_transition_deliver_notifications_at_end",
    ))  # fmt: skip
    (first,) = m["incident_updates"]
    assert first["body"] == w.description and first["deliver_notifications"] is True
    assert fake_sp.components["cmp0001"]["status"] == "operational"  # not under maintenance before it starts
    (copy,) = app.maintenance.remote_copies(w.key)
    assert (copy.remote_id, copy.url, copy.remote_state) == (
        m["id"],
        f"https://stspg.io/{m['id']}",
        "scheduled",
    )
    assert copy.summary() == "published (scheduled)"
    assert app.sync.drain_once().sent == 0  # owed once


def test_reschedule_updates_and_status_moves_arrive_in_order_sending_only_what_changed(app, fake_sp, clock):
    configure_backends(app, sp=fake_sp)
    w = plan_upgrade(app)
    svc = app.maintenance
    now = clock()
    svc.reschedule(w.key, now + 48 * H, now + 51 * H, author="ana", message="Moved at the vendor's request.")
    svc.edit(w.key, author="ana", title="Database upgrade (primary)")
    svc.post_update(w.key, "Runbook rehearsed on staging.", author="ana", notify=False)
    clock.advance(hours=48)
    svc.start(w.key, author="ana")
    svc.set_status(w.key, "verifying", author="ana", message="Checking replicas.")
    svc.complete(w.key, author="ana")
    assert app.sync.drain_once().sent == 7

    (m,) = fake_sp.maintenances()
    assert [(u["status"], u["body"]) for u in reversed(m["incident_updates"])] == [
        ("scheduled", w.description),
        ("scheduled", "Moved at the vendor's request."),
        ("scheduled", "Runbook rehearsed on staging."),
        (
            "in_progress",
            "Scheduled maintenance is currently in progress. We will provide updates as necessary.",
        ),
        ("verifying", "Checking replicas."),
        ("completed", "The scheduled maintenance has been completed."),
    ]
    assert m["incident_updates"][3]["deliver_notifications"] is False  # that one was quiet
    assert m["name"] == "Database upgrade (primary)" and m["scheduled_for"] == "2026-03-16T09:00:00.000Z"
    patches = bodies(fake_sp, "PATCH", r"/incidents/inc\d+$")
    assert patches[0] == {"scheduled_for": "2026-03-16T09:00:00Z", "scheduled_until": "2026-03-16T12:00:00Z",
                          "body": "Moved at the vendor's request.", "deliver_notifications": True}  # fmt: skip
    assert patches[1] == {"name": "Database upgrade (primary)"}  # an edit without a message posts no update
    assert patches[2] == {"body": "Runbook rehearsed on staging.", "deliver_notifications": False}
    assert (
        patches[3]["components"] == {"cmp0001": "under_maintenance"} and patches[3]["status"] == "in_progress"
    )
    assert patches[5]["components"] == {"cmp0001": "operational"} and patches[5]["status"] == "completed"
    assert fake_sp.components["cmp0001"]["status"] == "operational"
    (copy,) = app.maintenance.remote_copies(w.key)
    assert copy.remote_state == "completed" and copy.sent == 7
    # Nothing Sitrep sent comes back as news.
    assert app.sync.drain_once(pull=True).pulled == 0
    assert len(app.maintenance.history(w.key)) == 7


def test_a_description_edit_rewrites_the_first_update_on_the_page(app, fake_sp):
    configure_backends(app, sp=fake_sp)
    w = plan_upgrade(app)
    app.sync.drain_once()
    app.maintenance.edit(w.key, author="ana", description="Checkout and search are read-only.")
    assert app.sync.drain_once().sent == 1
    (m,) = fake_sp.maintenances()
    assert [u["body"] for u in m["incident_updates"]] == ["Checkout and search are read-only."]
    assert fake_sp.count("PATCH", r"/incident_updates/upd\d+$") == 1


def test_a_lost_answer_to_the_create_does_not_make_a_second_maintenance(app, fake_sp):
    configure_backends(app, sp=fake_sp, timeout_s=0.5)
    # Statuspage makes it, but the answer never comes back in time.
    fake_sp.add_fault(method="POST", path=r"/incidents$", kind="timeout", delay=0.9, after_effect=True)
    w = plan_upgrade(app)
    app.maintenance.post_update(w.key, "Runbook rehearsed.", author="ana")
    report = app.sync.drain_once()
    assert report.sent == 2 and report.retries >= 1
    assert len(fake_sp.maintenances()) == 1
    assert fake_sp.count("POST", r"/incidents$") == 1
    assert fake_sp.count("GET", r"/incidents/scheduled$") >= 1  # looked up before creating again
    (m,) = fake_sp.maintenances()
    assert [u["body"] for u in reversed(m["incident_updates"])] == [w.description, "Runbook rehearsed."]
    (create, _update) = app.sync.items()[::-1]
    assert create.remote_ref == m["id"] and create.attempts == 2


def test_a_lost_answer_to_an_update_does_not_post_it_twice(app, fake_sp, clock):
    configure_backends(app, sp=fake_sp, timeout_s=0.5)
    w = plan_upgrade(app)
    app.sync.drain_once()
    fake_sp.add_fault(
        method="PATCH", path=r"/incidents/inc\d+$", kind="timeout", delay=0.9, after_effect=True
    )
    clock.advance(hours=24)
    app.maintenance.start(w.key, author="ana", message="Primary is read-only now.")
    assert app.sync.drain_once().sent == 1
    (m,) = fake_sp.maintenances()
    assert [u["body"] for u in m["incident_updates"]].count("Primary is read-only now.") == 1
    assert m["status"] == "in_progress"


def test_a_refusal_is_permanent_with_statuspages_words_and_holds_only_that_window(app, fake_sp):
    configure_backends(app, sp=fake_sp)
    fake_sp.add_fault(method="POST", path=r"/incidents$", status=400,
                      body={"message": "Scheduled for must be a valid date"})  # fmt: skip
    refused = plan_upgrade(app)
    app.maintenance.post_update(refused.key, "Runbook rehearsed.", author="ana")
    other = app.maintenance.plan("Search reindex", app.now() + 30 * H, app.now() + 31 * H, author="ana")
    report = app.sync.drain_once()
    assert (report.sent, report.failed, report.left_pending) == (1, 1, 1)
    create = next(
        i for i in app.sync.items() if i.op == "create_maintenance" and i.incident_key == refused.key
    )
    assert create.state == "failed" and create.last_status == 400
    assert create.last_error == "Statuspage refused the request (400): Scheduled for must be a valid date"
    assert fake_sp.count("POST", r"/incidents$") == 2  # refused once, not retried; the other window went
    assert [m["name"] for m in fake_sp.maintenances()] == ["Search reindex"]
    (copy,) = app.maintenance.remote_copies(refused.key)
    assert (
        copy.summary() == "refused: Statuspage refused the request (400): Scheduled for must be a valid date"
    )
    (copy,) = app.maintenance.remote_copies(other.key)
    assert copy.summary() == "published (scheduled)"
    # A person retries it: it goes, and the update held behind it follows.
    app.sync.retry(create.id)
    assert app.sync.drain_once().sent == 2
    assert len(fake_sp.maintenances()) == 2


def test_statuspages_automatic_start_and_completion_come_back_to_the_window(app, fake_sp, clock):
    configure_backends(app, sp=fake_sp)
    w = plan_upgrade(app)
    app.sync.drain_once()
    assert app.sync.drain_once(pull=True).pulled == 0

    (rid,) = fake_sp.run_scheduler(now=w.scheduled_for + timedelta(minutes=1))
    assert fake_sp.components["cmp0001"]["status"] == "under_maintenance"
    assert app.sync.drain_once(pull=True).pulled == 1
    started = app.maintenance.get(w.key)
    assert started.status is MaintenanceStatus.IN_PROGRESS and started.started_at is not None
    last = app.maintenance.history(w.key)[-1]
    assert (last.action, last.source, last.author, last.message) == (
        "status",
        "statuspage",
        "Statuspage",
        AUTO_IN_PROGRESS,
    )
    assert last.from_status is MaintenanceStatus.SCHEDULED
    # Taking it in is not a change to send back, and a second pull finds nothing new.
    assert app.sync.items(states=["pending"]) == []
    assert app.sync.drain_once(pull=True).pulled == 0

    fake_sp.run_scheduler(now=w.scheduled_until + timedelta(minutes=1))
    assert app.sync.drain_once(pull=True).pulled == 1
    done = app.maintenance.get(w.key)
    assert done.status is MaintenanceStatus.COMPLETED and done.ended_at is not None
    assert app.maintenance.history(w.key)[-1].message == AUTO_COMPLETED
    assert (
        app.sync.items(states=["pending"]) == [] and len(fake_sp.maintenances()[0]["incident_updates"]) == 3
    )
    assert fake_sp.maintenances()[0]["id"] == rid


def test_while_a_change_is_still_owed_the_windows_own_status_wins(app, fake_sp, clock):
    configure_backends(app, sp=fake_sp)
    w = plan_upgrade(app)
    app.sync.drain_once()
    clock.advance(hours=24)
    app.maintenance.start(w.key, author="ana")
    app.maintenance.set_status(w.key, "verifying", author="ana")
    fake_sp.run_scheduler(now=w.scheduled_until + timedelta(minutes=1))  # the page completed it by itself
    worker = app.sync.make_worker()
    try:
        assert worker.pull() == 0  # two changes are still owed: they, not the page, say where it is
    finally:
        worker.close()
    assert app.maintenance.get(w.key).status is MaintenanceStatus.VERIFYING
    assert app.sync.drain_once().sent == 2
    assert fake_sp.maintenances()[0]["status"] == "verifying"


def test_a_reschedule_made_on_statuspage_comes_back(app, fake_sp):
    configure_backends(app, sp=fake_sp)
    w = plan_upgrade(app)
    app.sync.drain_once()
    (m,) = fake_sp.maintenances()
    fake_sp.reschedule_as_person(m["id"], w.scheduled_for + 2 * H, w.scheduled_until + 3 * H)
    assert app.sync.drain_once(pull=True).pulled == 1
    moved = app.maintenance.get(w.key)
    assert (moved.scheduled_for, moved.scheduled_until) == (
        w.scheduled_for + 2 * H,
        w.scheduled_until + 3 * H,
    )
    last = app.maintenance.history(w.key)[-1]
    assert (last.action, last.source) == ("rescheduled", "statuspage")
    assert app.sync.drain_once(pull=True).pulled == 0


def test_cancelling_before_anything_was_sent_withdraws_it_and_after_completes_it_with_a_message(app, fake_sp):
    configure_backends(app, sp=fake_sp)
    fake_sp.stop()
    never = plan_upgrade(app)
    app.sync.drain_once(max_wait_s=0.2)  # tried, could not connect: nothing can have arrived
    app.maintenance.cancel(never.key, author="ana")
    assert {(i.op, i.state) for i in app.sync.items()} == {("create_maintenance", "cancelled")}
    (copy,) = app.maintenance.remote_copies(never.key)
    assert copy.summary() == "withdrawn"

    fake_sp.restart()
    announced = app.maintenance.plan("Search reindex", app.now() + 30 * H, app.now() + 31 * H, author="ana",
                                     services=["checkout"])  # fmt: skip
    app.sync.drain_once()
    app.maintenance.cancel(announced.key, author="ana", message="Postponed until the vendor ships a fix.")
    assert app.sync.drain_once().sent == 1
    (m,) = fake_sp.maintenances()
    assert m["status"] == "completed"
    assert m["incident_updates"][0]["body"] == "Postponed until the vendor ships a fix."
    cancel_patch = bodies(fake_sp, "PATCH", r"/incidents/inc\d+$")[-1]
    assert "components" not in cancel_patch  # it never began: components are left as they are
    assert app.maintenance.get(announced.key).status is MaintenanceStatus.CANCELLED
    assert app.sync.drain_once(pull=True).pulled == 0  # "completed" there is what cancelled here means
    assert app.maintenance.get(announced.key).status is MaintenanceStatus.CANCELLED


def test_a_window_planned_before_statuspage_was_set_up_is_created_whole_at_its_next_change(
    app, fake_sp, clock
):
    w = plan_upgrade(app)
    assert app.sync.items() == []
    configure_backends(app, sp=fake_sp)
    clock.advance(hours=24)
    app.maintenance.start(w.key, author="ana")
    assert [i.op for i in app.sync.items()] == ["create_maintenance"]
    assert app.sync.drain_once().sent == 1
    (m,) = fake_sp.maintenances()
    assert m["status"] == "in_progress" and fake_sp.components["cmp0001"]["status"] == "under_maintenance"


def test_the_lookup_pages_through_every_list(app, fake_sp):
    """The maintenance is found on the second page of the scheduled list."""
    configure_backends(app, sp=fake_sp, timeout_s=0.5)
    for n in range(100):
        fake_sp.incidents[f"old{n:03d}"] = {
            "id": f"old{n:03d}", "page_id": PAGE, "name": f"Other {n}", "status": "scheduled", "metadata": {},
            "scheduled_for": "2026-03-20T00:00:00.000Z", "scheduled_until": "2026-03-20T01:00:00.000Z",
            "incident_updates": [], "components": [],
        }  # fmt: skip
    fake_sp.add_fault(method="POST", path=r"/incidents$", kind="timeout", delay=0.9, after_effect=True)
    plan_upgrade(app)
    assert app.sync.drain_once().sent == 1
    assert len(fake_sp.maintenances()) == 101 and fake_sp.count("POST", r"/incidents$") == 1
    pages = [r.query.get("page") for r in fake_sp.requests if r.path.endswith("/incidents/scheduled")]
    assert pages == [["1"], ["2"]]


def test_the_command_line_plans_and_runs_a_window_and_sync_delivers_it(app, fake_sp, cli, data_dir):
    configure_backends(app, sp=fake_sp)  # the settings file the command line reads too
    res = cli(data_dir, "--as", "ana", "maintenance", "plan", "Database upgrade", "--start", "+1d", "--duration",
              "2h", "--service", "checkout", "-m", "Checkout is read-only.")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Planned MNT-0001  Scheduled ")
    assert "queued for Statuspage; `sitrep sync` sends it." in res.stdout
    listed = json.loads(cli(data_dir, "maintenance", "list", "--json").stdout)
    (w,) = listed
    assert w["key"] == "MNT-0001" and w["status"] == "scheduled" and w["services"] == ["checkout"]

    assert cli(data_dir, "maintenance", "update", "1", "-m", "Runbook rehearsed.", "--quiet").returncode == 0
    res = cli(data_dir, "maintenance", "reschedule", "MNT-0001", "--duration", "3h", "-m", "Longer window.")
    assert res.returncode == 0 and res.stdout.startswith("Rescheduled MNT-0001")
    refused = cli(data_dir, "maintenance", "update", "1", "--status", "verifying")
    assert refused.returncode == 2 and refused.stdout == ""
    assert (
        "MNT-0001 is scheduled; it cannot move to verifying" in refused.stderr
        and "Traceback" not in refused.stderr
    )
    bad_time = cli(data_dir, "maintenance", "plan", "X", "--start", "-1h", "--end", "+1h")
    assert bad_time.returncode == 2 and "is in the past" in bad_time.stderr
    assert cli(data_dir, "maintenance", "show", "MNT-0042").returncode == 3

    assert app.sync.drain_once().sent == 3
    (m,) = fake_sp.maintenances()
    assert [u["body"] for u in reversed(m["incident_updates"])] == [
        "Checkout is read-only.", "Runbook rehearsed.", "Longer window."
    ]  # fmt: skip
    assert m["incident_updates"][1]["deliver_notifications"] is False
    start = m["scheduled_for"]
    assert m["scheduled_until"] == (
        (json.loads(cli(data_dir, "maintenance", "show", "1", "--json").stdout)["window"]["scheduled_until"])[
            :19
        ]
        + ".000Z"
    ) and start.endswith(":00.000Z")  # planned to the minute
    shown = cli(data_dir, "maintenance", "show", "1").stdout
    assert f"Statuspage: published (scheduled)  https://stspg.io/{m['id']}" in shown
    assert "#3" in shown and "Longer window." in shown

    assert cli(data_dir, "maintenance", "cancel", "1", "-m", "Vendor postponed.").returncode == 0
    assert app.sync.drain_once().sent == 1
    assert fake_sp.maintenances()[0]["status"] == "completed"
    assert cli(data_dir, "maintenance", "list").stdout.strip() == "No maintenance windows planned."
    assert "Cancelled" in cli(data_dir, "maintenance", "list", "--all").stdout
