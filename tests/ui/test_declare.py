"""Declare incident…: the form, the severity matrix beside it, inline refusals, and the switch to the new incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from console_kit import console_context, main_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from models.enums import EntryKind, Milestone, Status
from ui.dialogs.declare import DeclareDialog
from ui.severity import COL_CRITERIA, COL_OBLIGATIONS


@pytest.fixture
def ctx(sitrep, data_dir):
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot):
    w = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.timeline")
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def dialog(window):
    return window.panels["header"].declare_incident()


def test_the_matrix_shows_every_levels_criteria_and_obligations(dialog, sitrep):
    model = dialog.matrix.matrix
    assert model.rowCount() == len(sitrep.catalog.severities)
    for row, level in enumerate(sitrep.catalog.severities.values()):
        criteria = model.data(model.index(row, COL_CRITERIA))
        obligations = model.data(model.index(row, COL_OBLIGATIONS))
        assert level.description in criteria
        assert all(c in criteria for c in level.criteria)
        assert all(o in obligations for o in level.obligations()) or not level.obligations()
    assert dialog.matrix.chosen() is None  # a deliberate choice, never a default


def test_missing_title_then_missing_severity_are_said_next_to_their_fields(dialog, sitrep, qtbot):
    dialog.ok_button.click()
    assert "needs a title" in dialog.error_text("title")
    assert dialog.focusWidget() is dialog.title_edit
    qtbot.keyClicks(dialog.title_edit, "Checkout down")
    dialog.ok_button.click()
    assert dialog.error_text("title") == ""
    assert "Choose a severity" in dialog.error_text("severity")
    assert dialog.isVisible()
    assert sitrep.incidents.list() == []


def test_unreadable_and_out_of_order_times_are_refused_inline(dialog, sitrep, qtbot):
    qtbot.keyClicks(dialog.title_edit, "Checkout down")
    dialog.choose_severity("SEV2")
    qtbot.keyClicks(dialog.impact_started, "this morning")
    assert dialog.impact_started.preview.text() == "not a time I can read yet"
    dialog.ok_button.click()
    assert "not a time I can read" in dialog.error_text("impact_started")

    dialog.impact_started.setText("10m ago")
    dialog.detected.setText("20m ago")  # detected before impact started
    dialog.ok_button.click()
    assert "cannot come before" in dialog.error_text("detected")
    assert sitrep.incidents.list() == []


def test_major_follows_the_level_until_the_commander_sets_it(dialog, qtbot):
    dialog.choose_severity("SEV2")
    assert dialog.major.isChecked()
    dialog.choose_severity("SEV3")
    assert not dialog.major.isChecked()
    qtbot.mouseClick(dialog.major, Qt.MouseButton.LeftButton)
    dialog.choose_severity("SEV4")
    assert dialog.major.isChecked()  # their choice stands


def test_declaring_records_everything_and_the_console_switches_to_it(window, ctx, sitrep, clock, qtbot):
    older = sitrep.incidents.declare("Older incident", "SEV3", author="tester")
    window.reload_incidents(select=older.id)
    assert ctx.selection.current.id == older.id

    dialog = window.panels["header"].declare_incident()
    qtbot.keyClicks(dialog.title_edit, "Checkout: card payments failing")
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("change_failure"))
    qtbot.keyClicks(dialog.services, "checkout, payments-api")
    qtbot.keyClicks(dialog.summary, "502s from card-gateway in the EU")
    qtbot.keyClicks(dialog.impact_started, "25m ago")
    qtbot.keyClicks(dialog.detected, "15m ago")
    qtbot.mouseClick(dialog.exercise, Qt.MouseButton.LeftButton)
    dialog.matrix.setFocus()
    qtbot.keyClick(dialog.matrix, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(dialog.matrix, Qt.Key.Key_Up)
    qtbot.keyClick(dialog.matrix, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert dialog.matrix.chosen() == "SEV1"
    assert "SEV1 (Critical)" in dialog.chosen_label.text()
    dialog.ok_button.click()

    assert not dialog.isVisible()
    new = next(i for i in sitrep.incidents.list() if i.id != older.id)
    assert (new.title, new.severity, new.incident_type) == (
        "Checkout: card payments failing",
        "SEV1",
        "change_failure",
    )
    assert new.services == ("checkout", "payments-api") and new.summary == "502s from card-gateway in the EU"
    assert new.is_major and new.is_exercise and new.status is Status.DECLARED
    assert new.milestone(Milestone.IMPACT_STARTED) == clock() - timedelta(minutes=25)
    assert new.milestone(Milestone.DETECTED) == clock() - timedelta(minutes=15)
    first = sitrep.timeline.entries(new.id)[0]
    assert first.kind == EntryKind.STATUS_CHANGE.value and first.author == "tester"
    # The console follows: selection, switcher, header, timeline.
    assert ctx.selection.current.id == new.id
    assert window.switcher.currentData() == new.id
    assert window.panels["header"].key_label.text() == new.key
    assert window.panels["timeline"].model.rowCount() == 1


def test_ctrl_n_opens_the_dialog_with_the_title_focused(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = window.panels["header"].dialog
    assert isinstance(dialog, DeclareDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.title_edit)
    dialog.reject()
