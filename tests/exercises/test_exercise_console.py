"""The facilitator reaches everything from the console: Exercise ▸ Run a tabletop exercise… prepares the
exercise in a store of its own and opens the facilitator's window; a second console on that store plays
it, with EXERCISE in its title and the injects in its Exercise panel and timeline."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from services.exercises.session import open_exercise
from tests.ui.console_kit import add_people, console_context, main_window


def _action(window, text: str):
    return next(a for a in window.menus["Exercise"].actions() if a.text() == text)


def _answer_modal(pick):
    """Run `pick(dialog)` on the next modal dialog once it is up."""
    def attempt():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, attempt)
            return
        pick(dialog)

    QTimer.singleShot(0, attempt)


def test_facilitator_and_players_from_the_console(qtbot, live_sitrep, data_dir):
    add_people(live_sitrep)
    ctx = console_context(live_sitrep, data_dir, author="fran")
    window = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.timeline", "ui.panels.exercise")
    assert "EXERCISE" not in window.windowTitle()
    launcher = window.panels["exercise"].launcher

    def choose_ransomware(dialog):
        rows = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        dialog.list.setCurrentRow(next(i for i, t in enumerate(rows) if t.startswith("Ransomware")))
        dialog.speed.setValue(10)
        dialog._accept()

    _answer_modal(choose_ransomware)
    _action(window, "Run a tabletop exercise…").trigger()
    qtbot.waitUntil(lambda: len(launcher.windows) == 1)
    fac = launcher.windows[0]
    assert fac.windowTitle().startswith("EXERCISE — Facilitator: Ransomware")
    assert fac.speed.value() == 10
    qtbot.mouseClick(fac.start_button, qtbot_left())
    assert fac.msel.item(0, 3).text().startswith("delivered")
    assert fac.clock_state.text().startswith("running ×10")

    # The players' console: a second console on the same exercise store.
    players = open_exercise(fac.folder)
    try:
        pctx = console_context(players, fac.folder, author="ana")
        pwin = main_window(pctx, qtbot, "ui.panels.header", "ui.panels.timeline", "ui.panels.exercise")
        panel = pwin.panels["exercise"]
        qtbot.waitUntil(lambda: panel.injects.count() == 1)
        assert "EXERCISE" in panel.banner.text() and "I1" in panel.notice.text()
        inc = players.incidents.declare("FS-FIN-02 encrypting", "SEV1", author="ana", incident_type="ransomware")
        players.roles.assign(inc.key, "IC", "ana", author="ana")
        pwin.reload_incidents(select=inc.id)
        assert pwin.windowTitle().startswith("EXERCISE — INC-0001")
        fac.next_inject()  # jump the clock to I2
        qtbot.waitUntil(lambda: panel.injects.count() == 2, timeout=5000)
        assert "NEW INJECT I2" in panel.notice.text()
        kinds = [e.kind for e in players.timeline.entries(inc.id)]
        assert kinds.count("inject") == 2
        qtbot.waitUntil(lambda: "1 met" in fac.tabs.tabText(0) or "2 met" in fac.tabs.tabText(0), timeout=5000)

        fac.notes.text.setText("Commander declared before the first inject was read out")
        fac.notes._add()
        assert fac.notes.table.rowCount() == 1 and fac.notes.table.item(0, 0).text().startswith("T+0:")
        fac.ratings.table.selectRow(0)
        fac.ratings._rate()
        assert fac.ratings.table.item(0, 2).text() == "P"

        _answer_modal(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
        fac.end()
        pdf = fac.folder / "aar.pdf"
        assert pdf.read_bytes()[:4] == b"%PDF"
        assert "missed" in fac.tabs.tabText(0)
        assert "EXERCISE" in (fac.folder / "aar.md").read_text()
    finally:
        pwin.close()
        pctx.notifier.close()
        players.close()
        fac.close()
    # Nothing of the exercise is in the real store.
    assert live_sitrep.incidents.list() == []


def qtbot_left():
    return Qt.MouseButton.LeftButton
