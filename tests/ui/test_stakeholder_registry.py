"""The stakeholder registry and the contact dialog that picks from it, driven through their widgets
against a real store; what they save is what `sitrep comms ...` shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from console_kit import console_context, main_window
from PySide6.QtCore import Qt

from ui.dialogs.stakeholders import (
    COL_STATUS,
    StakeholderEditor,
    StakeholderRegistryDialog,
    StakeholdersModel,
)
from ui.fields import ErrorLabel


@pytest.fixture
def registry(sitrep):
    c = sitrep.comms
    c.add_stakeholder(
        "dpo",
        "Data Protection Officer",
        "compliance",
        email="dpo@example.com",
        incident_types=["data_breach"],
    )
    c.add_stakeholder("cfo", "Maria Jensen", "executives", email="cfo@example.com", severities=["SEV1"])
    c.add_stakeholder("dpa", "Data Protection Authority desk", "regulator", phone="+44 303 123 1113")
    c.add_stakeholder("cloudco", "CloudCo escalation", "vendor", email="esc@cloudco.example")
    return c


@pytest.fixture
def ctx(sitrep, data_dir):
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def dialog(ctx, registry, qtbot):
    d = StakeholderRegistryDialog(ctx)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    return d


def shown_errors(widget) -> dict[str, str]:
    return {e.objectName(): e.text() for e in widget.findChildren(ErrorLabel) if not e.isHidden()}


def handles(model: StakeholdersModel) -> list[str]:
    return [model.stakeholder(r).handle for r in range(model.rowCount())]


def cli_registry(run_cli) -> dict[str, dict]:
    code, out, err = run_cli("comms", "stakeholders", "list", "--json")
    assert code == 0, err
    return {row["handle"]: row for row in json.loads(out)}


def test_the_model_passes_the_model_tester_and_filters(qtmodeltester, registry):
    model = StakeholdersModel()
    qtmodeltester.check(model)
    model.set_stakeholders(registry.stakeholders(include_inactive=True))
    qtmodeltester.check(model)
    assert handles(model) == ["dpo", "cfo", "dpa", "cloudco"]  # by group, then name
    model.set_filter(text="protection")
    assert handles(model) == ["dpo", "dpa"]
    model.set_filter(text="", group="regulator")
    assert handles(model) == ["dpa"]
    model.set_filter(group=None, only={"cfo"})
    qtmodeltester.check(model)
    assert handles(model) == ["cfo"]


def test_add_edit_and_deactivate_a_stakeholder(dialog, sitrep, qtbot, run_cli):
    assert dialog.count.text() == "4 in the registry"
    qtbot.keyClick(dialog.view, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # Ctrl+N: add
    editor = dialog.editor
    assert isinstance(editor, StakeholderEditor) and editor.isVisible() and editor.stakeholder is None
    qtbot.keyClicks(editor.handle, "legal-oncall")
    qtbot.keyClicks(editor.name, "Legal on call")
    editor.group.setEditText("Legal")  # the label a person sees is stored as the group id
    qtbot.keyClicks(editor.email, "legal@example.com")
    qtbot.keyClicks(editor.phone, "+44 20 7946 0101")
    qtbot.keyClicks(editor.slack, "#legal-incidents")
    editor.set_timezone("Europe/London")
    editor.severity_boxes["SEV1"].setChecked(True)
    editor.type_boxes["data_breach"].setChecked(True)
    qtbot.keyClicks(editor.notes, "Deputy: the GC office")
    qtbot.mouseClick(editor.ok_button, Qt.MouseButton.LeftButton)
    assert not editor.isVisible()
    saved = next(s for s in sitrep.comms.stakeholders() if s.handle == "legal-oncall")
    assert (saved.name, saved.kind, saved.group, saved.email, saved.phone, saved.slack, saved.timezone) == (
        "Legal on call", "person", "legal", "legal@example.com", "+44 20 7946 0101", "#legal-incidents",
        "Europe/London",
    )  # fmt: skip
    assert saved.severities == ("SEV1",) and saved.incident_types == ("data_breach",)
    assert saved.notes == "Deputy: the GC office" and saved.active
    assert dialog.selected().handle == "legal-oncall" and dialog.count.text() == "5 in the registry"

    # A refused edit: the service's words under the field it names, the field focused, nothing saved.
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)  # Enter edits the selected one
    editor = dialog.editor
    assert editor.stakeholder.handle == "legal-oncall" and editor.handle.isReadOnly()
    editor.email.setText("legal at example.com")
    editor.phone.clear()
    assert not editor.submit()
    assert shown_errors(editor) == {"error-email": "'legal at example.com' is not an e-mail address."}
    assert editor.error_text("email") and editor.focusWidget() is editor.email
    assert (
        next(s for s in sitrep.comms.stakeholders() if s.handle == "legal-oncall").phone == "+44 20 7946 0101"
    )
    editor.email.setText("legal@example.com")
    editor.timezone.setEditText("Mars/Olympus")
    assert not editor.submit()
    assert "Unknown time zone 'Mars/Olympus'" in editor.error_text("timezone")
    assert "error-email" not in shown_errors(editor)
    editor.name.clear()
    editor.set_timezone("Europe/Dublin")
    assert not editor.submit()
    assert "Give the stakeholder's name" in editor.error_text("name")
    editor.name.setText("Legal on call (EMEA)")
    editor.severity_boxes["SEV1"].setChecked(False)
    editor.severity_boxes["SEV2"].setChecked(True)
    assert editor.submit()
    edited = next(s for s in sitrep.comms.stakeholders() if s.handle == "legal-oncall")
    assert (edited.name, edited.phone, edited.timezone, edited.severities) == (
        "Legal on call (EMEA)", None, "Europe/Dublin", ("SEV2",))  # fmt: skip

    # From the search box: part of a name, Enter edits the one it leaves selected; Down goes to the list.
    qtbot.keyClicks(dialog.filter, "cloud")
    assert handles(dialog.model) == ["cloudco"] and dialog.selected().handle == "cloudco"
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Return)
    assert dialog.editor.stakeholder.handle == "cloudco" and dialog.editor.isVisible()
    dialog.editor.reject()
    dialog.filter.clear()
    assert dialog.selected().handle == "cloudco"  # still selected once everyone is shown again
    # Deactivate: off the active list, still in the registry (and shown, marked), and back again.
    dialog.select("cloudco")
    assert dialog.active_button.text() == "&Deactivate"
    qtbot.mouseClick(dialog.active_button, Qt.MouseButton.LeftButton)
    assert "cloudco" not in {s.handle for s in sitrep.comms.stakeholders()}
    assert dialog.show_inactive.isChecked() and dialog.selected().handle == "cloudco"
    row = dialog.model.row_of("cloudco")
    assert dialog.model.data(dialog.model.index(row, COL_STATUS)) == "Inactive"
    assert dialog.active_button.text() == "Re&activate"

    # The command line reads the same records.
    cli = cli_registry(run_cli)
    assert cli["cloudco"]["active"] is False
    assert {k: cli["legal-oncall"][k] for k in ("name", "group", "email", "phone", "slack", "timezone", "severities",
                                                "incident_types", "notes", "active")} == {  # fmt: skip
        "name": "Legal on call (EMEA)", "group": "legal", "email": "legal@example.com", "phone": None,
        "slack": "#legal-incidents", "timezone": "Europe/Dublin", "severities": ["SEV2"],
        "incident_types": ["data_breach"], "notes": "Deputy: the GC office", "active": True,
    }  # fmt: skip
    qtbot.mouseClick(dialog.active_button, Qt.MouseButton.LeftButton)
    assert "cloudco" in {s.handle for s in sitrep.comms.stakeholders()}


def test_a_new_stakeholder_is_refused_field_by_field(dialog, sitrep):
    editor = dialog.stakeholder_editor(None)
    editor.show()
    assert not editor.submit()
    assert "Give the stakeholder a handle" in editor.error_text("handle")
    editor.handle.setText("dpo")
    editor.name.setText("Someone else")
    editor.group.setEditText("Compliance")
    assert not editor.submit()
    assert editor.error_text("handle") == "There is already a stakeholder @dpo."
    editor.handle.setText("legal team")
    assert not editor.submit() and "one word" in editor.error_text("handle")
    editor.handle.setText("legal-team")
    editor.group.setEditText("")
    assert not editor.submit() and "Give the stakeholder's group" in editor.error_text("group")
    editor.group.setEditText("Board")  # a group the console does not list is kept as typed
    editor.kind.setCurrentIndex(editor.kind.findData("group"))
    assert editor.submit()
    saved = next(s for s in sitrep.comms.stakeholders() if s.handle == "legal-team")
    assert (saved.group, saved.kind, saved.email) == ("board", "group", None)


def test_an_edit_made_elsewhere_shows_up(dialog, sitrep, qtbot):
    sitrep.comms.update_stakeholder("dpa", phone="+44 303 000 0000")
    qtbot.waitUntil(
        lambda: "+44 303 000 0000" in {dialog.model.stakeholder(r).phone for r in range(4)}, timeout=3000
    )


def test_must_hear_narrows_to_the_incident(ctx, registry, sitrep, qtbot):
    inc = sitrep.incidents.declare("Records exposed", "SEV1", author="tester", incident_type="data_breach")
    ctx.selection.set(inc)
    d = StakeholderRegistryDialog(ctx)
    qtbot.addWidget(d)
    assert d.must_hear.text() == f"&Must hear about {inc.key}"
    d.must_hear.setChecked(True)
    assert set(handles(d.model)) == {"dpo", "cfo"}  # by type and by severity
    sitrep.comms.apply_escalation(
        inc.key, author="tester"
    )  # brings in the compliance, legal, pr, executives groups
    qtbot.waitUntil(lambda: set(handles(d.model)) == {"dpo", "cfo"}, timeout=3000)
    d.must_hear.setChecked(False)
    assert len(handles(d.model)) == 4


def test_a_contact_is_logged_with_someone_picked_from_the_registry(
    ctx, registry, sitrep, clock, qtbot, run_cli
):
    from ui.panels.stakeholder_log import ContactDialog, StakeholderLogPanel

    inc = sitrep.incidents.declare("Records exposed", "SEV1", author="tester", incident_type="data_breach")
    ctx.selection.set(inc)
    panel = StakeholderLogPanel(ctx)
    qtbot.addWidget(panel)
    dlg = panel.record_contact()
    assert isinstance(dlg, ContactDialog) and dlg.isVisible()
    # Those who must hear about this incident come first, starred.
    first = [dlg.picker.itemText(i) for i in range(2)]
    assert all(t.startswith("★ ") for t in first) and {"@dpo", "@cfo"} == {
        t.split("(")[1].split(")")[0] for t in first
    }
    dlg.picker.setEditText("@nobody")
    qtbot.mouseClick(dlg.add_button, Qt.MouseButton.LeftButton)
    assert "Nobody in the registry matches '@nobody'" in dlg.error_text("stakeholder")
    dlg.picker.setEditText("")
    # Part of a name is enough when only one entry has it. (Typed with setEditText: the completer's
    # popup would grab the keyboard, which the offscreen platform refuses with a warning.)
    dlg.picker.setEditText("authority")
    qtbot.keyClick(dlg.picker.lineEdit(), Qt.Key.Key_Return)
    assert dlg.who.text() == "Data Protection Authority desk (@dpa)"
    assert dlg.audience.currentData() == "regulators"  # from the stakeholder's group
    assert "+44 303 123 1113" in dlg.reach.text() and dlg.error_text("stakeholder") == ""
    dlg.picker.choose("cloudco")
    qtbot.mouseClick(dlg.add_button, Qt.MouseButton.LeftButton)
    assert dlg.who.text() == "Data Protection Authority desk (@dpa), CloudCo escalation (@cloudco)"
    assert dlg.audience.currentData() == "regulators"  # the first pick set it; a second does not move it
    # Someone not in the registry yet: added from the form, offered by the picker straight away.
    qtbot.mouseClick(dlg.registry_button, Qt.MouseButton.LeftButton)
    assert dlg.registry.isVisible() and dlg.registry.isModal()
    editor = dlg.registry.stakeholder_editor(None)
    editor.handle.setText("ico-duty")
    editor.name.setText("ICO duty officer")
    editor.group.setEditText("Regulators")
    assert editor.submit()
    dlg.registry.close()
    qtbot.waitUntil(
        lambda: any("@ico-duty" in dlg.picker.itemText(i) for i in range(dlg.picker.count())), timeout=3000
    )
    dlg.channel.setCurrentText("phone")
    dlg.at.setText("10m ago")
    # Content is required: the refusal is under the content box, and nothing is logged.
    assert not dlg.submit()
    assert dlg.error_text("content") == "Say what was said or agreed."
    assert sitrep.comms.log(inc.key) == []
    qtbot.keyClicks(dlg.content, "Preliminary notice expected within 72 h")
    qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)
    assert not dlg.isVisible()
    (row,) = sitrep.comms.log(inc.key)
    assert row.recipients == ["Data Protection Authority desk (@dpa)", "CloudCo escalation (@cloudco)"]
    assert (row.channel, row.audience, row.direction, row.author) == (
        "phone",
        "regulators",
        "outbound",
        "tester",
    )
    assert row.occurred_at == clock() - timedelta(minutes=10)
    assert panel.model.rowCount() == 1
    code, out, err = run_cli("comms", "log", inc.key, "--json")
    (cli_row,) = json.loads(out)
    assert (
        cli_row["recipients"] == row.recipients
        and cli_row["content"] == "Preliminary notice expected within 72 h"
    )


def test_the_console_lists_the_registry_and_contact_commands(ctx, registry, sitrep, qtbot):
    sitrep.incidents.declare("Records exposed", "SEV1", author="tester", incident_type="data_breach")
    window = main_window(ctx, qtbot)
    names = {a.text(): a for a in window.commands}
    assert names["Stakeholder registry…"].shortcut().toString() == "Ctrl+Shift+B"
    assert "Record a stakeholder contact…" in names
    names["Stakeholder registry…"].trigger()
    registry_dialog = ctx.stakeholder_registry
    assert registry_dialog.isVisible() and registry_dialog.model.rowCount() == 4
    names["Stakeholder registry…"].trigger()  # a second time brings the same one forward
    assert ctx.stakeholder_registry is registry_dialog
    registry_dialog.close()
    window.close()
