"""The self-assessment panel and paper mode in the console, through their widgets against a real store:
the practices computed when the panel is shown, a practice answered by hand through the dialog, the
paper pack printed from the File menu's command and its status-bar notice when a change makes it stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_kit import console_context, main_window
from PySide6.QtWidgets import QToolButton

from services.assurance.assessment import MET, UNANSWERED
from ui.dialogs.assessment_answer import AnswerPracticeDialog
from ui.item_models.assurance import AreasModel, EvidenceModel, PracticesModel
from ui.panels import assessment as panel_module
from ui.panels.assessment import AssessmentPanel


@pytest.fixture
def ctx(sitrep, data_dir):
    ctx = console_context(sitrep, data_dir, author="ana")
    yield ctx
    ctx.notifier.close()


def test_the_models_are_well_behaved(qtmodeltester, sitrep, ctx, qtbot):
    sitrep.people.add("Ana Ruiz", "ana")
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    panel = AssessmentPanel(ctx)
    qtbot.addWidget(panel)
    panel.refresh()
    for model in (panel.areas, panel.practices, panel.evidence):
        qtmodeltester.check(model)
    assert isinstance(panel.areas, AreasModel) and isinstance(panel.practices, PracticesModel)
    assert isinstance(panel.evidence, EvidenceModel)


def test_shown_it_computes_and_a_hand_answer_counts(sitrep, ctx, qtbot, monkeypatch):
    sitrep.people.add("Ana Ruiz", "ana")
    panel = AssessmentPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.practices.rowCount() == 0  # nothing computed while hidden: the console starts fast
    panel.show()
    qtbot.waitUntil(lambda: panel.practices.rowCount() > 0)
    assert panel.practices.rowCount() == len(panel.service.book.practices)
    assert panel.areas.rowCount() == 4 and "not stored" in panel.caption.text()

    row = next(i for i, p in enumerate(panel.practices.rows) if p.id == "sre-pm-blameless")
    panel.practices_view.selectRow(row)
    assert panel.practices.rows[row].status == UNANSWERED

    def answer(dialog: AnswerPracticeDialog) -> int:
        dialog.status.setCurrentIndex(dialog.status.findData(MET))
        dialog.evidence.setPlainText("Every review read by a second person; lint findings fixed")
        assert dialog.submit()
        return 1

    monkeypatch.setattr(AnswerPracticeDialog, "exec", answer)
    panel.answer()
    done = next(p for p in panel.practices.rows if p.id == "sre-pm-blameless")
    assert done.status == MET and done.answered_by == "ana"

    panel.run_and_store()
    assert panel.shown.file and Path(panel.shown.file).is_file() and "Stored" in panel.caption.text()


def test_paper_mode_prints_and_says_when_the_copy_is_stale(sitrep, ctx, qtbot, monkeypatch, tmp_path):
    window = main_window(ctx, qtbot, "ui.panels.assessment")
    notice = window.findChild(QToolButton, "paper-notice")
    command = window.command("act-print-paper-pack")
    assert notice is not None and command is not None
    assert command in window.menus["File"].actions()
    out = tmp_path / "pack.pdf"
    monkeypatch.setattr(panel_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "PDF (*.pdf)"))
    command.trigger()
    assert out.stat().st_size > 10_000
    qtbot.waitUntil(lambda: getattr(notice, "status", None) is not None and notice.status.printed_at is not None)
    assert notice.isHidden() and "up to date" in notice.toolTip()

    sitrep.people.add("Bob Chen", "bob", phone="+1 212 555 0187")  # a change notice: people
    qtbot.waitUntil(lambda: not notice.isHidden())
    assert notice.text() == "⚠ Paper pack out of date" and "Responders" in notice.toolTip()
    notice.click()  # prints a fresh one
    qtbot.waitUntil(lambda: notice.isHidden())


def test_export_writes_the_report_with_the_toolchain_review(sitrep, ctx, qtbot, monkeypatch, tmp_path):
    panel = AssessmentPanel(ctx)
    qtbot.addWidget(panel)
    panel.refresh()
    out = tmp_path / "assessment.md"
    monkeypatch.setattr(panel_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "Markdown (*.md)"))
    panel.export()
    text = out.read_text(encoding="utf-8")
    assert "# Incident response self-assessment" in text and "## Toolchain interoperability review" in text
    bad = tmp_path / "assessment.docx"
    monkeypatch.setattr(panel_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(bad), ""))
    panel.export()  # refused in words (the status bar), nothing written
    assert not bad.exists()
