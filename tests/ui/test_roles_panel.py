"""The role board, driven through its real widgets and dialogs, against a real store."""

from __future__ import annotations

import pytest
from console_kit import add_people, console_context, main_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from models.enums import EntryKind, Status
from services.core import Sitrep
from services.record.roles import HANDOVER_FIELDS
from ui.fields import ErrorLabel
from ui.item_models.roles import ChecklistModel, RoleBoardModel, RoleHistoryModel, RoleRow

BRIEF = {
    "status": "Checkout down in EU; 30% of orders failing",
    "hypotheses": "Ruled in: bad deploy 09:12. Ruled out: DB failover",
    "last_update": "Status page 09:30, promised next at 10:00",
    "next_actions": "Rollback by Bob, due 09:50",
}


@pytest.fixture
def incident(sitrep):
    add_people(sitrep)
    return sitrep.incidents.declare("Checkout failing in EU", "SEV1", author="tester", services=["checkout"])


@pytest.fixture
def ctx(sitrep, data_dir, incident):
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot):
    w = main_window(ctx, qtbot, "ui.panels.timeline", "ui.panels.roles")
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def board(window):
    return window.panels["roles"]


def shown_errors(dialog) -> dict[str, str]:
    return {e.objectName(): e.text() for e in dialog.findChildren(ErrorLabel) if not e.isHidden()}


def tab_chain(start, within) -> list[str]:
    """Object names of the widgets Tab visits from `start`, in order, inside `within`."""
    names, widget = [start.objectName()], start
    for _ in range(500):
        widget = widget.nextInFocusChain()
        if widget is start:
            break
        if (
            widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and widget.isVisibleTo(within)
            and widget.isEnabled()
            and within.isAncestorOf(widget)
        ):
            names.append(widget.objectName())
    return names


def board_line(board, role_id: str) -> tuple[str, str, str]:
    m = board.model
    row = m.row_of(role_id)
    return tuple(m.data(m.index(row, c)) for c in (m.COL_HOLDER, m.COL_SINCE, m.COL_CHECKLIST))


def role_entries(sitrep: Sitrep, incident_id: str) -> list[str]:
    return [e.body for e in sitrep.timeline.entries(incident_id) if e.kind == EntryKind.ROLE_CHANGE.value]


# -- models ---------------------------------------------------------------------------------------


def test_role_board_model_passes_the_model_tester(qtmodeltester, sitrep, incident, clock):
    sitrep.roles.assign(incident.id, "IC", "ana", author="tester")
    holders = {h.role: h for h in sitrep.roles.holders(incident.id)}
    model = RoleBoardModel(clock)
    qtmodeltester.check(model)
    rows = [RoleRow(d, holders.get(d.id)) for d in sitrep.catalog.roles.values()]
    model.set_rows(rows)
    qtmodeltester.check(model)
    assert model.rowCount() == len(sitrep.catalog.roles)
    assert model.data(model.index(0, RoleBoardModel.COL_HOLDER)) == "Ana Ruiz"
    assert model.data(model.index(1, RoleBoardModel.COL_HOLDER)) == "unassigned"
    assert "UTC" in model.data(model.index(0, RoleBoardModel.COL_SINCE), Qt.ItemDataRole.ToolTipRole)
    model.set_rows(rows[:3])  # a different catalog: a reset, still consistent
    qtmodeltester.check(model)


