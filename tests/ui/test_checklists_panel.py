"""The resolution checklists panel, through its real widgets, against a real store."""

from __future__ import annotations

import pytest
from console_kit import console_context, main_window
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from models.enums import Status
from services.resolution.checklists import RESOLVED_STEP, StepBlocked


@pytest.fixture
def incident(sitrep):
    sitrep.people.add("Ana Ruiz", "tester")
    inc = sitrep.incidents.declare("Payments failing", "SEV1", author="tester",
                                   services=["payments-api", "payments-db-eu"])  # fmt: skip
    sitrep.roles.assign(inc.key, "IC", "tester", author="tester")
    return inc


@pytest.fixture
def panel(sitrep, data_dir, incident, qtbot):
    ctx = console_context(sitrep, data_dir)
    window = main_window(ctx, qtbot, "ui.panels.timeline", "ui.panels.checklists")
    window.show()
    qtbot.waitExposed(window)
    ctx.selection.set(sitrep.incidents.get(incident.key))
    window.open_panel(window.docks["checklists"])
    yield window.panels["checklists"]
    ctx.notifier.close()


def _row_texts(panel, checklist_id):
    tree = panel.tree
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        if top.data(0, 0x0101)[0] == checklist_id:
            return [(top.child(j).text(0), top.child(j).text(1)) for j in range(top.childCount())]
    return []


def test_the_panel_shows_the_gate_and_a_blocked_item_and_records_through_the_dialog(sitrep, incident, panel, qtbot):
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 3)
    assert "Resolved is blocked" in panel.gate.text()
    rows = _row_texts(panel, "rollback-verification")
    assert rows[2] == ("☐ Rollback executed",
                       "blocked: needs 1")  # fmt: skip
    # Ticking the blocked item: the dialog says what is missing and keeps the refusal in view.
    panel.select_item("rollback-verification", "rollback-executed")
    assert "Blocked until recorded: Rollback script checked against current configuration" in panel.detail.text()
    panel.tick_selected()
    dialog = panel.dialog
    assert dialog.isVisible()
    dialog.accept()
    assert "is blocked" in dialog.error.text() and dialog.isVisible()
    dialog.reject()
    # The replica checklist, recorded through the dialog with its values; then nothing blocks Resolved.
    for item, values in (("replica-lag", {"replica_lag": "0.3"}), ("checksums-compared", {"evidence": "equal"}),
                         ("writes-reconciled", {})):  # fmt: skip
        panel.select_item("replica-consistency", item)
        panel.tick_selected()
        for field, value in values.items():
            panel.dialog.edits[field].setText(value)
        panel.dialog.accept()
        qtbot.waitUntil(lambda d=panel.dialog: not d.isVisible())
    qtbot.waitUntil(lambda: "Nothing here blocks Resolved" in panel.gate.text())
    assert sitrep.checklists.open_required(incident.key, RESOLVED_STEP) == []
    assert _row_texts(panel, "replica-consistency")[0][1] == "done"


def test_the_status_dialog_names_the_blocking_items_and_the_commander_overrides(sitrep, incident, panel, qtbot):
    from ui.dialogs.incident import StatusDialog

    dialog = StatusDialog(panel.ctx, sitrep.incidents.get(incident.key), panel)
    qtbot.addWidget(dialog)
    dialog.choose(Status.RESOLVED)
    assert "Writes made during the incident reconciled" in dialog.checklist_gate.text()
    assert not dialog.override.isHidden()
    dialog.choose(Status.MITIGATED)
    assert dialog.override.isHidden()
    dialog.choose(Status.RESOLVED)
    assert "Open checklist items block Resolved" in dialog.owed_label.text()
    dialog.reason.setText("Replicas rebuilt from the primary")
    with pytest.raises(StepBlocked):  # a reason alone is not an override
        dialog.apply()
    dialog.override.setChecked(True)
    dialog.apply()
    assert sitrep.incidents.get(incident.key).status == Status.RESOLVED


def test_a_change_record_is_entered_in_the_short_dialog(sitrep, incident, panel, qtbot):
    panel.record_change()
    dialog = panel.dialog
    dialog.findChild(QLineEdit, "change-ci").setText("payments-db-eu")
    dialog.findChild(QLineEdit, "change-attribute").setText("max_connections")
    dialog.findChild(QLineEdit, "change-after").setText("400")
    buttons = dialog.findChild(QDialogButtonBox)
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() and sitrep.change_records.list(incident.key) == []  # why and undo are missing
    dialog.findChild(QLineEdit, "change-why").setText("pool exhausted")
    dialog.findChild(QLineEdit, "change-undo").setText("back to 200")
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert sitrep.change_records.list(incident.key)[0].summary == "payments-db-eu: max_connections ∅ → 400"
