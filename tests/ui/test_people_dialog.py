"""The responder directory editor, driven through its widgets against a real store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from console_kit import add_people, console_context, main_window
from PySide6.QtCore import Qt

from services.core import Sitrep
from ui.dialogs.people import COL_LOCAL, PeopleDialog, PeopleModel, PersonEditor
from ui.fields import ErrorLabel


@pytest.fixture
def ctx(sitrep, data_dir):
    add_people(sitrep)
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def dialog(ctx, qtbot):
    d = PeopleDialog(ctx)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    return d


def shown_errors(widget) -> dict[str, str]:
    return {e.objectName(): e.text() for e in widget.findChildren(ErrorLabel) if not e.isHidden()}


def handles(model: PeopleModel) -> list[str]:
    return [model.person(r).handle for r in range(model.rowCount())]


def fill(editor: PersonEditor, **values: str) -> None:
    for key, value in values.items():
        if key == "timezone":
            editor.set_timezone(value)
        else:
            getattr(editor, key).setText(value)


def test_model_passes_the_model_tester(qtmodeltester, sitrep, clock):
    add_people(sitrep)
    model = PeopleModel(clock)
    qtmodeltester.check(model)
    model.set_people(sitrep.people.list())
    qtmodeltester.check(model)
    model.set_filter("europe")
    qtmodeltester.check(model)
    assert handles(model) == ["ana", "chidi"]
    model.tick()


def test_directory_shows_each_responders_wall_clock(dialog, clock):
    m = dialog.model
    assert handles(m) == ["ana", "bob", "chidi"]  # by name
    assert dialog.count.text() == "3 responders"
    # 09:00 UTC on Saturday 14 March 2026: 10:00 in Madrid, 05:00 in New York (DST began 8 March).
    assert clock() == datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    assert m.data(m.index(0, COL_LOCAL)) == "Sat 10:00 (UTC+01:00)"
    assert m.data(m.index(1, COL_LOCAL)) == "Sat 05:00 (UTC-04:00)"


def test_add_a_responder(dialog, sitrep, ctx, qtbot):
    editor = dialog.edit_person(None)
    assert editor.isVisible()
    qtbot.keyClicks(editor.name, "Dana Scully")
    qtbot.keyClicks(editor.handle, "dana")
    qtbot.keyClicks(editor.email, "dana@example.com")
    editor.set_timezone("America/Chicago")
    assert editor.local_time.text() == "Their time now: Sat 04:00 (UTC-05:00)"
    qtbot.keyClick(editor.phone, Qt.Key.Key_Return)  # Enter in a field saves
    assert not editor.isVisible()
    assert sitrep.people.get("dana").email == "dana@example.com"
    assert "dana" in handles(dialog.model)
    assert dialog.selected().handle == "dana"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"name": "", "handle": "x1"}, "name", "needs a name"),
        ({"name": "Eve", "handle": "eve smith"}, "handle", "letters, digits"),
        ({"name": "Eve", "handle": "ana"}, "handle", "'ana' is taken"),
        (
            {"name": "Eve", "handle": "eve", "email": "eve-at-example"},
            "email",
            "does not look like an e-mail",
        ),
        ({"name": "Eve", "handle": "eve", "phone": "call me"}, "phone", "does not look like a phone"),
        ({"name": "Eve", "handle": "eve", "timezone": "Mars/Olympus_Mons"}, "timezone", "Unknown time zone"),
    ],
)
def test_each_bad_field_is_named_next_to_it(dialog, sitrep, values, field, words):
    editor = dialog.person_editor(None)
    editor.show()
    fill(editor, **values)
    assert not editor.submit()
    errors = shown_errors(editor)
    assert list(errors) == [f"error-{field}"]
    assert words in errors[f"error-{field}"]
    assert editor.isVisible()
    assert editor.focusWidget() is editor.inputs[field] or editor.inputs[field].hasFocus()
    assert [p.handle for p in sitrep.people.list()] == ["ana", "bob", "chidi"]  # nothing saved
    editor.reject()


def test_fixing_the_field_clears_the_error_and_saves(dialog, sitrep, qtbot):
    editor = dialog.person_editor(None)
    fill(editor, name="Eve", handle="eve", email="nope")
    assert not editor.submit()
    assert not editor.errors["email"].isHidden()
    editor.email.setFocus()
    qtbot.keyClick(editor.email, Qt.Key.Key_Backspace)  # editing the field takes its error away
    assert editor.errors["email"].isHidden()
    editor.email.setText("eve@example.com")
    assert editor.submit()
    assert shown_errors(editor) == {}
    assert sitrep.people.get("eve").email == "eve@example.com"


def test_edit_a_responder(dialog, sitrep, qtbot):
    dialog.select("bob")
    dialog.view.setFocus()
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)  # Enter on a row edits it
    editor = dialog.editor
    assert editor.isVisible() and editor.windowTitle() == "Edit Bob Chen"
    assert editor.timezone.currentText() == "America/New_York"
    editor.set_timezone("Asia/Tokyo")
    editor.email.setText("bob@example.com")
    assert editor.submit()
    bob = sitrep.people.get("bob")
    assert (bob.timezone, bob.email) == ("Asia/Tokyo", "bob@example.com")
    m = dialog.model
    assert m.data(m.index(m.row_of("bob"), COL_LOCAL)) == "Sat 18:00 (UTC+09:00)"


def test_renaming_a_handle_to_a_taken_one_is_refused(dialog, sitrep):
    editor = dialog.person_editor(sitrep.people.get("bob"))
    editor.handle.setText("chidi")
    assert not editor.submit()
    assert "'chidi' is taken" in shown_errors(editor)["error-handle"]
    assert sitrep.people.get("bob").name == "Bob Chen"


def test_edit_without_a_selection_says_so(dialog):
    dialog.view.clearSelection()
    dialog.view.setCurrentIndex(dialog.model.index(-1, -1))
    dialog.edit_selected()
    assert "Select a responder" in shown_errors(dialog)["people-error"]


def test_filter_and_changes_from_elsewhere(dialog, data_dir, qtbot):
    qtbot.keyClicks(dialog.filter, "new_york")
    assert handles(dialog.model) == ["bob"]
    assert dialog.count.text() == "1 of 3 shown"
    dialog.filter.clear()
    other = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")  # `sitrep people add` in a terminal
    try:
        other.people.add("Frank Ocean", "frank", timezone="Pacific/Auckland")
    finally:
        other.close()
    qtbot.waitUntil(lambda: "frank" in handles(dialog.model), timeout=5000)


def test_directory_opens_from_the_tools_menu_without_the_role_board(ctx, qtbot):
    window = main_window(ctx, qtbot, "ui.panels.header")
    assert "roles" not in window.panels
    action = next(a for a in window.menus["Tools"].actions() if a.text() == "Responder directory…")
    assert not action.shortcut().isEmpty()
    action.trigger()
    opened = ctx.people_dialog
    assert isinstance(opened, PeopleDialog) and opened.isVisible()
    action.trigger()
    assert ctx.people_dialog is opened  # one directory window, brought forward
    opened.close()