def test_checklist_model_passes_the_model_tester_and_ticks_through_its_ticker(qtmodeltester):
    model = ChecklistModel()
    qtmodeltester.check(model)
    calls = []
    model.ticker = lambda item, done: calls.append((item, done)) or item != 2
    model.set_checklist(("one", "two", "three"), (0,), tickable=True)
    qtmodeltester.check(model)
    assert model.data(model.index(0, 0), Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.setData(model.index(1, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert model.is_done(1)
    assert not model.setData(model.index(2, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert not model.is_done(2)  # the store refused: the box stays empty
    assert calls == [(1, True), (2, True)]
    model.set_checklist(("one", "two", "three"), (), tickable=False)
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    assert not model.setData(model.index(0, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)


def test_role_history_model_passes_the_model_tester(qtmodeltester, sitrep, incident, clock):
    sitrep.roles.assign(incident.id, "IC", "ana", author="tester")
    clock.advance(minutes=30)
    sitrep.roles.hand_over(incident.id, "IC", "bob", BRIEF, author="tester")
    names = {r.id: r.name for r in sitrep.catalog.roles.values()}
    model = RoleHistoryModel(names, clock)
    qtmodeltester.check(model)
    model.set_history(sitrep.roles.history(incident.id))
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert model.data(model.index(0, RoleHistoryModel.COL_HELD)) == "30 min"
    model.set_instant(clock() - __import__("datetime").timedelta(minutes=10))
    qtmodeltester.check(model)
    assert [model.holding(r).person.handle for r in range(model.rowCount())] == ["ana"]


# -- the board in the window ----------------------------------------------------------------------------


def test_board_lists_every_catalog_role_unassigned_at_first(board, sitrep):
    assert board.model.rowCount() == len(sitrep.catalog.roles)
    assert board_line(board, "IC") == ("unassigned", "", "—")
    assert board.assign_button.isEnabled()
    assert not board.handover_button.isEnabled()
    assert board.role_title.text() == "Incident Commander"


def test_assign_through_the_dialog_widgets(board, window, sitrep, incident, qtbot):
    board.select_role("IC")
    board.actions_by_key["assign"].trigger()
    dialog = board.dialog
    assert dialog.isVisible()
    assert dialog.role_id() == "IC"
    # Typed text, as a person would leave it (keyClicks would open the completer popup, which the
    # offscreen platform cannot show without warnings).
    dialog.responder.lineEdit().setText("bob chen")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert board_line(board, "IC")[0] == "Bob Chen"
    assert board_line(board, "IC")[2] == "0/10"
    assert role_entries(sitrep, incident.id) == ["Bob Chen (@bob) assigned as Incident Commander"]
    assert "Bob Chen is now Incident Commander" in window._status_label.text()
    assert board.handover_button.isEnabled() and not board.assign_button.isEnabled()


def test_assigning_a_held_role_is_refused_next_to_the_role(board, sitrep):
    assert board.assign("IC", "ana")
    assert not board.assign("IC", "bob")
    errors = shown_errors(board.dialog)
    assert "Ana Ruiz holds Incident Commander" in errors["error-role"]
    assert "Hand it over" in errors["error-role"]
    assert board_line(board, "IC")[0] == "Ana Ruiz"


def test_an_unknown_responder_is_named_next_to_the_responder_field(board):
    assert not board.assign("TECH", "nobody.here")
    errors = shown_errors(board.dialog)
    assert "nobody.here" in errors["error-responder"]
    assert "Add them first" in errors["error-responder"]
    dialog = board.assign_dialog("TECH")
    assert not dialog.submit()  # nobody chosen at all
    assert shown_errors(dialog) == {"error-responder": "Choose a responder, or add a new one."}


def test_a_new_responder_can_be_added_from_the_assign_dialog(board, sitrep, qtbot):
    dialog = board.open_assign()
    dialog.responder.lineEdit().setText("Dana Scully")
    editor = dialog.add_responder()
    assert editor.name.text() == "Dana Scully"  # started from what was typed
    editor.handle.setText("dana")
    editor.set_timezone("America/Chicago")
    assert editor.submit()
    assert dialog.responder.handle() == "dana"
    assert dialog.submit()
    assert board_line(board, dialog.role_id())[0] == "Dana Scully"
    assert sitrep.people.get("dana").timezone == "America/Chicago"


def test_backdated_assignment_and_a_bad_time(board, sitrep, incident, clock):
    clock.advance(minutes=20)
    assert not board.assign("SCRIBE", "chidi", at="half past nine-ish")
    assert "not a time I can read" in shown_errors(board.dialog)["error-at"]
    assert not board.assign("SCRIBE", "chidi", at="-1h")  # before the declaration
    assert "before the incident was declared" in shown_errors(board.dialog)["error-at"]
    assert board.assign("SCRIBE", "chidi", at="-5m")
    holding = sitrep.roles.who_held(incident.id, "SCRIBE", clock())
    assert holding.started_at == clock() - __import__("datetime").timedelta(minutes=5)


def test_hand_over_needs_all_four_brief_fields(board, sitrep, incident, clock):
    assert board.assign("IC", "ana")
    clock.advance(minutes=45)
    partial = {"status": BRIEF["status"], "next_actions": BRIEF["next_actions"]}
    assert not board.hand_over("IC", "bob", partial)
    errors = shown_errors(board.dialog)
    assert errors["error-brief-hypotheses"] == f"Required: {HANDOVER_FIELDS['hypotheses'].lower()}."
    assert errors["error-brief-last_update"] == f"Required: {HANDOVER_FIELDS['last_update'].lower()}."
    assert "error-brief-status" not in errors
    assert HANDOVER_FIELDS["hypotheses"] in errors["error-general"]
    assert board_line(board, "IC")[0] == "Ana Ruiz"  # nothing changed

    assert board.hand_over("IC", "bob", BRIEF)
    assert board_line(board, "IC")[0] == "Bob Chen"
    assert role_entries(sitrep, incident.id)[-1] == (
        "Incident Commander handed over from Ana Ruiz (@ana) to Bob Chen (@bob)"
    )
    history = sitrep.roles.history(incident.id)
    assert [(h.person.handle, h.ended_at is None) for h in history] == [("ana", False), ("bob", True)]
    assert history[1].handover_brief["hypotheses"] == BRIEF["hypotheses"]


def test_handover_dialog_is_filled_by_keyboard_alone(board, sitrep, qtbot):
    assert board.assign("COMMS", "ana")
    board.select_role("COMMS")
    dialog = board.open_handover()
    assert dialog.role_id() == "COMMS"
    assert "Ana Ruiz (@ana)" in dialog.outgoing.text()
    dialog.activateWindow()
    dialog.responder.setFocus()
    dialog.responder.lineEdit().setText("@chidi")
    # Tab moves from the responder through the brief fields (they do not swallow Tab).
    order = tab_chain(dialog.responder, dialog)
    assert [n for n in order if n.startswith("brief-")] == [f"brief-{k}" for k in HANDOVER_FIELDS]
    assert order.index("brief-status") < order.index("role-at")
    assert all(dialog.brief[k].tabChangesFocus() for k in HANDOVER_FIELDS)
    for key, text in BRIEF.items():
        dialog.brief[key].setFocus()
        qtbot.keyClicks(dialog.brief[key], text)
    qtbot.keyClick(dialog.ok_button, Qt.Key.Key_Space)
    assert not dialog.isVisible()
    assert board_line(board, "COMMS")[0] == "Chidi Okafor"


def test_release_with_a_reason(board, sitrep, incident):
    assert board.assign("TECH", "bob")
    assert board.release("TECH", reason="end of shift")
    assert board_line(board, "TECH")[0] == "unassigned"
    assert role_entries(sitrep, incident.id)[-1] == (
        "Bob Chen (@bob) released from Technical Lead. Reason: end of shift"
    )
    assert not board.release("TECH")
    assert "Nobody holds Technical Lead" in shown_errors(board.dialog)["error-role"]


def test_ticking_the_checklist_with_the_keyboard(board, sitrep, incident, qtbot):
    assert board.assign("IC", "ana")
    board.select_role("IC")
    view = board.checklist
    view.setFocus()
    view.setCurrentIndex(board.checklist_model.index(2, 0))
    qtbot.keyClick(view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: board_line(board, "IC")[2] == "1/10")
    holding = sitrep.roles.holders(incident.id)[0]
    assert holding.checklist_done == (2,)
    last = sitrep.timeline.entries(incident.id)[-1]
    assert last.kind == EntryKind.ACTION.value
    assert last.body == "IC checklist done: Open the timeline and the state summary"
    assert board.checklist_label.text() == "&Checklist: 1/10 done"
    assert board.tick("IC", 2, done=False)
    assert board_line(board, "IC")[2] == "0/10"


def test_the_board_skips_the_echo_of_its_own_tick_but_not_a_tick_made_elsewhere(board, sitrep, incident):
    assert board.assign("IC", "ana")
    board.select_role("IC")
    board._refresh_timer.stop()
    assert board.tick("IC", 0)  # the board re-reads by itself after its own tick
    assert not board._refresh_timer.isActive()
    sitrep.roles.tick_checklist(incident.id, "IC", 1, True, author="bob")  # the CLI, another panel
    assert board._refresh_timer.isActive()


def test_an_unheld_role_cannot_be_ticked(board, sitrep, incident):
    board.select_role("DEPUTY")
    assert (
        not board.checklist_model.flags(board.checklist_model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    )
    assert not board.tick("DEPUTY", 0)


def test_role_history_dialog_shows_who_held_what_when(board, sitrep, incident, clock, qtmodeltester, qtbot):
    assert board.assign("IC", "ana")
    clock.advance(minutes=30)
    assert board.hand_over("IC", "bob", BRIEF)
    clock.advance(minutes=10)
    dialog = board.open_history()
    qtmodeltester.check(dialog.model)
    assert dialog.model.rowCount() == 2
    dialog.view.setCurrentIndex(dialog.model.index(1, 0))
    assert BRIEF["hypotheses"] in dialog.brief.toPlainText()
    assert "Handed over by @ana" in dialog.brief.toPlainText()
    qtbot.keyClicks(dialog.at, "-20m")  # ana handed over 10 minutes ago
    qtbot.keyClick(dialog.at, Qt.Key.Key_Return)
    assert dialog.isVisible()  # Enter applied the time; it did not close the dialog
    assert [dialog.model.holding(r).person.handle for r in range(dialog.model.rowCount())] == ["ana"]
    dialog.at.setText("-5m")
    dialog.apply_instant()
    assert [dialog.model.holding(r).person.handle for r in range(dialog.model.rowCount())] == ["bob"]
    dialog.at.setText("tea time")
    dialog.apply_instant()
    assert "not a time I can read" in dialog.error.text() and not dialog.error.isHidden()
    dialog.close()


def test_a_closed_incident_shows_its_roles_but_allows_no_change(board, sitrep, incident, window, qtbot):
    assert board.assign("IC", "ana")
    sitrep.incidents.set_status(incident.id, Status.RESOLVED, author="tester")
    sitrep.incidents.set_status(incident.id, Status.CLOSED, author="tester")
    qtbot.waitUntil(lambda: board.incident.status is Status.CLOSED)
    assert board_line(board, "IC")[0] == "Ana Ruiz"
    assert not board.handover_button.isEnabled()
    assert not board.release_button.isEnabled()
    assert board.history_button.isEnabled()
    assert not board.closed_note.isHidden()
    assert not board.actions_by_key["assign"].isEnabled()
    assert board.open_assign() is None
    assert "closed" in window._status_label.text()


def test_changes_made_by_another_process_appear(board, data_dir, incident, qtbot):
    other = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")  # as `sitrep roles assign` would
    try:
        other.roles.assign(incident.id, "LIAISON", "chidi", author="cli")
    finally:
        other.close()
    qtbot.waitUntil(lambda: board_line(board, "LIAISON")[0] == "Chidi Okafor", timeout=5000)


def test_role_actions_are_in_the_incident_menu_and_the_palette(window, board):
    incident_menu = [a.text() for a in window.menus["Incident"].actions()]
    for key in ("assign", "handover", "release", "history"):
        action = board.actions_by_key[key]
        assert action.text() in incident_menu
        assert not action.shortcut().isEmpty()
        assert action in window.commands
    assert "directory" not in board.actions_by_key  # the window owns it (it works without the board)
    from ui.palette import ActionListModel

    palette = ActionListModel(window.commands)
    palette.set_query("hand over")
    assert palette.action(0) is board.actions_by_key["handover"]


def test_enter_on_a_role_opens_the_right_dialog(board, qtbot):
    board.view.setFocus()
    board.select_role("DEPUTY")
    qtbot.keyClick(board.view, Qt.Key.Key_Return)
    assert board.dialog.objectName() == "assign-dialog" and board.dialog.role_id() == "DEPUTY"
    board.dialog.reject()
    assert board.assign("DEPUTY", "bob")
    board.select_role("DEPUTY")
    qtbot.keyClick(board.view, Qt.Key.Key_Return)
    assert board.dialog.objectName() == "handover-dialog" and board.dialog.role_id() == "DEPUTY"
    board.dialog.reject()


def test_tab_reaches_the_checklist_and_the_buttons_that_apply(board):
    board.select_role("IC")
    assert tab_chain(board.view, board) == [
        "role-board-view",
        "role-checklist",
        "role-assign",
        "role-history",
    ]
    assert board.assign("IC", "ana")
    board.select_role("IC")
    assert tab_chain(board.view, board) == [
        "role-board-view",
        "role-checklist",
        "role-handover",
        "role-release",
        "role-history",
    ]


def test_dialog_cancel_changes_nothing(board, sitrep, incident):
    dialog = board.open_assign()
    dialog.responder.choose("ana")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not dialog.isVisible()
    assert sitrep.roles.holders(incident.id) == []


def test_the_dialog_says_when_someone_already_holds_another_role(board):
    assert board.assign("TECH", "ana")
    dialog = board.assign_dialog("SCRIBE")
    dialog.responder.choose("ana")
    assert not dialog.other_roles.isHidden()
    assert dialog.other_roles.text() == "Ana Ruiz also holds Technical Lead here."
    dialog.responder.choose("bob")
    assert dialog.other_roles.isHidden()


def test_enter_in_the_dialog_means_its_own_action(board, qtbot):
    assert board.assign("IC", "ana")
    dialog = board.open_handover()
    assert dialog.ok_button.isDefault()
    dialog.responder.lineEdit().setText("@bob")
    qtbot.keyClick(dialog.responder.lineEdit(), Qt.Key.Key_Return)
    assert dialog.isVisible()  # not cancelled: the brief is missing, and it says so
    assert "The handover brief is missing" in shown_errors(dialog)["error-general"]
    # The summary follows the typing: it names only what is still empty, then goes.
    keys = list(dialog.brief)
    dialog.brief[keys[0]].setPlainText("Mitigated; errors at 0.2%")
    assert HANDOVER_FIELDS[keys[0]] not in shown_errors(dialog)["error-general"]
    assert HANDOVER_FIELDS[keys[1]] in shown_errors(dialog)["error-general"]
    for key in keys[1:]:
        dialog.brief[key].setPlainText("…")
    assert "error-general" not in shown_errors(dialog)
    dialog.reject()
    dialog = board.open_assign()
    dialog.responder.lineEdit().setText("@chidi")
    qtbot.keyClick(dialog.responder.lineEdit(), Qt.Key.Key_Return)
    assert shown_errors(dialog) == {}
    assert not dialog.isVisible()
    assert board_line(board, dialog.role_id())[0] == "Chidi Okafor"


def test_a_refused_tick_is_said_in_the_status_bar_and_the_box_stays_empty(board, window, data_dir, incident):
    assert board.assign("COMMS", "ana")
    board.select_role("COMMS")
    other = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")  # released elsewhere, before we noticed
    try:
        other.roles.release(incident.id, "COMMS", author="cli")
    finally:
        other.close()
    index = board.checklist_model.index(0, 0)
    assert not board.checklist_model.setData(index, Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert board.checklist_model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert "Nobody holds Communications Lead" in window._status_label.text()


def _mnemonics(dialog) -> list[str]:
    """The Alt+letter of every label and button in a dialog (Qt's '&x'; '&&' is a literal '&')."""
    from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel

    keys = []
    for w in (
        dialog.findChildren(QLabel) + dialog.findChildren(QAbstractButton) + dialog.findChildren(QGroupBox)
    ):
        text = w.title() if isinstance(w, QGroupBox) else w.text()
        text = text.replace("&&", "")
        if "&" in text and text.index("&") + 1 < len(text):
            keys.append(text[text.index("&") + 1].lower())
    return keys


@pytest.mark.parametrize("opener", ["open_assign", "open_handover"])
def test_no_two_fields_of_a_role_dialog_share_an_alt_key(board, sitrep, incident, opener):
    if opener == "open_handover":
        sitrep.roles.assign(incident.id, "IC", "ana", author="tester")
        board.select_role("IC")
    dialog = getattr(board, opener)()
    try:
        keys = _mnemonics(dialog)
        assert keys and len(keys) == len(set(keys)), sorted(keys)
    finally:
        dialog.reject()
