"""The runbooks panel on a checkout incident: the rollback is suggested, its diagnostic passes on a worker
thread, the destructive step refuses before its dry run, shows the diff, asks for the target's name and runs
for real through ansible-runner on localhost, streaming its output; the runbooks view flags an overdue drill."""

from __future__ import annotations

import pytest
from console_kit import console_context
from PySide6.QtWidgets import QInputDialog

from models.enums import EntryKind
from services.runbooks.service import DRY_RUN_PASSED, PASSED
from ui.panels.runbooks import RunbooksPanel

pytest.importorskip("ansible_runner")


@pytest.fixture
def panel(sitrep, data_dir, qtbot):
    sitrep.people.add("Ines Commander", "tester")
    inc = sitrep.incidents.declare("Checkout errors after deploy", "SEV2", author="tester", services=["checkout"])
    ctx = console_context(sitrep, data_dir)
    p = RunbooksPanel(ctx)
    qtbot.addWidget(p)
    p.set_incident(inc)
    p.resize(1000, 700)
    p.show()
    yield p
    p.wait_for_job()
    ctx.notifier.close()


def test_the_rollback_runs_through_its_gates_in_the_panel(panel, qtbot, monkeypatch, sitrep):
    assert panel.choice.itemData(0) in ("deploy-rollback", "cache-flush")
    panel.choice.setCurrentIndex(panel.choice.findData("deploy-rollback"))
    assert panel.choice.currentText().startswith("★ ")
    panel.start_button.click()
    assert panel.run is not None and panel.steps.rowCount() == 5
    panel.steps.selectRow(1)
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.control is None and panel.run.state_of(2).state == PASSED, timeout=120_000)

    panel.steps.selectRow(2)
    assert not panel.run_button.isEnabled() and panel.real_button.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("checkout-prod", True))
    panel.real_button.click()
    assert "Refused" in panel.output.toPlainText() and "dry run" in panel.output.toPlainText()

    panel.dry_button.click()
    qtbot.waitUntil(lambda: panel.control is None and panel.run.state_of(3).state == DRY_RUN_PASSED, timeout=120_000)
    assert "+release 41" in panel.diff.toPlainText()

    panel.real_button.click()
    qtbot.waitUntil(lambda: "PLAY RECAP" in panel.output.toPlainText(), timeout=120_000)
    qtbot.waitUntil(lambda: panel.control is None and panel.run.state_of(3).state == PASSED, timeout=120_000)
    entries = [e for e in sitrep.timeline.entries(panel.incident.id) if e.kind == EntryKind.RUNBOOK_STEP_RESULT]
    assert entries and all(e.data["commit"] == panel.run.provenance.commit for e in entries)


def test_the_runbooks_view_flags_an_overdue_drill(panel):
    flags = {panel.view.item(r, 0).text(): panel.view.item(r, 6).text() for r in range(panel.view.rowCount())}
    assert "never drilled" in flags["Deploy rollback"]
