"""The vendor cases panel, driven through its widgets against a real store on a FakeClock: open a case in the
dialog, watch its response time run out (red, BREACHED, recorded on the timeline by the clock check), climb
the ladder (a draft to the next level), record a reply, and a refusal that keeps what was typed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from console_kit import console_context, main_window
from PySide6.QtCore import Qt

from models.enums import EntryKind
from services.core import Sitrep
from ui.dialogs.vendor_case import OpenCaseDialog, RegisterDialog, ReplyDialog
from ui.item_models.vendors import BREACHED, COL_RESPONSE, COL_STATE, VendorCasesModel
from ui.panels.vendors import VendorCasesPanel


@pytest.fixture
def ctx(sitrep, data_dir):
    sitrep.people.add("Sam Okafor", "sam.okafor", email="sam@example.com")
    ctx = console_context(sitrep, data_dir, author="sam.okafor")
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def inc(sitrep):
    return sitrep.incidents.declare("Card payments failing", "SEV1", author="sam.okafor")


@pytest.fixture
def panel(ctx, inc, qtbot):
    p = VendorCasesPanel(ctx)
    qtbot.addWidget(p)
    p.set_incident(inc)
    p.show()
    yield p
    p.shutdown()


def test_the_model_passes_qt_checks(sitrep, clock, inc, qtmodeltester):
    sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor")
    model = VendorCasesModel(clock)
    model.set_rows(sitrep.vendors.cases())
    qtmodeltester.check(model)


def test_open_a_case_watch_it_breach_climb_and_reply(panel, sitrep, clock, inc, ctx, qtbot):
    dialog = OpenCaseDialog(ctx, inc, panel)
    qtbot.addWidget(dialog)
    dialog.vendor.setCurrentIndex(dialog.vendor.findData("meridian"))
    dialog.priority.setCurrentIndex(dialog.priority.findData("P1"))
    assert dialog.terms.text() == "Response within 15 min; resolution within 240 min."
    dialog.ticket.setText("MP-88231")
    assert dialog.submit()
    panel.refresh()
    m = panel.proxy
    assert m.rowCount() == 1 and m.index(0, 0).data() == "VND-0001"
    assert "response due in 15 min" in m.index(0, COL_STATE).data()

    clock.advance(minutes=16)
    panel.refresh()
    assert m.index(0, COL_RESPONSE).data().endswith("BREACHED")
    assert m.index(0, COL_RESPONSE).data(Qt.ItemDataRole.ForegroundRole).color() == BREACHED
    assert "Meridian Payments P1 response (VND-0001): due" in panel.detail.toPlainText()
    # The panel asked the clock check to record it, as the header does for the severity clocks: once.
    breaches = [e for e in sitrep.timeline.entries(inc.id) if e.kind == EntryKind.CLOCK_BREACH.value and "VND-0001" in e.body]
    assert len(breaches) == 1 and breaches[0].occurred_at == clock() - timedelta(minutes=1)
    entries_before = len(sitrep.timeline.entries(inc.id))
    panel.refresh()
    assert len(sitrep.timeline.entries(inc.id)) == entries_before and sitrep.clocks.check(inc.id) == []

    clock.advance(minutes=5)  # 21 min without an answer: level 2 is due after 20
    panel.refresh()
    assert "climb to L2 now" in m.index(0, COL_STATE).data()
    qtbot.mouseClick(panel.buttons["vendor-climb"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "L2 Duty incident manager" in (m.index(0, 7).data() or ""))
    (draft,) = sitrep.comms.messages(inc.id)
    assert draft.template_id == "vendor_escalation" and draft.recipients["email_to"] == ["duty-manager@meridian-payments.example"]
    assert "▶ L2 Duty incident manager" in panel.detail.toPlainText()

    reply = ReplyDialog(ctx, panel.current_case(), panel)
    qtbot.addWidget(reply)
    reply.show()
    assert not reply.submit()  # nothing typed: refused, under the field
    assert "Say what the vendor answered" in reply.error_text("text")
    reply.text.setPlainText("Duty manager joining the bridge")
    assert reply.submit()
    panel.refresh()
    assert "Reply from Meridian Payments on VND-0001" in panel.detail.toPlainText()
    assert panel.buttons["vendor-climb"].isEnabled()


def test_a_refused_register_edit_keeps_the_text_and_the_file(data_dir, clock, qtbot):
    config = data_dir / "config"
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=config, now=clock)
    ctx = console_context(app, data_dir, author="sam.okafor")
    try:
        dialog = RegisterDialog(ctx)
        qtbot.addWidget(dialog)
        dialog.show()
        original = dialog.editor.toPlainText()
        assert "[vendor.meridian]" in original
        dialog.editor.setPlainText("[vendor.x]\nname = 'X'\n")
        assert not dialog.submit()
        assert "not saved: vendor 'x': 'contract' is missing" in dialog.error_text("register")
        assert dialog.editor.toPlainText() == "[vendor.x]\nname = 'X'\n" and not (config / "vendors.toml").exists()
        dialog.editor.setPlainText(original.replace('response_min = 15', 'response_min = 10'))
        assert dialog.submit()
        assert app.vendors.register.vendors["meridian"].terms("P1").response_min == 10
        assert app.vendors.register.source == config / "vendors.toml"
    finally:
        ctx.notifier.close()
        app.close()


def test_the_panel_is_in_the_console_and_reached_from_the_keyboard(ctx, inc, qtbot):
    window = main_window(ctx, qtbot)
    names = [a.text() for a in window.commands]
    assert {"Vendor cases", "Open vendor case…", "Edit vendor register…"} <= set(names)
    assert window.specs["vendors"].shortcut == "Ctrl+Alt+V"
    window.show()
    qtbot.waitExposed(window)
    assert window.show_panel("vendors")
    qtbot.waitUntil(lambda: window.focusWidget() is not None and window.focusWidget().objectName() == "vendor-cases-table")
