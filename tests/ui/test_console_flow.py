"""The whole console, end to end, the way a commander drives it from the keyboard:
declare → log (prefixes, backdating) → assign → hand over → watch a clock breach → mitigate → resolve,
checking the live timeline and the role board after each step. And `sitrep --demo` opening the SEV1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from console_kit import add_people, console_context, main_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from models.enums import Milestone, Status
from ui.item_models.timeline import COL_BODY, COL_KIND, COL_SEQ, COL_TIME, EntryRole

ROOT = Path(__file__).resolve().parents[2]
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def ctx(sitrep, data_dir):
    add_people(sitrep)
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot):
    w = main_window(ctx, qtbot)  # every panel, as `sitrep` opens it
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    return w


def press(qtbot, window, key, modifiers=CTRL):
    """A window shortcut, pressed once the console is the active window again. (A window manager
    hands activation back when a dialog closes; the offscreen platform does not, so we do.)"""
    if QApplication.activeWindow() is not window:
        window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(QApplication.focusWidget() or window, key, modifiers)


def timeline_rows(window) -> list[tuple[str, str]]:
    model = window.panels["timeline"].model
    return [
        (model.data(model.index(r, COL_KIND)), model.data(model.index(r, COL_BODY)))
        for r in range(model.rowCount())
    ]


def last_row_is(qtbot, window, row: tuple[str, str]) -> None:
    """The live timeline shows the entry (it arrives through the change notice, not a reload)."""
    qtbot.waitUntil(lambda: timeline_rows(window)[-1] == row, timeout=3000)


def board_holder(window, role_id: str) -> str:
    board = window.panels["roles"]
    m = board.model
    return m.data(m.index(m.row_of(role_id), m.COL_HOLDER))


def chip(window, clock_id: str):
    header = window.panels["header"]
    return next(c for c in header.chips if c.clock is not None and c.clock.id == clock_id)


def test_a_commander_runs_an_incident_from_declaration_to_resolution(window, ctx, sitrep, clock, qtbot):
    header, timeline, board = window.panels["header"], window.panels["timeline"], window.panels["roles"]

    # 1. Declare (Ctrl+N), picking the level in the matrix with the arrow keys.
    press(qtbot, window, Qt.Key.Key_N)
    declare = header.dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is declare.title_edit)
    qtbot.keyClicks(declare.title_edit, "Checkout: card payments failing in the EU")
    qtbot.keyClicks(declare.services, "checkout, payments-api")
    qtbot.keyClicks(declare.impact_started, "6m ago")
    declare.matrix.setFocus()
    qtbot.keyClick(declare.matrix, Qt.Key.Key_Home, CTRL)  # the top row: SEV1
    assert declare.matrix.chosen() == "SEV1"
    qtbot.mouseClick(declare.ok_button, Qt.MouseButton.LeftButton)
    assert not declare.isVisible()
    incident = ctx.selection.current
    assert incident is not None and incident.title == "Checkout: card payments failing in the EU"
    assert window.switcher.currentData() == incident.id
    assert header.key_label.text() == incident.key and header.severity_badge.text() == "SEV1"
    assert timeline_rows(window) == [("Status change", "Major incident declared at SEV1 (Critical): "
                                      "Checkout: card payments failing in the EU")]  # fmt: skip
    assert all(board_holder(window, r) == "unassigned" for r in ("IC", "DEPUTY", "COMMS", "SCRIBE"))
    assert chip(window, "commander").text() == "Commander named: 5:00 left"

    # 2. Log from the quick-entry line (Ctrl+L): prefixes pick the kind; "At" backdates.
    clock.advance(minutes=1)
    press(qtbot, window, Qt.Key.Key_L)
    assert QApplication.focusWidget() is timeline.entry
    qtbot.keyClicks(timeline.entry, "/obs 502s from card-gateway for 40% of EU checkouts")
    qtbot.keyClicks(timeline.at, "4m ago")
    qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
    qtbot.keyClicks(timeline.entry, "/assume the 4.12 rollout is the trigger")
    qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
    qtbot.keyClicks(
        timeline.entry, "/decision roll back payments-api to 4.11 because errors began 2 min after 4.12"
    )
    qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
    assert timeline.entry.text() == "" and timeline.entry_error.isHidden()
    rows = timeline_rows(window)
    # Read by time: the backdated observation (4 min ago) comes before the declaration (1 min ago).
    assert [k for k, _ in rows] == ["Observation", "Status change", "Assumption", "Decision"]
    assert rows[3][1] == "roll back payments-api to 4.11  — why: errors began 2 min after 4.12"
    model = timeline.model
    backdated = model.data(model.index(0, COL_TIME), EntryRole)
    assert backdated.seq == 2
    assert backdated.occurred_at == clock() - timedelta(minutes=4) and backdated.recorded_at == clock()
    assert "Backdated" in model.data(model.index(0, COL_TIME), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, COL_TIME)).endswith(f"↶ {clock().astimezone():%H:%M}")
    # The chain's order is one header click away.
    timeline.view.sortByColumn(COL_SEQ, Qt.SortOrder.AscendingOrder)
    assert [k for k, _ in timeline_rows(window)][:2] == ["Status change", "Observation"]
    timeline.view.sortByColumn(COL_TIME, Qt.SortOrder.AscendingOrder)
    qtbot.keyClicks(timeline.entry, "/nonsense what is this")
    qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
    assert "Unknown prefix '/nonsense'" in timeline.entry_error.text()
    assert model.rowCount() == 4  # refused: nothing written, the text is kept to fix
    timeline.entry.clear()

    # 3. Assign the commander on the role board (Ctrl+Shift+A on the selected role).
    clock.advance(minutes=2)
    board.select_role("IC")
    press(qtbot, window, Qt.Key.Key_A, CTRL_SHIFT)
    assign = board.dialog
    assert assign.isVisible() and assign.role_id() == "IC"
    assign.responder.lineEdit().setText("Ana Ruiz")
    qtbot.mouseClick(assign.ok_button, Qt.MouseButton.LeftButton)
    assert not assign.isVisible()
    assert board_holder(window, "IC") == "Ana Ruiz"
    last_row_is(qtbot, window, ("Role change", "Ana Ruiz (@ana) assigned as Incident Commander"))
    qtbot.waitUntil(lambda: chip(window, "commander").state == "met")  # named at +3 min: on time

    # 4. Hand over command (Ctrl+Shift+H) with the four-part brief.
    clock.advance(minutes=5)
    press(qtbot, window, Qt.Key.Key_H, CTRL_SHIFT)
    handover = board.dialog
    assert handover.isVisible() and handover.role_id() == "IC"
    handover.responder.lineEdit().setText("Bob Chen")
    qtbot.mouseClick(handover.ok_button, Qt.MouseButton.LeftButton)
    assert handover.isVisible()  # an empty brief is refused
    assert board_holder(window, "IC") == "Ana Ruiz"
    for key, text in (
        ("status", "EU card payments 40% failing; rollback running"),
        ("hypotheses", "Ruled in: 4.12 rollout. Ruled out: card-gateway itself"),
        ("last_update", "None yet; first status page post is due"),
        ("next_actions", "Jonas: rollback, report in 10 min"),
    ):
        qtbot.keyClicks(handover.brief[key], text)
    qtbot.mouseClick(handover.ok_button, Qt.MouseButton.LeftButton)
    assert not handover.isVisible()
    assert board_holder(window, "IC") == "Bob Chen"
    last_row_is(
        qtbot,
        window,
        ("Role change", "Incident Commander handed over from Ana Ruiz (@ana) to Bob Chen (@bob)"),
    )
    assert sitrep.roles.holders(incident.id)[0].handover_brief["from"] == "ana"

    # 5. Watch a clock breach: the first external update (10 min) is now 2 minutes away...
    update = chip(window, "next_update")
    qtbot.waitUntil(lambda: update.text() == "Next external update: 2:00 left")
    assert update.state == "warning"
    # ...and the once-a-second tick turns it red, records the breach, and the timeline shows it live.
    clock.advance(minutes=2, seconds=10)
    qtbot.waitUntil(lambda: update.state == "breached", timeout=3000)
    assert update.text() == "Next external update: OVERDUE 0:10"
    qtbot.waitUntil(lambda: timeline_rows(window)[-1][0] == "Clock breach", timeout=3000)
    assert "Next external update" in timeline_rows(window)[-1][1]
    assert board_holder(window, "IC") == "Bob Chen"
    # An update goes out: the clock starts again from it.
    qtbot.keyClicks(timeline.entry, "/comms Status page: investigating failed card payments in the EU")
    qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: update.text() == "Next external update: 20:00 left")

    # 6. Mitigate (Ctrl+Shift+S), backdated to when the errors stopped.
    clock.advance(minutes=6)
    press(qtbot, window, Qt.Key.Key_S, CTRL_SHIFT)
    status = header.dialog
    status.choose(Status.MITIGATED)
    qtbot.keyClicks(status.when, "1m ago")
    qtbot.keyClicks(status.reason, "Rollback complete; errors at 0.2%")
    qtbot.mouseClick(status.ok_button, Qt.MouseButton.LeftButton)
    assert not status.isVisible()
    assert header.status_badge.text() == "Mitigated"
    assert ctx.selection.current.status is Status.MITIGATED
    last_row_is(
        qtbot,
        window,
        ("Status change", "Status changed: Declared → Mitigated. Reason: Rollback complete; errors at 0.2%"),
    )
    assert "lasted" in header.impact_label.text()
    assert board_holder(window, "IC") == "Bob Chen"

    # 7. Resolve.
    clock.advance(minutes=15)
    press(qtbot, window, Qt.Key.Key_S, CTRL_SHIFT)
    status = header.dialog
    assert set(status.radios) == {Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}
    status.choose(Status.RESOLVED)
    # A SEV1 owes its review (and open checklist items): said first; going on takes a reason.
    assert status.owed_label.isVisible() and "post-incident review" in status.owed_label.text()
    qtbot.mouseClick(status.ok_button, Qt.MouseButton.LeftButton)
    assert status.error_text("reason") and header.status_badge.text() != "Resolved"
    qtbot.keyClicks(status.reason, "Review booked for Thursday")
    qtbot.mouseClick(status.ok_button, Qt.MouseButton.LeftButton)
    assert header.status_badge.text() == "Resolved"
    resolved = sitrep.incidents.get(incident.id)
    assert resolved.milestone(Milestone.RESOLVED) == clock()
    last_row_is(qtbot, window, ("Status change", "Status changed: Mitigated → Resolved. Reason: Review booked for Thursday"))
    # No more updates owed; the post-incident review's two clocks run instead.
    assert {c.clock.id for c in header.chips} == {"bridge", "commander", "review_meeting", "review_published"}
    assert "ran" in header.declared_label.text()
    assert board_holder(window, "IC") == "Bob Chen"
    assert not header.severity_action.isEnabled()
    assert sitrep.integrity.verify().ok


# Run in a child process: the console's own event loop (app.exec) and its quit must not touch the
# QApplication the rest of the suite shares. The child reports what the window showed, as JSON.
_DEMO_PROBE = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.__main__ import main

seen = {}

def look_then_close():
    window = next((w for w in QApplication.topLevelWidgets() if w.objectName() == "sitrep-main"), None)
    if window is None or not window.isVisible():
        return
    header, board = window.panels["header"], window.panels["roles"].model
    seen["title"] = window.windowTitle()
    seen["key"] = header.key_label.text()
    seen["chips"] = {c.clock.id: c.state for c in header.chips}
    seen["timeline_rows"] = window.panels["timeline"].model.rowCount()
    seen["ic"] = board.data(board.index(board.row_of("IC"), board.COL_HOLDER))
    poll.stop()
    window.close()

app = QApplication(sys.argv[:1])
poll = QTimer()
poll.timeout.connect(look_then_close)
poll.start(50)
QTimer.singleShot(30_000, app.quit)  # never hang if the window does not come up
code = main(["--demo"])
print(json.dumps({"exit": code, **seen}))
"""


def test_sitrep_demo_opens_the_seeded_sev1(tmp_path):
    """`sitrep --demo`, through the real entry point: the window comes up on the SEV1."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _DEMO_PROBE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["exit"] == 0
    assert seen["key"] == "INC-0003"
    assert "SEV1 Mitigated: Checkout: card payments failing for EU customers" in seen["title"]
    assert seen["chips"] == {"bridge": "met", "commander": "met_late", "next_update": "running"}
    assert seen["timeline_rows"] > 40
    assert seen["ic"] == "Sam Okafor"
    assert "Traceback" not in done.stderr
