"""The self-assessment against NIST CSF 2.0 and the SRE practices: maturity per area with its trend, every
practice with what the record (or a person's answer) shows and the records behind it, the toolchain
review, and paper mode (File ▸ Print paper pack…, and a status-bar notice when the last printed pack is
older than a change to what it shows). The same services as `sitrep assess`, `sitrep toolchain review`
and `sitrep paper`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.assurance.assessment import HAND, Assessment, AssessmentService
from services.assurance.paper import build_pack, paper_status, record_print
from services.assurance.report import (
    assessment_html,
    assessment_markdown,
    headline,
    toolchain_page,
    write_document,
)
from services.assurance.toolchain import review_toolchain
from services.changes import Change
from ui.dialogs.assessment_answer import AnswerPracticeDialog
from ui.forms import QuietLabel
from ui.item_models.assurance import AreasModel, EvidenceModel, PracticesModel
from ui.item_models.rows import ROW_ROLE
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.printing import write_pdf

PAPER_CHECK_MS = 30_000  # the config files can change under a running console; the store's changes come as notices


def _table(model, parent: QWidget, name: str) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.verticalHeader().hide()
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


class AssessmentPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("assessment-panel")
        self.service: AssessmentService | None = None
        self.shown: Assessment | None = None
        self.caption = QuietLabel("The assessment is computed when this panel is first shown.", self)
        self.caption.setObjectName("assessment-caption")
        self.caption.setWordWrap(True)
        buttons = QHBoxLayout()
        for text, name, slot in (("&Refresh", "assessment-refresh", self.refresh),
                                 ("Run and &store", "assessment-run", self.run_and_store),
                                 ("Answer by &hand…", "assessment-answer", self.answer),
                                 ("E&xport report…", "assessment-export", self.export)):  # fmt: skip
            b = QPushButton(text, self)
            b.setObjectName(name)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.areas = AreasModel(self)
        self.practices = PracticesModel(self)
        self.evidence = EvidenceModel(self)
        self.areas_view = _table(self.areas, self, "assessment-areas")
        self.practices_view = _table(self.practices, self, "assessment-practices")
        self.practices_view.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._show_evidence(cur.row()))
        self.practices_view.doubleClicked.connect(lambda _i: self.answer())
        self.evidence_view = _table(self.evidence, self, "assessment-evidence")
        self.evidence_view.doubleClicked.connect(self._open_evidence)
        self.practice_text = QLabel("", self)
        self.practice_text.setObjectName("assessment-practice-text")
        self.practice_text.setWordWrap(True)
        below = QWidget(self)
        below_lay = QVBoxLayout(below)
        below_lay.setContentsMargins(0, 0, 0, 0)
        below_lay.addWidget(self.practice_text)
        below_lay.addWidget(self.evidence_view, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.practices_view)
        split.addWidget(below)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        practices_tab = QWidget(self)
        tab_lay = QVBoxLayout(practices_tab)
        tab_lay.setContentsMargins(0, 0, 0, 0)
        tab_lay.addWidget(self.areas_view)
        tab_lay.addWidget(split, 1)
        self.toolchain = QTextBrowser(self)
        self.toolchain.setObjectName("assessment-toolchain")
        self.tabs = QTabWidget(self)
        self.tabs.addTab(practices_tab, "&Practices")
        self.tabs.addTab(self.toolchain, "&Toolchain review")
        self.tabs.currentChanged.connect(lambda i: i == 1 and self.refresh_toolchain())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.caption)
        lay.addLayout(buttons)
        lay.addWidget(self.tabs, 1)
        self._computed = False
        self._install_commands()
        self.paper_notice = PaperNotice(ctx, self)

    def focus_target(self) -> QWidget:
        return self.practices_view

    def _install_commands(self) -> None:
        if self.ctx.shell is None:
            return
        act = QAction("Self-assessment (NIST CSF / SRE)", self)
        act.setObjectName("act-open-assessment")
        act.triggered.connect(lambda: self.ctx.shell.show_panel("assessment"))
        self.ctx.add_command(act, "Review")
        tools = QAction("Toolchain interoperability review", self)
        tools.setObjectName("act-toolchain-review")
        tools.triggered.connect(self.show_toolchain)
        self.ctx.add_command(tools, "Review")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._computed:
            self._computed = True
            QTimer.singleShot(0, self.refresh)

    def _service(self) -> AssessmentService | None:
        if self.service is None:
            ok, svc = read_or_say(self.ctx, AssessmentService, self.ctx.sitrep, self.ctx.paths.data,
                                  self.ctx.paths.config)  # fmt: skip
            self.service = svc if ok else None
        return self.service

    # -- the assessment ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """What an assessment says now, compared with the newest stored one; nothing is stored."""
        svc = self._service()
        if svc is None:
            return
        ok, result = read_or_say(self.ctx, svc.evaluate, author=self.ctx.author)
        if ok:
            self._show(result, stored=False)

    def run_and_store(self) -> None:
        svc = self._service()
        if svc is None:
            return
        ok, result = run_action(self.ctx, self, svc.run, author=self.ctx.author)
        if ok:
            self._show(result, stored=True)
            self.ctx.status_message(f"Assessment stored in {result.file}.")

    def _show(self, result: Assessment, *, stored: bool) -> None:
        self.shown = result
        taken = result.taken_at[:16].replace("T", " ")
        since = (f"compared with the assessment of {result.previous_taken_at[:16].replace('T', ' ')} UTC"
                 if result.previous_taken_at else "no earlier assessment stored")  # fmt: skip
        what = "Stored" if stored else "Now (not stored: Run and store keeps it)"
        self.caption.setText(f"{what}, {taken} UTC, record since {result.period_from[:10]}; {since}. "
                             f"{len(result.met())} met, {len(result.missed())} missed or not shown.")  # fmt: skip
        self.caption.setToolTip(headline(result))
        keep = self._current_practice()
        self.areas.set_rows(list(result.areas))
        order = {a.id: n for n, a in enumerate(result.areas)}
        self.practices.set_rows(sorted(result.practices, key=lambda p: (p.status == "met", order.get(p.area, 99))))
        self.areas_view.resizeColumnsToContents()
        self.areas_view.resizeRowsToContents()
        # The four areas whole and no more: the rest of the height is the practices'.
        rows_h = sum(self.areas_view.rowHeight(r) for r in range(self.areas.rowCount()))
        self.areas_view.setFixedHeight(self.areas_view.horizontalHeader().height() + rows_h
                                       + 2 * self.areas_view.frameWidth() + 2)  # fmt: skip
        self.practices_view.resizeColumnsToContents()
        header = self.practices_view.horizontalHeader()
        header.resizeSection(3, min(header.sectionSize(3), max(320, self.width() // 2)))
        rows = self.practices.rows
        row = next((i for i, p in enumerate(rows) if keep and p.id == keep.id), 0 if rows else -1)
        if row >= 0:
            self.practices_view.selectRow(row)
            self._show_evidence(row)

    def _current_practice(self):
        index = self.practices_view.currentIndex()
        return self.practices.data(index, ROW_ROLE) if index.isValid() else None

    def _show_evidence(self, row: int) -> None:
        p = self.practices.row_at(row)
        if p is None:
            self.practice_text.setText("")
            self.evidence.set_rows([])
            return
        how = "answered from the record" if p.answer != HAND else (
            f"answered by {p.answered_by} at {p.answered_at[:16].replace('T', ' ')} UTC" if p.answered_by
            else "to be answered by hand: Answer by hand… (or double-click)")  # fmt: skip
        self.practice_text.setText(f"<b>{p.id}</b> — {p.text}<br><i>{p.ref}</i> · {how}<br>{p.summary}")
        self.evidence.set_rows(sorted(p.evidence, key=lambda e: (e["ok"], e["ref"])))
        self.evidence_view.resizeColumnsToContents()

    def _open_evidence(self, index) -> None:
        row = self.evidence.data(index, ROW_ROLE)
        if row is None or not row["ref"].startswith("INC-"):
            return
        ok, inc = read_or_say(self.ctx, self.ctx.sitrep.incidents.get, row["ref"])
        if ok:
            self.ctx.open_incident(inc.id)

    def answer(self) -> None:
        svc = self._service()
        p = self._current_practice()
        if svc is None or p is None:
            self.ctx.status_message("Pick a practice first.", error=True)
            return
        if p.answer != HAND:
            self.ctx.status_message(f"{p.id} is answered from the record: the evidence below shows why.", error=True)
            return
        ok, practice = read_or_say(self.ctx, svc.book.practice, p.id)
        if not ok:
            return
        dialog = AnswerPracticeDialog(self.ctx, svc, practice, svc.hand_answers().get(p.id),
                                      self.ctx.dialog_parent(self))  # fmt: skip
        if dialog.exec():
            self.refresh()

    def export(self) -> None:
        svc = self._service()
        if svc is None or self.shown is None:
            self.ctx.status_message("Nothing to export yet: Refresh first.", error=True)
            return
        result = self.shown
        path, _ = QFileDialog.getSaveFileName(self, "Export the self-assessment", "self-assessment.pdf",
                                              "PDF (*.pdf);;HTML (*.html);;Markdown (*.md)")  # fmt: skip
        if not path:
            return

        def write() -> None:
            tools = review_toolchain(self.ctx.sitrep, svc.book.toolchain, svc.book.period_days)
            write_document(Path(path), lambda: assessment_markdown(result, tools), lambda: assessment_html(result, tools),
                           lambda page, out: write_pdf(page, out, title="Incident response self-assessment",
                                                       landscape=False))  # fmt: skip

        run_action(self.ctx, self, write, success=f"Wrote {path}")

    # -- the toolchain ----------------------------------------------------------------------------
    def show_toolchain(self) -> None:
        if self.ctx.shell is not None:
            self.ctx.shell.show_panel("assessment")
        self.tabs.setCurrentIndex(1)
        self.refresh_toolchain()

    def refresh_toolchain(self) -> None:
        svc = self._service()
        if svc is None:
            return
        ok, review = read_or_say(self.ctx, review_toolchain, self.ctx.sitrep, svc.book.toolchain,
                                 svc.book.period_days)  # fmt: skip
        if ok:
            self.toolchain.setHtml(toolchain_page(review))


class PaperNotice(QToolButton):
    """Paper mode in the console: the print command (File menu and palette) and a status-bar notice, shown
    while the last printed pack is older than a change to what it shows; clicking it prints a new one."""

    def __init__(self, ctx, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("paper-notice")
        self.setAutoRaise(True)
        self.setAccessibleName("Paper pack")
        self.hide()
        self.print_action = QAction("Print paper pack…", self)
        self.print_action.setObjectName("act-print-paper-pack")
        self.print_action.triggered.connect(self.print_pack)
        self.clicked.connect(self.print_pack)
        self._soon = QTimer(self, singleShot=True, interval=500)
        self._soon.timeout.connect(self.check)
        self._every = QTimer(self, interval=PAPER_CHECK_MS)
        self._every.timeout.connect(self.check)
        if ctx.shell is not None:
            ctx.add_command(self.print_action, "File", first=True)
            ctx.shell.add_status_widget(self)
            self._every.start()
            self._soon.start()
        ctx.notifier.changed.connect(self._on_change)

    def _on_change(self, change: Change) -> None:
        if change.topic in ("people", "stakeholders", "external"):
            self._soon.start()

    def check(self) -> None:
        ok, status = read_or_say(self.ctx, paper_status, self.ctx.sitrep, self.ctx.paths.data,
                                 self.ctx.paths.config)  # fmt: skip
        if not ok:
            return
        self.status = status
        # Never printed: nothing on the shelf to be wrong, so no standing notice (the File menu offers it).
        stale = status.printed_at is not None and status.stale
        self.setText("⚠ Paper pack out of date" if stale else "")
        self.setToolTip(status.notice())
        self.setVisible(stale)

    def print_pack(self) -> None:
        parent = self.ctx.dialog_parent(self)
        last = getattr(getattr(self, "status", None), "path", None)
        suggested = last or str(Path.home() / "sitrep-paper-pack.pdf")
        path, _ = QFileDialog.getSaveFileName(parent, "Print the paper pack", suggested, "PDF (*.pdf)")
        if not path:
            return
        if not path.lower().endswith(".pdf"):
            path += ".pdf"

        def make() -> str:
            pack = build_pack(self.ctx.sitrep, self.ctx.paths.config, printed_by=self.ctx.author)
            write_pdf(pack.html(), Path(path), title="Incident response paper pack", landscape=False, banner=pack.banner)
            if not self.ctx.sitrep.read_only:  # a read-only store's data folder is left as it is
                record_print(self.ctx.paths.data, pack, Path(path))
            return f"Paper pack written to {path} ({pack.printed_at:%Y-%m-%d %H:%M} UTC): print it and keep it by hand."

        ok, said = run_action(self.ctx, self, make)
        if ok:
            self.ctx.status_message(said, timeout_ms=15000)
            self.check()


PANEL = PanelSpec(
    id="assessment",
    title="Self-assessment",
    factory=AssessmentPanel,
    visible_by_default=False,
    readable_height=420,
)
