"""The acceptance story in the console: the Alerts panel polls a real Alertmanager off the GUI thread,
shows a handful of groups with their likely origin, and the triage dialog walks the biggest one into a
SEV2 with its alerts on the timeline, the bridge opened and its clocks met."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser

from models.enums import EntryKind
from models.types import utcnow
from services.adapters.bridge import save_bridge_template
from services.core import Sitrep
from services.storage.secrets import MemorySecrets
from tests.detection.alertmanager_proc import RealAlertmanager
from tests.detection.test_alert_storm import pytestmark as needs_alertmanager  # noqa: F401
from tests.detection.test_alert_storm import storm
from tests.ui.console_kit import console_context, main_window

pytestmark = [needs_alertmanager, pytest.mark.usefixtures("qapp")]


@pytest.fixture
def app(data_dir):
    a = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                    config_dir=data_dir / "config", sync_options={"secrets": MemorySecrets({})})  # fmt: skip
    yield a
    a.close()


def test_panel_groups_a_real_storm_and_the_dialog_declares_a_sev2(app, data_dir, tmp_path, qtbot):
    folder = tmp_path / "am"
    folder.mkdir()
    am = RealAlertmanager(folder).start()
    try:
        app.sync.configure("alertmanager", {"enabled": True, "url": am.url})
        now = utcnow()
        app.maintenance.plan("Cache and search upgrade", now - timedelta(minutes=20), now + timedelta(hours=1),
                             author="ops", backfill=True,
                             matchers=[{"name": "service", "value": "search|redis-cache", "is_regex": True}])  # fmt: skip
        app.people.add("Ana Ortiz", "ana.ortiz")
        save_bridge_template(data_dir / "config", "https://meet.example.com/ir-{key}")
        am.fire(storm())
        ctx = console_context(app, data_dir, author="ana.ortiz")
        window = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.incidents", "ui.panels.timeline",
                             "ui.panels.alerts")  # fmt: skip
        window.show()
        panel = window.panels["alerts"]
        window.focus_panel(window.docks["alerts"])
        panel.poll()
        qtbot.waitUntil(lambda: panel.groups_model.rowCount() >= 2, timeout=20_000)
    finally:
        am.stop()
    assert panel.groups_model.rowCount() <= 5
    groups = panel.groups_model.rows
    big = max(groups, key=lambda g: g.size)
    assert big.origin == "postgres-main"
    row = groups.index(big)
    panel.groups_view.selectRow(row)
    dialog = panel.triage()
    qtbot.waitUntil(dialog.isVisible)
    for answer in (1, 1, 1, 1):
        dialog.answer_group.button(answer).setChecked(True)
        qtbot.mouseClick(dialog.next_button, Qt.MouseButton.LeftButton)
    assert dialog.declare_button.isVisible() and dialog.severity.currentData() == "SEV2"
    dialog.bridge.setChecked(True)
    qtbot.mouseClick(dialog.declare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.declared is not None)
    inc = dialog.declared.incident
    assert inc.severity == "SEV2"
    assert sum(1 for e in app.timeline.entries(inc.id) if e.kind == EntryKind.ALERT) == big.size
    clocks = {c.id: c.state(utcnow()) for c in app.clocks.clocks(app.incidents.get(inc.id))}
    assert clocks["bridge"] == "met" and clocks["commander"] == "met"
    qtbot.waitUntil(lambda: all(g.key != big.key for g in panel.groups_model.rows))
    # The critical alert's details say it fired during maintenance and was not muted.
    row = next(i for i, a in enumerate(panel.alerts_model.rows) if a.rule == "SearchClusterDown")
    panel.alerts_view.selectRow(row)
    detail = panel.show_alert()
    text = detail.findChild(QTextBrowser).toPlainText()
    assert "fired during maintenance: critical, not muted" in text and "discovery on-call" in text
    assert "notified" in text


def test_the_maintenance_dialog_plans_muting_and_a_dst_safe_recurrence(sitrep, data_dir, qtbot):
    from ui.dialogs.maintenance import MaintenanceDialog

    ctx = console_context(sitrep, data_dir, author="ops")
    dialog = MaintenanceDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.title_edit.setText("Weekly cache maintenance")
    start = sitrep.now() + timedelta(days=1)
    dialog.set_times(start, start + timedelta(hours=1))
    dialog.matchers.setText("service=~search|redis-cache; env~bad")
    assert not dialog.submit()
    assert "not a matcher" in dialog.error_text("matchers")
    dialog.matchers.setText("service=~search|redis-cache; env=prod")
    dialog.recurrence.setText("FREQ=WEEKLY")
    dialog.time_zone.setText("Mars/Olympus")
    assert not dialog.submit()
    assert "Unknown time zone" in dialog.error_text("time_zone")
    dialog.time_zone.setText("Europe/Berlin")
    assert dialog.submit()
    (w,) = sitrep.maintenance.list()
    assert [m["name"] for m in w.matchers] == ["service", "env"] and w.recurrence == "FREQ=WEEKLY"
    assert w.time_zone == "Europe/Berlin"


def test_the_console_receives_webhooks_on_loopback_from_its_menu(app, data_dir, qtbot):
    import httpx

    ctx = console_context(app, data_dir, author="ops")
    ctx.settings.setValue("alerts/receiver_port", 0)  # any free port
    window = main_window(ctx, qtbot, "ui.panels.alerts")
    panel = window.panels["alerts"]
    app.sync.secrets.set("webhook", "shared_secret", "hush")
    panel.receive_action.setChecked(True)
    assert panel.receiver is not None and panel.receiver.host == "127.0.0.1"
    body = {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": "firing", "receiver": "sitrep",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am.invalid",
            "alerts": [{"status": "firing", "labels": {"alertname": "Down", "service": "payments", "env": "prod",
                                                       "severity": "critical"},
                        "annotations": {"summary": "payments down"}, "startsAt": "2026-12-07T01:00:00.123456789Z",
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "abc123"}]}  # fmt: skip
    refused = httpx.post(f"{panel.receiver.url}/alertmanager", json=body, timeout=10)
    assert refused.status_code == 401
    reply = httpx.post(f"{panel.receiver.url}/alertmanager", json=body, headers={"X-Sitrep-Secret": "hush"}, timeout=10)
    assert reply.status_code == 200, reply.text
    qtbot.waitUntil(lambda: any(a.rule == "Down" for a in panel.alerts_model.rows), timeout=10_000)
    panel.receive_action.setChecked(False)
    assert panel.receiver is None


def test_the_alert_and_group_models_pass_the_model_tester(sitrep, qtmodeltester):
    from services.adapters.values import IncomingAlert
    from ui.alert_models import AlertTableModel, GroupTableModel

    now = sitrep.now()
    sitrep.alerts.ingest([IncomingAlert("t", "generic", f"f{i}", {"alertname": f"R{i}", "service": "payments"}, {},
                                        now - timedelta(minutes=i), None, False) for i in range(3)])  # fmt: skip
    alerts, groups = AlertTableModel(), GroupTableModel()
    alerts.set_rows(sitrep.alerts.list())
    groups.set_rows(sitrep.alerts.groups())
    qtmodeltester.check(alerts)
    qtmodeltester.check(groups)
    assert groups.rowCount() == 1 and alerts.rowCount() == 3
