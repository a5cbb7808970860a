"""The communications and stakeholder-log panels, driven through their widgets (offscreen)."""

from __future__ import annotations

import pytest

from models.enums import MessageState
from services.storage.paths import resolve_paths
from tests.comms.conftest import DRAFTER, IC, configure_email, configure_slack, configure_statuspage
from ui.console import build_context


@pytest.fixture
def ctx_for(app, data_dir, qtbot):
    contexts = []

    def make(author: str):
        paths = resolve_paths(data_dir)
        paths.create()
        ctx = build_context(app, paths=paths, author=author)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.notifier.close()


def _panel(qtbot, ctx, incident):
    from ui.panels.comms import CommsPanel

    ctx.selection.set(incident)
    panel = CommsPanel(ctx)
    qtbot.addWidget(panel)
    return panel


def test_models_pass_the_model_tester(app, sev1, qtmodeltester, fake_slack):
    from ui.item_models.comms import DeliveriesModel, LogModel, MessagesModel

    configure_slack(app, fake_slack)
    m = app.comms.draft(
        sev1.key, "status_update", author=DRAFTER, channels=["slack"], fields={"what_changed": "x"}
    )
    app.comms.send(m.ref, author=DRAFTER)
    app.comms.draft(sev1.key, "initial", author=DRAFTER)
    messages = MessagesModel()
    messages.set_rows(app.comms.messages(sev1.key))
    qtmodeltester.check(messages)
    deliveries = DeliveriesModel()
    deliveries.set_rows(app.comms.deliveries(m.ref))
    qtmodeltester.check(deliveries)
    log = LogModel()
    rows = app.comms.log(sev1.key)
    log.set_log(rows, app.comms.incident_keys(r.incident_id for r in rows), app.comms.log_delivery(rows))
    qtmodeltester.check(log)
    assert log.rowCount() == 1 and messages.rowCount() == 2


def test_draft_preview_limits_and_an_approval_the_panel_cannot_bypass(
    app, sev1, qtbot, ctx_for, fake_slack, fake_sp, smtp, clock
):
    configure_slack(app, fake_slack)
    configure_statuspage(app, fake_sp)
    configure_email(app, smtp)
    panel = _panel(qtbot, ctx_for(DRAFTER), sev1)
    panel.template_combo.setCurrentIndex(panel.template_combo.findData("initial"))
    panel.new_button.click()
    m = panel.message
    assert m is not None and m.template_id == "initial" and panel.messages_model.rowCount() == 1
    assert "Symptom" in panel.problems_label.text()  # a required field is empty
    panel.field_widgets["symptom"].setText("Checkout is failing for some customers")
    panel.recipient_edits.edits["email_to"].setText("customers@example.com")
    qtbot.waitUntil(lambda: "limits are met" in panel.problems_label.text(), timeout=3000)
    assert "Checkout is failing for some customers" in panel.preview_tabs.main_text("slack")
    assert "Checkout is failing for some customers" in panel.preview_tabs.main_text("email")
    assert "Investigating" in panel.preview_tabs.main_text("statuspage")
    # Limits as you type: a status page title over 255 characters.
    panel.field_widgets["symptom"].setText("x" * 300)
    qtbot.waitUntil(lambda: "holds 255 characters" in panel.problems_label.text(), timeout=3000)
    panel.field_widgets["symptom"].setText("Checkout is failing for some customers")
    panel.save_button.click()
    # The drafter is not the commander: Send and Approve are refused by the services.
    panel.send_button.click()
    assert app.comms.get(m.id).state is MessageState.DRAFT
    panel.approve_button.click()
    assert app.comms.get(m.id).state is MessageState.DRAFT and app.comms.log(sev1.key) == []
    # The commander approves in their own console.
    ic_panel = _panel(qtbot, ctx_for(IC), sev1)
    ic_panel.messages_view.selectRow(0)
    assert ic_panel.message.id == m.id
    ic_panel.approve_button.click()
    assert app.comms.get(m.id).state is MessageState.APPROVED
    panel.reload()
    assert "Approved by ana" in panel.approval_label.text()
    panel.send_button.click()
    assert app.comms.get(m.id).state is MessageState.SENT
    assert {d.state for d in panel.deliveries_model.rows} == {"queued"}
    assert "OVERDUE" not in panel.next_update.text() and "Next update due" in panel.next_update.text()
    clock.advance(minutes=25)  # SEV1: an update every 20 minutes
    panel._update_clocks()
    assert "Update OVERDUE by 5 min" in panel.next_update.text()


def test_the_stakeholder_log_panel_filters_and_exports(app, sev1, qtbot, ctx_for, tmp_path):
    from services.comms.views import ContactInput
    from ui.panels.stakeholder_log import StakeholderLogPanel

    app.comms.record_contact(
        sev1.key, ContactInput("phone", "regulators", "Called the DPA", recipients=["DPA"]), author=IC
    )
    app.comms.record_contact(
        sev1.key,
        ContactInput("email", "vendors", "CloudCo confirmed the fault", direction="inbound"),
        author=IC,
    )
    ctx = ctx_for(IC)
    ctx.selection.set(sev1)
    panel = StakeholderLogPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.model.rowCount() == 2
    panel.search.setText("cloudco")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=3000)
    panel.view.selectRow(0)
    assert "CloudCo confirmed the fault" in panel.detail.toPlainText()
    assert panel.export("csv", str(tmp_path / "log.csv"))
    assert "CloudCo" in (tmp_path / "log.csv").read_text() and "DPA" not in (tmp_path / "log.csv").read_text()
    assert panel.export("pdf", str(tmp_path / "log.pdf"))
    assert (tmp_path / "log.pdf").read_bytes().startswith(b"%PDF")
