"""The Maintenance panel and its dialogs, driven through the real widgets against the loopback Statuspage
fake, with the sync worker on its own thread as the console runs it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from models.enums import MaintenanceStatus
from tests.sync.conftest import configure_backends
from tests.sync.test_gui import browser  # noqa: F401 (a fixture: QDesktopServices' http(s) handler)
from tests.ui.console_kit import console_context, main_window
from ui.dialogs.maintenance import MaintenanceDialog, MaintenanceUpdateDialog
from ui.panels.maintenance import COL_STATUS, COL_TITLE, COL_WHEN, WindowRole, WindowRow

H = timedelta(hours=1)


@pytest.fixture
def ctx(app, data_dir):
    ctx = console_context(app, data_dir, author="mei.lin")
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot, app):
    w = main_window(ctx, qtbot, "ui.panels.timeline", "ui.panels.sync", "ui.panels.maintenance")
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    app.sync.stop()


def shown(panel) -> list[tuple[str, str, str]]:
    m = panel.model
    return [(m.data(m.index(r, COL_STATUS)), m.data(m.index(r, COL_WHEN)), m.data(m.index(r, COL_TITLE)))
            for r in range(m.rowCount())]  # fmt: skip


def looks(panel) -> list[str]:
    return [panel.model.row(r).remote_look() for r in range(panel.model.rowCount())]


def test_the_windows_model_holds_plain_rows_and_passes_the_model_tester(app, qapp, qtmodeltester, clock):
    from ui.panels.maintenance import MaintenanceModel

    now = clock()
    w = app.maintenance.plan("Database upgrade", now + 3 * H, now + 5 * H, author="ana")
    model = MaintenanceModel()
    model.set_rows([WindowRow(w, ())], now)
    qtmodeltester.check(model)
    assert model.data(model.index(0, COL_WHEN)) == "12:00–14:00"  # today, in the viewer's zone (UTC here)
    assert model.data(model.index(0, COL_STATUS), WindowRole) == w
    assert "2026-03-14 12:00:00 UTC" in model.data(model.index(0, COL_WHEN), Qt.ItemDataRole.ToolTipRole)


def test_a_window_planned_in_the_console_while_statuspage_is_down_gets_there_once_and_moves_on(
    window,
    app,
    ctx,
    fake_sp,
    qtbot,
    browser,  # noqa: F811 (fixture)
):
    configure_backends(app, sp=fake_sp)
    fake_sp.stop()
    app.sync.start()
    panel = window.panels["maintenance"]
    assert not window.docks["maintenance"].isVisible()
    qtbot.keyClick(window, Qt.Key.Key_9, Qt.KeyboardModifier.AltModifier)  # Alt+9: the panel, focused
    assert window.docks["maintenance"].isVisible()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.view)

    qtbot.mouseClick(panel.plan_button, Qt.MouseButton.LeftButton)
    dialog = panel.dialog
    assert isinstance(dialog, MaintenanceDialog) and dialog.isVisible()
    qtbot.keyClicks(dialog.title_edit, "Database upgrade: checkout read-only")
    # Tab goes field to field (not through the day, month, year, hour and minute of a time).
    dialog.title_edit.setFocus()
    visited = []
    for _ in range(3):
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        visited.append(dialog.focusWidget())
    assert visited == [dialog.start_edit, dialog.end_edit, dialog.services]
    start = app.now() + 24 * H
    dialog.set_times(start, start - H)
    dialog.services.setText("checkout, search")
    assert dialog.component_preview.text() == ("Statuspage marks checkout; search has no component there.")
    dialog.description.setPlainText("Checkout is read-only for up to two hours.")
    # Moving the start kept the length; an end before the start is refused beside the field.
    dialog.end_edit.setDateTime(dialog.start_edit.dateTime().addSecs(-3600))
    assert not dialog.submit()
    assert "must end after it starts" in dialog.error_text("scheduled_until")
    assert app.maintenance.list() == []
    dialog.set_times(start, start + 2 * H)
    assert "2 h 00 min" in dialog.window_preview.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # returns at once: the outbox takes it
    qtbot.waitUntil(lambda: not dialog.isVisible())
    (w,) = app.maintenance.list()
    assert (w.title, w.services, w.planned_by) == (
        "Database upgrade: checkout read-only",
        ("checkout", "search"),
        "mei.lin",
    )
    qtbot.waitUntil(lambda: [t for _s, _w, t in shown(panel)] == ["Database upgrade: checkout read-only"])
    assert panel.selected() is not None and panel.selected().id == w.id
    assert shown(panel)[0][:2] == ("Scheduled", "Sun 09:00–11:00")
    qtbot.waitUntil(lambda: "Statuspage is unreachable" in panel.detail.toPlainText(), timeout=5000)
    assert looks(panel) == ["waiting"]

    fake_sp.restart()
    app.sync.sync_now()
    qtbot.waitUntil(lambda: looks(panel) == ["published"], timeout=10000)
    (m,) = fake_sp.maintenances()
    assert m["name"] == w.title and [c["id"] for c in m["components"]] == ["cmp0001"]
    qtbot.waitUntil(lambda: f"https://stspg.io/{m['id']}" in panel.detail.toHtml())
    panel.detail.setFocus()
    qtbot.keyClick(panel.detail, Qt.Key.Key_Tab)  # keyboard: to the link, then open it
    qtbot.keyClick(panel.detail, Qt.Key.Key_Return)
    assert browser.opened == [f"https://stspg.io/{m['id']}"]

    # Enter on the row posts an update; moving it to in progress reaches the page in order.
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    update = panel.dialog
    assert isinstance(update, MaintenanceUpdateDialog) and update.isVisible()
    update.choose_status(MaintenanceStatus.IN_PROGRESS)
    update.message.setPlainText("The primary is read-only now.")
    qtbot.mouseClick(update.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not update.isVisible())
    assert app.maintenance.get(w.id).status is MaintenanceStatus.IN_PROGRESS
    qtbot.waitUntil(lambda: fake_sp.maintenances()[0]["status"] == "in_progress", timeout=10000)
    assert fake_sp.maintenances()[0]["incident_updates"][0]["body"] == "The primary is read-only now."
    qtbot.waitUntil(lambda: shown(panel)[0][0] == "In progress")
    assert "Scheduled → In progress: The primary is read-only now." in panel.detail.toPlainText()
    assert len(fake_sp.maintenances()) == 1


def test_cancelling_from_the_panel_and_what_a_finished_window_allows(window, app, ctx, qtbot, clock):
    panel = window.panels["maintenance"]
    now = clock()
    w = app.maintenance.plan("CDN certificate rotation", now + 30 * H, now + 31 * H, author="ana")
    app.maintenance.plan("Old upgrade", now - 30 * H, now - 29 * H, author="ana", backfill=True)
    qtbot.waitUntil(lambda: len(shown(panel)) == 1)  # finished ones only on request
    assert "Not on any status page yet" in panel.detail.toPlainText()
    panel.show_finished.setChecked(True)
    assert [t for _s, _w, t in shown(panel)] == ["CDN certificate rotation", "Old upgrade"]
    assert shown(panel)[1][1] == "13 Mar 03:00–04:00"  # a past day is dated, never a bare weekday

    panel.view.selectRow(0)
    dialog = panel.post_update(MaintenanceStatus.CANCELLED)
    assert dialog.ok_button.text() == "&Post cancellation"
    assert dialog.message.placeholderText().startswith("Optional")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert app.maintenance.get(w.key).status is MaintenanceStatus.CANCELLED
    qtbot.waitUntil(lambda: shown(panel)[0][0] == "Cancelled")
    assert not panel.edit_button.isEnabled() and not panel.update_button.isEnabled()

    # A window can be refused an update in the dialog: nothing to say and no new status.
    panel.view.selectRow(1)
    assert not panel.edit_button.isEnabled() and panel.update_button.isEnabled()
    dialog = panel.post_update()
    assert not dialog.submit()
    assert dialog.error_text("message") == "Write the update, or choose a new status."
    dialog.reject()
