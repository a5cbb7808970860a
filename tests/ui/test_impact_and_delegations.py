"""Acceptance, in the console on the demo store (Sam Okafor at the keyboard): raising the affected share in
the declare dialog moves the proposed severity with its reason, a choice against it asks why, the header
shows the proposal; an expired delegation blocks an approval with a sentence naming it and its owner, and
the Delegations panel and its status-bar indicator flag it."""

from __future__ import annotations

import pytest
from console_kit import console_context, main_window

from models.enums import EntryKind, MessageState
from services.demo import demo_commander, seed_demo


@pytest.fixture
def demo(live_sitrep):
    sev1 = seed_demo(live_sitrep)
    return live_sitrep, sev1


@pytest.fixture
def ctx(demo, data_dir):
    sitrep, sev1 = demo
    ctx = console_context(sitrep, data_dir, author=demo_commander(sitrep, sev1))
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot):
    w = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.timeline", "ui.panels.delegations", "ui.panels.comms")
    w.show()
    qtbot.waitExposed(w)
    return w


def test_raising_the_affected_share_moves_the_proposed_severity_with_its_reason(window, ctx, qtbot):
    assert ctx.author == "sam.okafor"
    dialog = window.panels["header"].declare_incident()
    qtbot.waitExposed(dialog)
    assert "nothing yet" in dialog.proposal_label.text()
    qtbot.keyClicks(dialog.title_edit, "Login: sessions dropped")
    dialog.impact.journeys.setText("login")
    dialog.impact.affected.setValue(2)
    assert "Proposed <b>SEV3</b>: 2% of users on a core journey (login) ≥ 0.1%" in dialog.proposal_label.text()
    dialog.impact.affected.setValue(12)
    assert "Proposed <b>SEV2</b>: 12% of users on a core journey (login) ≥ 5%" in dialog.proposal_label.text()
    dialog.impact.affected.setValue(55)
    assert "Proposed <b>SEV1</b>: 55% of users on a core journey (login) ≥ 50%" in dialog.proposal_label.text()
    # The commander decides: a level against the proposal asks for a reason, said under its field.
    dialog.choose_severity("SEV2")
    assert dialog.reason.isEnabled() and "SEV2 is not the proposal" in dialog.proposal_label.text()
    dialog.ok_button.click()
    assert "goes against the impact model's proposal (SEV1: 55% of users" in dialog.error_text("severity_reason")
    qtbot.keyClicks(dialog.reason, "Only the EU login cluster; the US one is fine")
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: dialog.declared is not None)
    inc = dialog.declared
    declared, impact = ctx.sitrep.timeline.entries(inc.id)[:2]
    assert declared.data["severity_reason"] == "Only the EU login cluster; the US one is fine"
    assert impact.kind == EntryKind.IMPACT_CHANGE and impact.data["proposed"] == "SEV1"
    # The header follows the new incident and says the proposal differs.
    header = window.panels["header"]
    qtbot.waitUntil(lambda: header.incident is not None and header.incident.id == inc.id)
    assert header.proposal_label.isVisible()
    assert header.proposal_label.text().startswith("⚠ Impact proposes SEV1; the severity is SEV2: 55% of users")


def test_use_proposal_chooses_it_and_no_reason_is_asked(window, qtbot):
    dialog = window.panels["header"].declare_incident()
    dialog.impact.error_rate.setValue(7)
    assert dialog.use_proposal.isEnabled() and not dialog.reason.isEnabled()
    dialog.use_proposal.click()
    assert dialog.matrix.chosen() == "SEV2" and not dialog.reason.isEnabled() and not dialog.use_proposal.isEnabled()


def test_impact_updated_on_the_open_incident_moves_the_header(window, ctx, demo, qtbot):
    sitrep, sev1 = demo
    header = window.panels["header"]
    ctx.selection.set(sitrep.incidents.get(sev1.id))
    qtbot.waitUntil(lambda: header.incident is not None and header.incident.id == sev1.id)
    # Agreement costs no header line: it is said on the severity badge.
    assert not header.proposal_label.isVisible()
    assert header.severity_badge.accessibleDescription().startswith("Impact proposes SEV1, as set: error rate 23% ≥ 20%")
    assert "Impact proposes SEV1, as set" in header.severity_badge.toolTip()
    dialog = header.record_impact()
    dialog.fields.affected.setValue(3)
    dialog.fields.error_rate.setValue(2)
    assert "Proposed <b>SEV2</b>: revenue 4,200/min ≥ 1,000" in dialog.proposal.text()
    dialog.fields.revenue.setValue(-1)  # the lowest value reads "unknown"
    assert dialog.fields.revenue.text() == "unknown"
    assert "Proposed <b>SEV3</b>" in dialog.proposal.text() and "SEV1 is not the proposal" in dialog.proposal.text()
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: header.proposal_label.text().startswith("⚠ Impact proposes SEV3; the severity is SEV1"))
    assert header.proposal_label.isVisible() and header.proposal_label.font().bold()
    assert sitrep.timeline.entries(sev1.id)[-1].kind == EntryKind.IMPACT_CHANGE


def test_an_expired_delegation_blocks_the_approval_naming_it_and_its_owner(window, ctx, demo, qtbot):
    sitrep, _ = demo
    panel = window.panels["delegations"]
    assert panel.indicator.text() == "⚑ Delegations: 1 expired, 1 review overdue"
    assert "Sam Okafor's authority to approve external messages expired on" in panel.attention.text()
    sev2 = next(i for i in sitrep.incidents.list(open_only=True) if "notifications" in i.services)
    pending = [m for m in sitrep.comms.messages(sev2.id) if m.state is MessageState.PENDING_APPROVAL]
    assert len(pending) == 1
    said = []
    ctx.status_message = lambda text, error=False, **_: said.append(text)
    from ui.operations import run_action

    ok, _ = run_action(ctx, panel, sitrep.comms.approve, pending[0].ref, approver=ctx.author)
    assert not ok
    assert said[-1].startswith("Sam Okafor's authority to approve external messages expired on ")
    assert said[-1].endswith("(owner: Priya Nair); renew it in Delegations.")
    # In the console the whole sentence also stands beside the Approve button: the status bar of a 1366-px
    # screen cuts it after the owner's name.
    window.open_incident(sev2.id)
    window.open_panel(window.docks["comms"])
    comms = window.panels["comms"]
    qtbot.waitUntil(lambda: comms.incident is not None and comms.incident.id == sev2.id)
    comms._show_message(pending[0])
    comms.approve_button.click()
    assert comms.approval_label.text().startswith("✖ Sam Okafor's authority to approve external messages expired")
    assert comms.approval_label.text().endswith("renew it in Delegations.")
    assert sitrep.comms.get(pending[0].ref).state is MessageState.PENDING_APPROVAL
    # Sam is not its owner: the panel's review is refused in words, and Priya's renewal clears the flag.
    assert panel.select_holder("sam.okafor", "approve_external")
    review = panel.review("confirm")
    review.ok_button.click()
    assert "Only the delegation's owner, Priya Nair (@priya.nair), can confirm" in review.error_text("by")
    review.reject()
    d = panel.selected()
    sitrep.delegations.change(d.id, by="priya.nair", expires_on="2099-12-31", note="Back on the comms rota")
    qtbot.waitUntil(lambda: panel.indicator.text() == "⚑ Delegations: 1 review overdue")
    ok, approved = run_action(ctx, panel, sitrep.comms.approve, pending[0].ref, approver=ctx.author)
    assert ok and approved.state is MessageState.APPROVED
