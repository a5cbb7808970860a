"""The regulatory clocks panel, driven through its widgets against a real store on a FakeClock: apply the
escalation path (awareness backdated), watch a clock count down and change colour, start a waiting
clock, close clocks as met and withdrawn; the records are what `sitrep comms clocks` shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from console_kit import console_context, main_window
from PySide6.QtCore import Qt

from models.enums import ClockState
from models.types import iso
from ui.item_models.regulatory import (
    COL_DUE_UTC,
    COL_JURISDICTION,
    COL_LABEL,
    COL_LEFT,
    RegulatoryClocksModel,
    both_times,
    clock_reading,
)
from ui.panels.regulatory import RegulatoryPanel
from ui.severity import BREACH_COLOURS, MET_COLOURS, WARNING_COLOURS

SEC, GDPR, NIS2_EARLY, NIS2_FULL, DORA = (
    "sec_8k_item_1_05", "gdpr_sa", "nis2_early_warning", "nis2_notification", "eu_dora_initial",
)  # fmt: skip


@pytest.fixture
def ctx(sitrep, data_dir):
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def breach(sitrep, clock):
    return sitrep.incidents.declare("Customer records exposed", "SEV1", author="tester",
                                    incident_type="data_breach", detected_at=clock() - timedelta(hours=2))  # fmt: skip


@pytest.fixture
def panel(ctx, breach, qtbot):
    ctx.selection.set(breach)
    p = RegulatoryPanel(ctx)
    qtbot.addWidget(p)
    p.show()
    yield p
    p.shutdown()


def cell(panel: RegulatoryPanel, rule_id: str, column: int, role=Qt.ItemDataRole.DisplayRole):
    m = panel.model
    return m.data(m.index(m.row_of(rule_id), column), role)


def test_the_model_passes_the_model_tester(qtmodeltester, sitrep, breach, clock):
    model = RegulatoryClocksModel(clock, lambda c: c.rule.get("jurisdiction", ""))
    qtmodeltester.check(model)
    model.set_clocks(sitrep.comms.apply_escalation(breach.key, author="tester"))
    qtmodeltester.check(model)
    assert model.rowCount() == 5
    model.tick()


def test_escalate_count_down_start_and_close_clocks(panel, sitrep, breach, clock, qtbot, run_cli):
    assert panel.escalate_button.isVisibleTo(panel) and "not applied yet" in panel.path_label.text()
    assert panel.model.rowCount() == 0 and panel.indicator.isHidden()
    assert "needs review by counsel" in panel.review.text()

    # Apply the escalation path, with awareness backdated: first refused for a time in the future.
    dialog = panel.apply_escalation()
    assert (
        dialog.isVisible()
        and "Suspected personal-data breach" in dialog.findChild(object, "escalation-intro").text()
    )
    dialog.aware.setText(iso(clock() + timedelta(hours=1)))
    assert not dialog.submit()
    assert dialog.error_text("aware_at") == "Awareness cannot be in the future."
    dialog.aware.setText("3h ago")
    assert dialog.aware.preview.text()  # the time it was read as, before it is saved
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    aware = clock() - timedelta(hours=3)
    assert panel.model.rowCount() == 5 and not panel.escalate_button.isVisibleTo(panel)
    assert [panel.model.clock(r).rule_id for r in range(5)][:3] == [
        NIS2_EARLY,
        GDPR,
        NIS2_FULL,
    ]  # most urgent first
    assert cell(panel, NIS2_EARLY, COL_LEFT) == "21:00:00 left"
    assert cell(panel, NIS2_EARLY, COL_DUE_UTC) == "Sun 15 Mar 06:00 UTC"
    assert (
        cell(panel, GDPR, COL_JURISDICTION) == "EU / EEA"
        and cell(panel, SEC, COL_JURISDICTION) == "US (SEC registrants)"
    )
    assert cell(panel, GDPR, COL_LEFT) == "2d 21:00:00 left"
    assert cell(panel, SEC, COL_LEFT) == "Waiting for: incident determined material"
    assert "needs review by counsel" in cell(panel, GDPR, COL_LABEL, Qt.ItemDataRole.ToolTipRole)
    assert panel.model.clock(panel.model.row_of(GDPR)).deadline_at == aware + timedelta(hours=72)
    assert not panel.indicator.isHidden()
    assert (
        panel.indicator.text() == "⚖ NIS2: early warning: 21:00:00 left"
        and panel.indicator.state == "running"
    )

    # The countdown follows the clock each second: amber in the last quarter of its 24 h, red once past.
    clock.advance(hours=15, seconds=1)
    # The status bar's chip is rewritten only by the panel's one-second tick, and the table is told to
    # repaint by it (dataChanged): waiting for both shows the timer runs, not just that the text is right.
    with qtbot.waitSignal(panel.model.dataChanged, timeout=3000):
        pass
    qtbot.waitUntil(lambda: panel.indicator.text() == "⚖ NIS2: early warning: 5:59:59 left", timeout=3000)
    assert cell(panel, NIS2_EARLY, COL_LEFT) == "5:59:59 left"
    assert (
        cell(panel, NIS2_EARLY, COL_LEFT, Qt.ItemDataRole.BackgroundRole).color().name() == WARNING_COLOURS[0]
    )
    assert cell(panel, GDPR, COL_LEFT, Qt.ItemDataRole.BackgroundRole) is None  # 2 days left of 3: not yet
    assert panel.indicator.state == "warning"
    clock.advance(hours=6)
    qtbot.waitUntil(lambda: panel.indicator.text() == "⚖ NIS2: early warning: OVERDUE 0:01", timeout=3000)
    assert cell(panel, NIS2_EARLY, COL_LEFT) == "OVERDUE 0:01"
    assert (
        cell(panel, NIS2_EARLY, COL_LEFT, Qt.ItemDataRole.BackgroundRole).color().name() == BREACH_COLOURS[0]
    )
    assert panel.indicator.state == "overdue"

    # ...and the missed deadline is on the record once, dated when it passed.
    def breaches():
        return [e for e in sitrep.timeline.entries(breach.id) if e.kind == "clock_breach"
                and (e.data or {}).get("regulatory_clock") == NIS2_EARLY]  # fmt: skip

    qtbot.waitUntil(lambda: len(breaches()) == 1, timeout=3000)
    (missed,) = breaches()
    assert missed.body.startswith("Regulatory deadline passed: NIS2: early warning was due")
    assert missed.occurred_at == panel.model.clock(panel.model.row_of(NIS2_EARLY)).deadline_at
    assert sitrep.comms.record_overdue_clocks(breach.id) == []  # another console, later: nothing twice

    # Start the waiting SEC clock: the materiality decision, 30 minutes ago. A future trigger is refused.
    panel.select(SEC)
    start = panel.start_clock()
    assert start.rule_id() == SEC and "4 business days" in start.rule_text.text()
    start.at.setText(iso(clock() + timedelta(minutes=5)))
    assert not start.submit() and start.error_text("at") == "A trigger cannot be in the future."
    start.at.setText("30m ago")
    # Sunday 15 March 05:30 UTC: four US business days later is Thursday 19 March, 17:30 in New York (EDT).
    due = datetime(2026, 3, 19, 21, 30, tzinfo=UTC)
    assert both_times(due) in start.due.text()
    start.note.setText("Board minute 12: material")
    qtbot.mouseClick(start.ok_button, Qt.MouseButton.LeftButton)
    sec = panel.model.clock(panel.model.row_of(SEC))
    assert (sec.state, sec.trigger_at, sec.deadline_at, sec.note) == (
        ClockState.RUNNING, clock() - timedelta(minutes=30), due, "Board minute 12: material")  # fmt: skip
    assert panel.selected().rule_id == SEC

    # Close GDPR as met, with the notice's reference; the detail shows it.
    panel.select(GDPR)
    close = panel.close_clock("met")
    assert close.choice.currentData() == GDPR and close.outcome() == "met"
    close.at.setText("5m ago")
    close.note.setText("ICO case 12345, submitted through the portal")
    assert close.late.text() == ""
    qtbot.mouseClick(close.ok_button, Qt.MouseButton.LeftButton)
    gdpr = panel.model.clock(panel.model.row_of(GDPR))
    assert (gdpr.state, gdpr.met_at, gdpr.note, gdpr.closed_by) == (
        ClockState.MET, clock() - timedelta(minutes=5), "ICO case 12345, submitted through the portal", "tester")  # fmt: skip
    assert clock_reading(gdpr, clock())[1] == "met"
    assert cell(panel, GDPR, COL_LEFT, Qt.ItemDataRole.BackgroundRole).color().name() == MET_COLOURS[0]
    assert "Reference: ICO case 12345" in panel.detail.toPlainText()

    # The overdue early warning is met late: the dialog says so before it is saved.
    close = panel.close_clock("met")
    close.choice.setCurrentIndex(close.choice.findData(NIS2_EARLY))
    assert "after the deadline" in close.late.text()
    close.reject()

    # Withdrawn needs counsel's reason, asked for under the reason box.
    panel.select(NIS2_FULL)
    close = panel.close_clock("withdrawn")
    assert close.choice.currentData() == NIS2_FULL and close.withdrawn.isChecked()
    assert not close.submit()
    assert "counsel" in close.error_text("note")
    close.note.setText("Not an essential or important entity under NIS2 (counsel, 15 Mar)")
    assert close.submit()
    assert panel.model.clock(panel.model.row_of(NIS2_FULL)).state is ClockState.WITHDRAWN

    # The command line shows the same records.
    code, out, err = run_cli("comms", "clocks", breach.key, "--json")
    assert code == 0, err
    cli = {c["rule_id"]: c for c in json.loads(out)}
    for c in panel.model.rows:
        assert {k: cli[c.rule_id][k] for k in ("state", "trigger_at", "deadline_at", "met_at", "note", "closed_by")} == {
            "state": c.state.value, "trigger_at": iso(c.trigger_at), "deadline_at": iso(c.deadline_at),
            "met_at": iso(c.met_at), "note": c.note, "closed_by": c.closed_by,
        }  # fmt: skip
    assert cli[GDPR]["state"] == "met" and cli[GDPR]["note"].startswith("ICO case 12345")
    assert cli[SEC]["deadline_at"] == iso(due)


def test_an_incident_without_a_path_can_still_start_a_clock(ctx, sitrep, clock, qtbot):
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="tester", incident_type="service_outage")
    ctx.selection.set(inc)
    panel = RegulatoryPanel(ctx)
    qtbot.addWidget(panel)
    assert "starts no regulatory clocks" in panel.path_label.text() and not panel.escalate_button.isVisibleTo(
        panel
    )
    assert not panel.met_button.isEnabled() and panel.start_button.isEnabled()
    start = panel.start_clock()
    start.choice.setCurrentIndex(start.choice.findData("hipaa_individuals"))
    assert "60 calendar days" in start.rule_text.text()
    assert start.submit()
    hipaa = panel.model.clock(0)
    assert hipaa.rule_id == "hipaa_individuals" and hipaa.deadline_at == clock() + timedelta(days=60)
    assert panel.indicator.text().startswith("⚖ HIPAA: notify affected individuals: 60d 00:00:00")
    panel.shutdown()


def test_the_console_has_the_panel_and_its_commands(ctx, sitrep, breach, qtbot):
    window = main_window(ctx, qtbot)
    window.reload_incidents(select=breach.id)
    names = {a.text(): a for a in window.commands}
    go = names["Go to Regulatory clocks"]
    assert go.shortcut().toString() == "Ctrl+Shift+G"
    for name in ("Apply escalation path…", "Start a regulatory clock…", "Regulatory notice made (close clock)…",
                 "Withdraw a regulatory clock…"):  # fmt: skip
        assert name in names
    go.trigger()
    assert not window.docks["regulatory"].isHidden()
    names["Apply escalation path…"].trigger()
    dialog = window.panels["regulatory"].dialog
    assert dialog.isVisible()
    dialog.aware.setText("1h ago")
    assert dialog.submit()
    assert window.panels["regulatory"].model.rowCount() == 5
    # The communications panel's 'Regulatory clocks…' button brings the panel forward.
    window.docks["regulatory"].hide()
    window.panels["comms"].open_regulatory_clocks()
    assert not window.docks["regulatory"].isHidden()
    window.close()


def test_a_broken_rules_file_is_said_in_the_panel_and_the_console_still_opens(data_dir, clock, qtbot):
    from services.core import Sitrep

    config = data_dir / "config"
    config.mkdir(exist_ok=True)
    (config / "escalation.toml").write_text(
        '[type.intrusion]\nlabel = "X"\ngroups = ["legal"]\nclocks = []\n'
    )
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=config, now=clock)
    ctx = console_context(app, data_dir)
    try:
        inc = app.incidents.declare(
            "Customer records exposed", "SEV1", author="tester", incident_type="data_breach"
        )
        window = main_window(ctx, qtbot)  # every panel, the regulatory one included
        window.reload_incidents(select=inc.id)
        panel = window.panels["regulatory"]
        assert (
            "cannot be read" in panel.review.text()
            and "'intrusion' is not an incident type" in panel.review.text()
        )
        assert not panel.start_button.isEnabled()
        assert window.panels["timeline"].model.rowCount() >= 1  # the rest of the console works
        for p in window.panels.values():
            if hasattr(p, "shutdown"):
                p.shutdown()
    finally:
        ctx.notifier.close()
        app.close()
