"""The acceptance story against a real Alertmanager: a storm over several services and layers, part of
it during a maintenance window and one alert critical; correlated groups with a likely origin; the
window's silence in Alertmanager exactly once, never covering the critical alert; a triage walk that
declares a SEV2 with its alerts on the timeline, the bridge opened and its clocks met."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from models.enums import EntryKind, Milestone
from models.types import utcnow
from services.adapters.bridge import save_bridge_template
from services.core import Sitrep
from services.detection.intake import poll_alertmanagers
from services.detection.triage import Walk
from services.storage.secrets import MemorySecrets
from tests.detection.alertmanager_proc import BINARY, RealAlertmanager

pytestmark = pytest.mark.skipif(shutil.which(BINARY) is None and not Path(f"/usr/bin/{BINARY}").exists(),
                                reason="prometheus-alertmanager is not installed (scripts/test installs it)")  # fmt: skip


def _alert(name, service, severity="warning", layer=None, ago_s=0, **labels):
    out = {"labels": {"alertname": name, "severity": severity, "env": "prod", **labels},
           "annotations": {"summary": f"{name} on {service or labels.get('instance')}"}, "ago_s": ago_s}  # fmt: skip
    if service:
        out["labels"]["service"] = service
    if layer:
        out["labels"]["layer"] = layer
    return out


def storm() -> list[dict]:
    alerts = []
    alerts += [_alert(f"PgReplicationLag{i}", "postgres-main", "warning", "infrastructure", 300 - i, team="dba") for i in range(3)]
    alerts += [_alert(f"PaymentsErrors{i}", "payments", "warning", "application", 240 - i, team="payments") for i in range(5)]
    alerts += [_alert(f"LoginLatency{i}", "identity", "warning", "application", 200 - i, team="identity") for i in range(4)]
    alerts += [_alert(f"Checkout5xx{i}", "checkout", "warning", "application", 180 - i, team="web") for i in range(6)]
    # during maintenance: muted, except the critical one
    alerts += [_alert(f"RedisEvictions{i}", "redis-cache", "warning", "infrastructure", 100 - i, team="platform") for i in range(6)]
    alerts += [_alert(f"SearchReindexSlow{i}", "search", "warning", "application", 90 - i, team="discovery") for i in range(5)]
    alerts.append(_alert("SearchClusterDown", "search", "critical", "application", 60, team="discovery"))
    # a source that sends no service, team or environment: the quality view names it
    alerts += [{"labels": {"alertname": "DiskAlmostFull", "instance": f"db-{i}", "cluster": "eu-1"},
                "annotations": {}, "ago_s": 30 - i} for i in range(3)]  # fmt: skip
    return alerts


@pytest.fixture
def alertmanager(tmp_path):
    folder = tmp_path / "am"
    folder.mkdir()
    am = RealAlertmanager(folder).start()
    yield am
    am.stop()


@pytest.fixture
def app(data_dir):
    a = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                    config_dir=data_dir / "config", sync_options={"secrets": MemorySecrets({})})  # fmt: skip
    yield a
    a.close()


def test_a_storm_becomes_a_few_groups_and_maintenance_is_silenced_except_the_critical(app, alertmanager, data_dir):
    app.sync.configure("alertmanager", {"enabled": True, "url": alertmanager.url})
    now = utcnow()
    window = app.maintenance.plan(
        "Cache and search upgrade", now - timedelta(minutes=20), now + timedelta(hours=1), author="ops",
        services=["search"], backfill=True,
        matchers=[{"name": "service", "value": "search|redis-cache", "is_regex": True}],
    )
    app.sync.drain_once()
    app.sync.drain_once()  # a second drain must not silence twice
    ours = [s for s in alertmanager.silences() if window.id in s["comment"]]
    assert len(ours) == 1 and ours[0]["status"]["state"] == "active"
    assert {"name": "severity", "value": "critical", "isRegex": False, "isEqual": False} in ours[0]["matchers"]

    alertmanager.fire(storm())
    report = poll_alertmanagers(app)
    assert report.problems == [] and report.new == 33
    assert poll_alertmanagers(app).new == 0  # the same alerts again: deduplicated by fingerprint

    # Alertmanager itself: the maintenance warnings are suppressed, the critical one is not.
    active = {a["labels"]["alertname"]: a["status"]["state"] for a in alertmanager.alerts()}
    assert active["SearchClusterDown"] == "active"
    assert active["RedisEvictions0"] == active["SearchReindexSlow0"] == "suppressed"
    muted = [a for a in app.alerts.list() if a.muted_by]
    assert len(muted) == 11 and {a.service for a in muted} == {"search", "redis-cache"}
    critical = next(a for a in app.alerts.list() if a.rule == "SearchClusterDown")
    assert critical.muted_by is None and critical.during_maintenance == window.id
    assert any(e.event == "notified" for e in app.alerts.history(critical.id))

    groups = app.alerts.groups()
    assert 2 <= len(groups) <= 5
    big = max(groups, key=lambda g: g.size)
    assert big.size == 18 and big.origin == "postgres-main"
    assert set(big.services) == {"postgres-main", "payments", "identity", "checkout"}
    assert big.layers == ("infrastructure", "application")
    disk = next(a for a in app.alerts.list() if a.rule == "DiskAlmostFull")
    assert "missing service" in disk.problems

    # Triage: the big group is a SEV2; the declarer is commander; the bridge opens.
    app.people.add("Ana Ortiz", "ana.ortiz")
    save_bridge_template(data_dir / "config", "https://meet.example.com/ir-{key}")
    tree = app.triage.trees().trees["incident"]
    walk = Walk.start(tree)
    for answer in (1, 1, 1, 1):  # yes, yes, no security impact, a significant share degraded
        walk.answer(answer)
    assert walk.outcome.propose_severity == "SEV2"
    declared = app.triage.declare_group(big, walk, title="Payments and checkout failing", author="ana.ortiz",
                                        open_bridge=True)  # fmt: skip
    inc = declared.incident
    assert inc.severity == "SEV2" and declared.bridge.url == f"https://meet.example.com/ir-{inc.key}"
    first = min(a.starts_at for a in app.alerts.alerts_of(big))
    assert inc.milestone(Milestone.DETECTED) == first.replace(microsecond=0) or abs(
        inc.milestone(Milestone.DETECTED) - first) < timedelta(seconds=1)
    entries = app.timeline.entries(inc.id)
    assert sum(1 for e in entries if e.kind == EntryKind.ALERT) == 18
    assert any("Bridge open: https://meet.example.com/" in e.body for e in entries)
    clocks = {c.id: c.state(utcnow()) for c in app.clocks.clocks(app.incidents.get(inc.id))}
    assert clocks["bridge"] == "met" and clocks["commander"] == "met"
    assert "core-network" in declared.watched and "redis-cache" in declared.watched

    # A later alert of the group keeps arriving on the incident.
    alertmanager.fire([_alert("PaymentsTimeouts", "payments", "warning", "application", 0)])
    assert poll_alertmanagers(app).new == 1
    later = next(a for a in app.alerts.list() if a.rule == "PaymentsTimeouts")
    assert later.incident_id == inc.id

    # The window ends: its silence expires in Alertmanager.
    app.maintenance.complete(window.id, author="ops")
    app.sync.drain_once()
    assert [s["status"]["state"] for s in alertmanager.silences() if window.id in s["comment"]] == ["expired"]


def test_an_alert_that_leaves_alertmanager_is_resolved_with_its_history(app, alertmanager):
    app.sync.configure("alertmanager", {"enabled": True, "url": alertmanager.url})
    alertmanager.fire([_alert("QueueBacklog", "payments", "warning", "application", 5)])
    assert poll_alertmanagers(app).new == 1
    # Alertmanager's list leaves resolved alerts out: ending it there resolves it here at the next poll.
    ended = _alert("QueueBacklog", "payments", "warning", "application", 5)
    ended["endsAt"] = (utcnow() - timedelta(seconds=1)).isoformat()
    alertmanager.fire([ended])
    assert poll_alertmanagers(app).resolved == 1
    [alert] = app.alerts.list(state="resolved")
    assert [e.event for e in app.alerts.history(alert.id)] == ["firing", "resolved"]


def test_a_recurring_window_is_silenced_per_occurrence_and_a_reschedule_replaces_them(app, alertmanager):
    app.sync.configure("alertmanager", {"enabled": True, "url": alertmanager.url})
    start = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    window = app.maintenance.plan("Weekly cache flush", start, start + timedelta(hours=1), author="ops",
                                  matchers=[{"name": "service", "value": "redis-cache"}],
                                  recurrence="FREQ=WEEKLY;COUNT=3", time_zone="Europe/Berlin")  # fmt: skip
    app.sync.drain_once()
    pending = [s for s in alertmanager.silences() if window.id in s["comment"]]
    assert len(pending) == 3 and {s["status"]["state"] for s in pending} == {"pending"}
    app.maintenance.reschedule(window.id, start + timedelta(hours=2), start + timedelta(hours=3), author="ops")
    app.sync.drain_once()
    states = sorted(s["status"]["state"] for s in alertmanager.silences() if window.id in s["comment"])
    assert states == ["expired"] * 3 + ["pending"] * 3
    app.maintenance.cancel(window.id, author="ops")
    app.sync.drain_once()
    assert {s["status"]["state"] for s in alertmanager.silences() if window.id in s["comment"]} == {"expired"}
