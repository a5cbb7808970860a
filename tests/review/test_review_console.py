"""The commander reaches the review from the console: the Review menu and the palette open the panel, a
section written in its editor is saved (and flagged by the lint), an action item added through the dialog
shows in the Action items view across incidents."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from models.enums import Status
from tests.exercises.test_exercise_console import _answer_modal
from tests.ui.console_kit import add_people, console_context, main_window


def _action(window, text: str):
    return next(a for a in window.menus["Review"].actions() if a.text().startswith(text))


def test_review_panel_and_action_items_from_the_menus(qtbot, live_sitrep, data_dir):
    add_people(live_sitrep)
    inc = live_sitrep.incidents.declare("Checkout down", "SEV1", author="ana", services=["checkout"])
    live_sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    live_sitrep.incidents.set_status(inc.key, Status.RESOLVED, author="ana")
    ctx = console_context(live_sitrep, data_dir, author="ana")
    window = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.timeline", "ui.panels.review",
                         "ui.panels.action_items", "ui.panels.charts")  # fmt: skip
    window.show()
    ctx.selection.set(live_sitrep.incidents.get(inc.key))
    panel = window.panels["review"]
    assert all(a in window.commands for a in window.menus["Review"].actions())
    qtbot.waitUntil(lambda: "Draft" in panel.headline.text())
    assert panel.section_list.count() == 15

    panel.section_list.setCurrentRow(3)  # Fault
    panel.editor.setFocus()
    qtbot.keyClicks(panel.editor, "It was human error.")
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "blame" in panel.lint_line.text())
    assert live_sitrep.reviews.get(inc.key).row["sections"]["fault"]["text"] == "It was human error."

    def fill(dialog):
        dialog.title.setText("Add an alert on checkout 5xx")
        dialog.category.setCurrentText("detect")
        dialog.owner.setCurrentIndex(dialog.owner.findData("bob"))
        dialog.submit()

    _answer_modal(fill)
    _action(window, "Post-incident review: add an action item").trigger()
    qtbot.waitUntil(lambda: panel.actions_table.rowCount() == 1)
    _action(window, "Action items across incidents").trigger()
    items = window.panels["action_items"]
    qtbot.waitUntil(lambda: items.table.rowCount() == 1)
    assert items.table.item(0, 7).text() == "Add an alert on checkout 5xx"
    assert "1 open" in items.stats.text()
    items.table.selectRow(0)
    qtbot.mouseClick(items.findChild(QPushButton, "actions-done"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "1 done" in items.stats.text())
    assert "Completion rate 100%" in items.stats.text()
    metrics = window.panels["charts"]
    qtbot.waitUntil(lambda: "<b>100%</b> completed" in metrics.learning_label.text())
