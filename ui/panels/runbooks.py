"""Runbooks panel (Alt+4): the runbooks suggested for the incident's services and type, one run of a runbook
step by step (state, output, who and when), and every runbook sorted by what most needs attention.

Automated steps run through the orchestrator on a thread of their own; output streams here by queued signals,
so the GUI thread never waits on Ansible. A destructive step runs for real only after its dry run's diff has
been shown and the target's name typed.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from services.adapters.automation import JobControl
from services.changes import Change, Topic
from services.errors import SitrepError
from services.runbooks.service import (
    DONE,
    DRY_RUN_FAILED,
    DRY_RUN_PASSED,
    FAILED,
    PASSED,
    RUNNING,
    SKIPPED,
    GateClosed,
    PendingJob,
    RunView,
    execute,
)
from services.runbooks.usage import usage
from ui.operations import run_action
from ui.panels import PanelSpec

STEP_COLUMNS = ("#", "Kind", "Step", "State", "By", "When", "Result")
VIEW_COLUMNS = ("Runbook", "Version", "Owner", "Uses", "Drills", "Last drilled", "Needs attention")
_STATE_COLOURS = {PASSED: "#107c10", DONE: "#107c10", FAILED: "#d13438", DRY_RUN_FAILED: "#d13438",
                  RUNNING: "#b36b00", DRY_RUN_PASSED: "#2b6cb0", SKIPPED: "#8a8886"}  # fmt: skip


class _JobSignals(QObject):
    output = Signal(str)
    finished = Signal(object, object)  # PendingJob, JobOutcome


class _JobRunnable(QRunnable):
    def __init__(self, pending: PendingJob, control: JobControl, signals: _JobSignals) -> None:
        super().__init__()
        self.pending, self.control, self.signals = pending, control, signals

    def run(self) -> None:
        self.signals.finished.emit(self.pending, execute(self.pending, self.control))


class RunbooksPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.svc = ctx.sitrep.runbooks
        self.incident = None
        self.run: RunView | None = None
        self.control: JobControl | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.signals = _JobSignals(self)
        self.signals.output.connect(self._append_output)
        self.signals.finished.connect(self._job_finished)

        tabs = QTabWidget()
        tabs.addTab(self._build_run_tab(), "Run")
        tabs.addTab(self._build_view_tab(), "All runbooks")
        self.tabs = tabs
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(tabs)
        ctx.notifier.changed.connect(self._on_change)
        self.refresh_view()

    # -- building ---------------------------------------------------------------------------
    def _build_run_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        pick = QHBoxLayout()
        self.choice = QComboBox()
        self.choice.setMinimumContentsLength(24)
        self.choice.setAccessibleName("Runbook to run")
        self.start_button = QPushButton("&Start in incident")
        self.start_button.clicked.connect(self.start_selected)
        self.drill_button = QPushButton("D&rill…")
        self.drill_button.clicked.connect(self.drill_selected)
        pick.addWidget(QLabel("Suggested:"))
        pick.addWidget(self.choice, 1)
        pick.addWidget(self.start_button)
        pick.addWidget(self.drill_button)
        v.addLayout(pick)
        self.heading = QLabel("No runbook running.")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.heading)
        self.steps = QTableWidget(0, len(STEP_COLUMNS))
        self.steps.setHorizontalHeaderLabels(STEP_COLUMNS)
        self.steps.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.steps.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.steps.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.steps.verticalHeader().setVisible(False)
        # Sized once after each fill, not per cell: ResizeToContents re-measures every row on each change,
        # which made a 200-step runbook take seconds to show (bench/runbooks_bench.py).
        header = self.steps.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.steps.itemSelectionChanged.connect(self._selection_changed)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("&Run step")
        self.dry_button = QPushButton("Dr&y run")
        self.real_button = QPushButton("Run for &real…")
        self.tick_button = QPushButton("&Done")
        self.choose_button = QPushButton("C&hoose…")
        self.skip_button = QPushButton("S&kip…")
        self.cancel_button = QPushButton("Cancel run&ning")
        for button, slot in ((self.run_button, lambda: self.run_selected(dry_run=False)),
                             (self.dry_button, lambda: self.run_selected(dry_run=True)),
                             (self.real_button, self.run_for_real), (self.tick_button, self.tick_selected),
                             (self.choose_button, self.choose_selected), (self.skip_button, self.skip_selected),
                             (self.cancel_button, self.cancel_job)):  # fmt: skip
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.steps)
        lower = QTabWidget()
        self.detail = QPlainTextEdit(readOnly=True)
        self.output = QPlainTextEdit(readOnly=True)
        self.diff = QPlainTextEdit(readOnly=True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        for box in (self.output, self.diff):
            box.setFont(mono)
            box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lower.addTab(self.output, "Output")
        lower.addTab(self.diff, "Dry-run diff")
        lower.addTab(self.detail, "Instructions")
        self.lower = lower
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        v.addLayout(buttons)
        v.addWidget(split, 1)
        self._update_buttons()
        return page

    def _build_view_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(QLabel("Most in need of attention first: overdue drills and reviews, open findings, failures."))
        self.view = QTableWidget(0, len(VIEW_COLUMNS))
        self.view.setHorizontalHeaderLabels(VIEW_COLUMNS)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().setVisible(False)
        h = self.view.horizontalHeader()
        for col in range(len(VIEW_COLUMNS)):
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(len(VIEW_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.view, 1)
        return page

    # -- incident and refresh -----------------------------------------------------------------
    def set_incident(self, incident) -> None:
        switched = self.incident is None or incident is None or incident.id != self.incident.id
        self.incident = incident
        if switched:
            self._fill_choices()
            runs = self.svc.runs(incident=incident.id) if incident else []
            open_runs = [r for r in runs if r.ended_at is None]
            self.show_run(open_runs[-1] if open_runs else (runs[-1] if runs else None))

    def _fill_choices(self) -> None:
        self.choice.clear()
        runbooks = self.svc.library.runbooks()
        suggested = (self.svc.library.suggestions(list(self.incident.services), self.incident.incident_type)
                     if self.incident else [])  # fmt: skip
        for rb in suggested + [rb for rb in runbooks if rb not in suggested]:
            mark = "★ " if rb in suggested else ""
            self.choice.addItem(f"{mark}{rb.title} (v{rb.version})", rb.slug)

    def _on_change(self, change: Change) -> None:
        if change.topic == Topic.RUNBOOKS:
            self.refresh_view()
            if self.run is not None and self.control is None:
                self.show_run(self.svc.run(self.run.id))

    def refresh_view(self) -> None:
        rows = usage(self.svc, self.ctx.sitrep.now())
        self.view.setRowCount(len(rows))
        for r, u in enumerate(rows):
            drilled = f"{u.last_drilled:%Y-%m-%d}" if u.last_drilled else "never"
            values = (u.runbook.title, u.runbook.version, u.runbook.owner, str(u.incident_uses), str(u.drills),
                      drilled, ", ".join(u.flags) or "—")  # fmt: skip
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c == len(values) - 1 and u.flags:
                    item.setForeground(QColor("#d13438"))
                self.view.setItem(r, c, item)

    def show_run(self, run: RunView | None) -> None:
        self.run = run
        if run is None:
            self.heading.setText("No runbook running. Pick one above and start it.")
            self.steps.setRowCount(0)
            self._update_buttons()
            return
        where = f"drill on {run.drill_target}" if run.is_drill else "in this incident"
        end = f" — {run.outcome}" if run.outcome else ""
        self.heading.setText(f"<b>{run.runbook.title}</b> v{run.runbook.version} · {run.provenance.short} · "
                             f"{where}{end}")  # fmt: skip
        selected = self._selected_number()
        self.steps.setUpdatesEnabled(False)
        self.steps.blockSignals(True)
        self.steps.setRowCount(len(run.steps))
        for r, st in enumerate(run.steps):
            kind = st.step.kind + (" ⚠" if st.step.destructive else "")
            when = st.at.astimezone().strftime("%H:%M:%S") if st.at else ""
            for c, text in enumerate((str(st.step.number), kind, st.step.title, st.state, st.by, when, st.summary)):
                item = QTableWidgetItem(text)
                if c == 3 and st.state in _STATE_COLOURS:
                    item.setForeground(QColor(_STATE_COLOURS[st.state]))
                self.steps.setItem(r, c, item)
        for col in (0, 1, 3, 4, 5):
            self.steps.resizeColumnToContents(col)
        self.steps.setColumnWidth(6, max(self.steps.columnWidth(6), 180))
        self.steps.blockSignals(False)
        self.steps.setUpdatesEnabled(True)
        row = (selected or (run.next_step().step.number if run.next_step() else 1)) - 1
        self.steps.selectRow(max(0, min(row, len(run.steps) - 1)))
        self._selection_changed()

    # -- actions ----------------------------------------------------------------------------------
    def _selected_number(self) -> int | None:
        rows = self.steps.selectionModel().selectedRows() if self.steps.selectionModel() else []
        return rows[0].row() + 1 if rows else None

    def _selected_state(self):
        n = self._selected_number()
        return self.run.state_of(n) if self.run and n else None

    def _selection_changed(self) -> None:
        st = self._selected_state()
        if st is not None:
            self.detail.setPlainText(st.step.text or st.step.title)
            self.diff.setPlainText(st.dry_run_diff or "(no dry run yet)")
            if self.control is None:
                self.output.setPlainText(st.diff and f"{st.summary}\n\n{st.diff}" or st.summary)
        self._update_buttons()

    def _update_buttons(self) -> None:
        st = self._selected_state()
        busy = self.control is not None
        open_step = st is not None and self.run.ended_at is None and st.state not in (PASSED, DONE, SKIPPED,
                                                                                       "chosen", RUNNING)
        kind = st.step.kind if st else ""
        destructive = bool(st and st.step.destructive)
        self.run_button.setEnabled(open_step and not busy and kind in ("diagnostic", "action") and not destructive)
        self.dry_button.setEnabled(open_step and not busy and kind == "action")
        self.real_button.setEnabled(open_step and not busy and destructive)
        self.tick_button.setEnabled(open_step and not busy and kind == "manual")
        self.choose_button.setEnabled(open_step and not busy and kind == "decision")
        self.skip_button.setEnabled(open_step and not busy)
        self.cancel_button.setEnabled(busy)
        self.start_button.setEnabled(self.incident is not None and not busy and self.choice.count() > 0)
        self.drill_button.setEnabled(not busy and self.choice.count() > 0)

    def start_selected(self) -> None:
        if self.incident is None:
            return
        ok, run = run_action(self.ctx, self, self.svc.start, self.choice.currentData(), author=self.ctx.author,
                             incident=self.incident.id)  # fmt: skip
        if ok:
            self.show_run(run)

    def drill_selected(self, target: str | None = None) -> None:
        if not target:
            target, ok = QInputDialog.getText(self, "Fire drill", "Drill target (a staging host or environment):")
            if not ok:
                return
        ok, run = run_action(self.ctx, self, self.svc.start, self.choice.currentData(), author=self.ctx.author,
                             drill_target=target)  # fmt: skip
        if ok:
            self.show_run(run)

    def tick_selected(self) -> None:
        ok, run = run_action(self.ctx, self, self.svc.tick, self.run.id, self._selected_number(), author=self.ctx.author)
        if ok:
            self.show_run(run)

    def choose_selected(self) -> None:
        st = self._selected_state()
        labels = [c.label for c in st.step.choices]
        label, ok = QInputDialog.getItem(self, st.step.title, st.step.text or st.step.title, labels, 0, False)
        if ok:
            done, run = run_action(self.ctx, self, self.svc.choose, self.run.id, st.step.number, label,
                                   author=self.ctx.author)  # fmt: skip
            if done:
                self.show_run(run)

    def skip_selected(self) -> None:
        reason, ok = QInputDialog.getText(self, "Skip step", "Why is this step skipped? (goes on the record)")
        if ok:
            done, run = run_action(self.ctx, self, self.svc.skip, self.run.id, self._selected_number(),
                                   author=self.ctx.author, reason=reason)  # fmt: skip
            if done:
                self.show_run(run)

    def run_selected(self, *, dry_run: bool, confirmation: str | None = None) -> None:
        st = self._selected_state()
        if st is None:
            return
        try:
            pending = self.svc.begin_step(self.run.id, st.step.number, author=self.ctx.author, dry_run=dry_run,
                                          confirmation=confirmation)  # fmt: skip
        except GateClosed as closed:
            self.ctx.status_message(closed.message, error=True)
            self.output.setPlainText("Refused — " + "\n".join(closed.gates))
            return
        except SitrepError as err:
            self.ctx.status_message(err.message, error=True)
            return
        self.output.clear()
        self.lower.setCurrentWidget(self.output)
        self.control = JobControl(self.signals.output.emit)
        self.show_run(self.svc.run(self.run.id))
        self.pool.start(_JobRunnable(pending, self.control, self.signals))

    def run_for_real(self) -> None:
        st = self._selected_state()
        if st is None:
            return
        closed = self.svc.gates(self.run, st.step.number, dry_run=False)
        if closed:
            self.ctx.status_message("Not yet: " + "; ".join(closed), error=True)
            self.output.setPlainText("Refused — " + "\n".join(closed))
            return
        target = self.run.target_of(st.step)
        self.diff.setPlainText(st.dry_run_diff or "(the dry run changed nothing)")
        self.lower.setCurrentWidget(self.diff)
        typed, ok = QInputDialog.getText(
            self, "Run for real",
            f"Step {st.step.number} '{st.step.title}' changes {target}.\nThe dry run's diff is shown in the panel.\n"
            f"Type the target's name, {target}, to run it for real:")  # fmt: skip
        if ok:
            self.run_selected(dry_run=False, confirmation=typed)

    def cancel_job(self) -> None:
        if self.control is not None:
            self.control.cancel.set()

    def _append_output(self, text: str) -> None:
        self.output.moveCursor(self.output.textCursor().MoveOperation.End)
        self.output.insertPlainText(text)
        self.output.ensureCursorVisible()

    def _job_finished(self, pending: PendingJob, outcome) -> None:
        self.control = None
        ok, run = run_action(self.ctx, self, self.svc.finish_step, pending, outcome, author=self.ctx.author)
        if ok:
            self.show_run(run)
            if pending.dry_run and outcome.diff:
                self.lower.setCurrentWidget(self.diff)
        self._update_buttons()

    def wait_for_job(self, timeout_ms: int = 120_000) -> bool:
        return self.pool.waitForDone(timeout_ms)


PANEL = PanelSpec(
    id="runbooks",
    title="Runbooks",
    factory=RunbooksPanel,
    shortcut="Alt+4",
    visible_by_default=False,
    readable_height=360,
)
