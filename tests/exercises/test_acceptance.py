"""The issue's "done when", in the console: a facilitator runs the ransomware scenario on a clock at ten
times real time (a fake clock here) while a second console plays the commander through its ordinary
dialogs and panels. Injects arrive on time; the players declare, assign roles, start the GDPR clock and
draft the holding statement; the facilitator's sheet marks those met with their delays and others
missed; ending writes the AAR/IP PDF; the loopback fakes of every backend received nothing; the real
store's metrics are unchanged."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from services.exercises.scenario import load_scenarios
from services.exercises.session import open_exercise
from services.exercises.workspace import build_vocabulary, create_exercise
from tests.comms.smtp_server import SmtpServer
from tests.exercises.conftest import real_store_with_backends
from tests.ui.console_kit import console_context, main_window
from ui.exercise_facilitator import FacilitatorWindow

PANELS = ("ui.panels.header", "ui.panels.timeline", "ui.panels.roles", "ui.panels.comms", "ui.panels.regulatory",
          "ui.panels.exercise")  # fmt: skip


@pytest.fixture
def world(data_dir, clock, tmp_path):
    yield from real_store_with_backends(data_dir, clock, tmp_path)


def _assign(window, qtbot, role: str, handle: str) -> None:
    board = window.panels["roles"]
    board.select_role(role)
    board.actions_by_key["assign"].trigger()
    board.dialog.responder.lineEdit().setText(handle)
    qtbot.mouseClick(board.dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not board.dialog.isVisible()


def _requests(fake) -> int:
    return len(fake.mailbox.messages()) if isinstance(fake, SmtpServer) else len(fake.requests)


def test_ransomware_exercise_in_the_console(qtbot, world, clock, run_cli):
    real = world["real"]
    code, metrics_before, _ = run_cli("metrics", "--json")
    assert code == 0
    scenario = load_scenarios(world["config"], build_vocabulary(real.catalog, real.comms)).scenarios["ransomware-data-theft"]
    folder = create_exercise(real, scenario, facilitator="fran", data_dir=world["data"], config_dir=world["config"])
    options = {"secrets": world["secrets"]}
    fac = FacilitatorWindow(open_exercise(folder, now=clock, sync_options=options), author="fran", owns_store=True)
    players = open_exercise(folder, now=clock, sync_options=options)
    pctx = console_context(players, folder, author="alice")
    try:
        win = main_window(pctx, qtbot, *PANELS)
        notices = win.panels["exercise"]
        fac.speed.setValue(10)
        fac.start()
        qtbot.waitUntil(lambda: notices.injects.count() == 1)  # I1 at T+0:00, in the players' console
        assert "for Incident Commander, Technical Lead" in notices.notice.text()

        def play_until(minute: int) -> None:
            """Scenario time moves on a minute (6 real seconds at ×10) at a time, ticked at each step."""
            while fac.svc.state().scenario_s < minute * 60:
                clock.advance(seconds=6)
                fac.refresh()

        play_until(5)  # the commander declares through the Declare dialog
        dialog = win.panels["header"].declare_incident()
        assert dialog.exercise.isChecked() and not dialog.exercise.isEnabled()
        qtbot.keyClicks(dialog.title_edit, "FS-FIN-02 encrypting files, ransom note")
        dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("ransomware"))
        dialog.matrix.setFocus()
        qtbot.keyClick(dialog.matrix, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
        assert dialog.matrix.chosen() == "SEV1"
        dialog.ok_button.click()
        inc = players.incidents.list()[0]
        assert inc.is_exercise and win.windowTitle().startswith("EXERCISE — INC-0001 SEV1")
        _assign(win, qtbot, "IC", "alice")

        play_until(20)  # I2 at T+0:10, I3 (the leak site) at T+0:20
        qtbot.waitUntil(lambda: notices.injects.count() == 3)
        assert "NEW INJECT I3" in notices.notice.text() and "FOR YOU" in notices.notice.text()  # alice is IC
        assert [r.delivered_s for r in fac.svc.state().msel[:3]] == [0.0, 600.0, 1200.0]  # on time
        play_until(25)
        for role, handle in (("COMMS", "bob"), ("SCRIBE", "carol"), ("LEGAL", "lena")):
            _assign(win, qtbot, role, handle)
        play_until(27)  # legal applies the ransomware escalation path: GDPR counts from awareness
        escalation = win.panels["regulatory"].apply_escalation()
        qtbot.mouseClick(escalation.ok_button, Qt.MouseButton.LeftButton)
        assert "gdpr_sa" in {c.rule_id for c in players.comms.regulatory_clocks(inc.id)}

        play_until(50)  # I4 at T+0:35, I5 (the journalist) at T+0:50
        qtbot.waitUntil(lambda: notices.injects.count() == 5)
        play_until(55)  # the comms lead drafts the holding statement
        comms = win.panels["comms"]
        comms.template_combo.setCurrentIndex(comms.template_combo.findData("media_holding_statement"))
        comms.new_button.click()
        comms.field_widgets["journalist"].setText("Sam Reporter, Daily Tech")
        comms.save_button.click()

        qtbot.waitUntil(lambda: "6 met" in fac.tabs.tabText(0), timeout=5000)
        sheet = {r.expectation.id: r for r in fac.svc.state().sheet}
        assert {k: sheet[k].delay_text for k in ("I1-declare", "I1-ic", "I3-legal", "I3-gdpr", "I3-roles", "I5-holding")} == {
            "I1-declare": "5 min 00 s", "I1-ic": "5 min 00 s", "I3-legal": "5 min 00 s", "I3-gdpr": "7 min 00 s",
            "I3-roles": "5 min 00 s", "I5-holding": "5 min 00 s"}  # fmt: skip
        assert sheet["I1-isolate"].status == "missed" and sheet["I2-scope"].status == "missed"
        row = next(r for r in range(fac.sheet.table.rowCount()) if fac.sheet.table.item(r, 0).text().startswith("Holding"))
        assert fac.sheet.table.item(row, 3).text() == "met" and fac.sheet.table.item(row, 6).text() == "alice"

        # The commander's declaration goes to Slack and e-mail (the sandbox records them, as the rest).
        declaration = players.comms.draft(inc.key, "declaration", author="alice", fields={"impact": "File servers encrypted"},
                                          recipients={"email_to": ["responders@example.com"]})  # fmt: skip
        players.comms.send(declaration.id, author="alice")

        def confirm():
            box = QApplication.activeModalWidget()
            if box is None:
                QTimer.singleShot(20, confirm)
            else:
                box.button(QMessageBox.StandardButton.Yes).click()

        QTimer.singleShot(0, confirm)
        fac.end()
        assert (folder / "aar.pdf").read_bytes()[:4] == b"%PDF"
        report = (folder / "aar.md").read_text()
        assert "I3-gdpr: GDPR supervisory-authority clock started with the awareness time | 15 min | met | T+0:27 | 7 min 00 s" in report

        # What the players did was planned for every backend and recorded, never sent.
        players.sync.drain_once(max_wait_s=5)
        items = players.sync.items()
        assert {i.backend for i in items} >= {"pagerduty", "jira", "statuspage", "slack", "email"}
        assert all(i.state == "sent" and i.remote_ref.startswith("exercise-") for i in items)
        win.close()
    finally:
        pctx.notifier.close()
        players.close()
        fac.close()
    assert {name: _requests(fake) for name, fake in world["fakes"].items()} == dict.fromkeys(world["fakes"], 0)
    code, metrics_after, _ = run_cli("metrics", "--json")
    assert json.loads(metrics_after) == json.loads(metrics_before)
