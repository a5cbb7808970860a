"""Keyboard only: Tab goes through the console and its dialogs in the order a person works, and
never gets stuck in a list."""

from __future__ import annotations

import pytest
from console_kit import add_people, console_context, main_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QRadioButton

# Opening an incident raises the main window; the offscreen platform cannot, and says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")


@pytest.fixture
def ctx(sitrep, data_dir):
    add_people(sitrep)
    inc = sitrep.incidents.declare("Checkout failing in EU", "SEV1", author="tester", services=["checkout"])
    sitrep.roles.assign(inc.id, "IC", "ana", author="tester")
    sitrep.timeline.log(inc.id, "Payment errors at 40%", author="tester")
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot):
    w = main_window(ctx, qtbot)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    return w


def tab_from(qtbot, start, steps: int) -> list[str]:
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(start.hasFocus)
    names = []
    for _ in range(steps):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        names.append(QApplication.focusWidget().objectName())
    return names


def test_tab_leaves_the_timeline_instead_of_walking_its_cells(window, qtbot):
    timeline = window.panels["timeline"]
    timeline.view.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(timeline.view.hasFocus)
    qtbot.keyClick(timeline.view, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not timeline.view


def test_tab_goes_from_the_quick_entry_to_the_role_board(window, qtbot):
    timeline = window.panels["timeline"]
    board = window.panels["roles"]
    window.docks["roles"].raise_()
    order = tab_from(qtbot, timeline.entry, 3)
    assert order[0] == "entry-at"
    assert order[2] == board.view.objectName()


def tab_chain(dialog, start, steps: int) -> list:
    """Where Tab takes the focus inside a dialog, step by step, by Qt's own rule (the offscreen
    platform never activates a dialog, so it cannot take real key presses)."""
    if start is not None:
        start.setFocus(Qt.FocusReason.TabFocusReason)
    chain = []
    while len(chain) < steps:
        dialog.focusNextPrevChild(True)
        widget = dialog.focusWidget()
        if isinstance(widget, QRadioButton) and not widget.isChecked():
            continue  # a Tab key press skips the unchecked buttons of a group (arrows move within it)
        # An editable combo box takes the focus in its line edit; the combo box is the field.
        chain.append(widget.parent() if isinstance(widget.parent(), QComboBox) else widget)
    return chain


def test_role_dialogs_take_the_fields_in_the_order_they_are_filled(window, qtbot):
    board = window.panels["roles"]
    board.open_handover()
    dialog = board.dialog
    qtbot.waitExposed(dialog)
    cancel = dialog.buttons.button(dialog.buttons.StandardButton.Cancel)
    # The on-call list and its Pick button join the chain once PagerDuty has answered (tests/sync).
    assert tab_chain(dialog, dialog.role, 11) == [
        dialog.responder,
        dialog.new_person,
        dialog.on_call.fetch_button,
        *dialog.brief.values(),
        dialog.at,
        dialog.ok_button,
        cancel,
        dialog.role,
    ]
    dialog.reject()


def test_a_service_dialog_opens_on_its_fields_and_ends_on_its_buttons(window, qtbot):
    dialog = window.panels["header"].change_status()
    qtbot.waitExposed(dialog)
    cancel = dialog.buttons.button(dialog.buttons.StandardButton.Cancel)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: dialog.focusWidget() is not None)
    # It opens on the chosen status (it opened on the OK button: Enter changed the status unread).
    assert dialog.focusWidget() is dialog.radios[dialog.selected()]
    chain = tab_chain(dialog, None, 4)
    assert chain == [dialog.reason, dialog.when, dialog.ok_button, cancel]
    dialog.reject()
