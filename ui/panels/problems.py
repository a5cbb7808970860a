"""Problem and cause panel (Ctrl+Alt+P; its buttons' Alt keys avoid the menu bar's F I V T H A E R): the incident's problem record (a known error's workaround shown
first, since that is what the people on a new incident need), the other incidents that share it, and the
changes that may have caused the incident. Link to a problem kept here or a Jira problem by key; link a
change by hand or pick one of the Jira change records made before the incident. Jira is read on a worker,
never on the GUI thread; what it refuses is said here and nothing is linked.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change, Topic
from services.errors import SitrepError
from services.record.views import IncidentView
from services.resolution.change_links import ChangeLinkView
from services.resolution.itil_remote import incident_start
from services.resolution.problems import ProblemView
from services.text.timeparse import parse_when
from ui.dialogs.problems import ChangeDialog, JiraChangesDialog, ProblemDialog
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.timefmt import viewer_time, viewer_zone
from ui.workers import SerialWorker

_CHANGE_COLUMNS = ("Change", "When", "CI / service", "Summary", "Status", "Linked by")


class ProblemPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident: IncidentView | None = None
        self.problem: ProblemView | None = None
        self.changes: list[ChangeLinkView] = []
        self.dialog = None
        self._worker = SerialWorker(self)
        self._worker.done.connect(self._fetched)
        self._worker.failed.connect(self._fetch_failed)
        self._pending: dict[int, tuple[str, str]] = {}  # ticket -> (what, incident id)
        self._build()
        self._register_commands()
        ctx.notifier.changed.connect(self._on_change)
        self.set_incident(None)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        box = QGroupBox("Problem", self)
        pl = QVBoxLayout(box)
        self.heading = QLabel(self)
        self.heading.setObjectName("problem-heading")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.workaround = QLabel(self)
        self.workaround.setObjectName("problem-workaround")
        self.workaround.setWordWrap(True)
        self.workaround.setFrameShape(QFrame.Shape.StyledPanel)
        self.workaround.setStyleSheet("QLabel#problem-workaround { background: #fff4ce; color: #3b2e00; padding: 6px; }")
        self.workaround.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QLabel(self)
        self.details.setObjectName("problem-details")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pl.addWidget(self.heading)
        pl.addWidget(self.workaround)
        pl.addWidget(self.details)

        row = QHBoxLayout()
        self.problem_combo = QComboBox(self)
        self.problem_combo.setObjectName("problem-choice")
        self.problem_combo.setAccessibleName("Problem to link the incident to")
        self.problem_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.problem_combo.setMinimumContentsLength(20)
        self.link_button = QPushButton("&Link", self)
        self.link_button.setObjectName("problem-link")
        self.link_button.clicked.connect(self.link_chosen)
        self.unlink_button = QPushButton("Unlin&k", self)
        self.unlink_button.setObjectName("problem-unlink")
        self.unlink_button.clicked.connect(self.unlink)
        row.addWidget(self.problem_combo, 1)
        row.addWidget(self.link_button)
        row.addWidget(self.unlink_button)
        pl.addLayout(row)
        row = QHBoxLayout()
        self.new_button = QPushButton("&New problem…", self)
        self.new_button.setObjectName("problem-new")
        self.new_button.clicked.connect(self.new_problem)
        self.edit_button = QPushButton("E&dit problem…", self)
        self.edit_button.setObjectName("problem-edit")
        self.edit_button.clicked.connect(self.edit_problem)
        self.jira_key = QLineEdit(self)
        self.jira_key.setObjectName("problem-jira-key")
        self.jira_key.setPlaceholderText("Jira problem key (OPS-77)")
        self.jira_key.setAccessibleName("Jira problem key")
        self.jira_key.returnPressed.connect(self.link_jira_problem)
        self.jira_button = QPushButton("Link &Jira problem", self)
        self.jira_button.setObjectName("problem-jira")
        self.jira_button.clicked.connect(self.link_jira_problem)
        row.addWidget(self.new_button)
        row.addWidget(self.edit_button)
        row.addStretch(1)
        row.addWidget(self.jira_key, 1)
        row.addWidget(self.jira_button)
        pl.addLayout(row)
        lay.addWidget(box)

        cbox = QGroupBox("Changes that may have caused it", self)
        cl = QVBoxLayout(cbox)
        self.table = QTableWidget(0, len(_CHANGE_COLUMNS), self)
        self.table.setObjectName("change-links")
        self.table.setAccessibleName("Changes linked as possible causes")
        self.table.setHorizontalHeaderLabels(_CHANGE_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        cl.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_change_button = QPushButton("Link a &change by hand…", self)
        self.add_change_button.setObjectName("change-link-hand")
        self.add_change_button.clicked.connect(self.link_change_by_hand)
        self.find_changes_button = QPushButton("Find Jira chan&ges…", self)
        self.find_changes_button.setObjectName("change-link-jira")
        self.find_changes_button.clicked.connect(self.find_jira_changes)
        self.unlink_change_button = QPushButton("Not a ca&use", self)
        self.unlink_change_button.setObjectName("change-unlink")
        self.unlink_change_button.setToolTip("Unlink the selected change: it did not cause this incident")
        self.unlink_change_button.clicked.connect(self.unlink_change)
        row.addWidget(self.add_change_button)
        row.addWidget(self.find_changes_button)
        row.addStretch(1)
        row.addWidget(self.unlink_change_button)
        cl.addLayout(row)
        lay.addWidget(cbox, 1)
        self.status = QLabel(self)
        self.status.setObjectName("problem-status-line")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

    def _register_commands(self) -> None:
        if self.ctx.shell is None:
            return
        for name, text, then in (("act-link-problem", "Link the incident to a problem…", self._focus_link),
                                 ("act-link-change", "Link a change that may have caused the incident…",
                                  self.link_change_by_hand),
                                 ("act-new-problem", "New problem record…", self.new_problem)):  # fmt: skip
            act = QAction(text, self)
            act.setObjectName(name)
            act.triggered.connect(lambda _checked=False, then=then: self._show_then(then))
            self.ctx.add_command(act, "Incident")

    def _show_then(self, then) -> None:
        if self.ctx.shell is not None:
            self.ctx.shell.show_panel("problems")
        then()

    def _focus_link(self) -> None:
        self.problem_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_target(self) -> QWidget:
        return self.problem_combo

    # -- state -------------------------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if change.topic in (Topic.PROBLEMS, Topic.EXTERNAL, Topic.INCIDENT):
            self.refresh()

    def refresh(self) -> None:
        ok, problems = read_or_say(self.ctx, self.ctx.sitrep.problems.list, default=[], say=self.status.setText)
        chosen = self.problem_combo.currentData()
        self.problem_combo.clear()
        for p in problems or []:
            self.problem_combo.addItem(f"{p.key} · {p.status_label} · {p.title}", p.key)
            self.problem_combo.setItemData(self.problem_combo.count() - 1, p.title, Qt.ItemDataRole.ToolTipRole)
        self.problem = None
        self.changes = []
        if self.incident is not None:
            ok, self.problem = read_or_say(self.ctx, self.ctx.sitrep.problems.for_incident, self.incident.id,
                                           say=self.status.setText)  # fmt: skip
            ok2, changes = read_or_say(self.ctx, self.ctx.sitrep.change_links.list, self.incident.id, default=[],
                                       say=self.status.setText)  # fmt: skip
            self.changes = changes or []
        index = self.problem_combo.findData(self.problem.key if self.problem else chosen)
        self.problem_combo.setCurrentIndex(max(0, index))
        self._show_problem()
        self._fill_changes()
        self._update_buttons()

    def _show_problem(self) -> None:
        p = self.problem
        if self.incident is None:
            self.heading.setText("Open an incident to see its problem and the changes that may have caused it.")
            self.workaround.hide()
            self.details.setText("")
            return
        if p is None:
            self.heading.setText(f"<b>{self.incident.key}</b> is not linked to a problem. Link it to one below when "
                                 "the same cause has struck before, or create the problem record.")  # fmt: skip
            self.workaround.hide()
            self.details.setText("")
            return
        e = html.escape
        tracked = f" · Jira {e(p.remote_key)}: {e(p.remote_status or '?')}" if p.remote_key else ""
        self.heading.setText(f"<b>{e(p.key)} · {e(p.title)}</b><br>{e(p.status_label)}"
                             + (f" · owner {e(p.owner)}" if p.owner else "") + tracked)  # fmt: skip
        if p.workaround:
            self.workaround.setText(f"<b>Known-error workaround:</b> {e(p.workaround)}")
            self.workaround.show()
        else:
            self.workaround.hide()
        lines = []
        if p.root_cause:
            lines.append(f"<b>Root cause:</b> {e(p.root_cause)}")
        if p.description:
            lines.append(e(p.description))
        ok, linked = read_or_say(self.ctx, self.ctx.sitrep.problems.incidents_of, p.id, default=[],
                                 say=self.status.setText)  # fmt: skip
        others = [i for i in linked or [] if i.id != self.incident.id]
        if not others:
            lines.append("<b>Incidents with this problem:</b> only this one so far.")
        else:
            lines.append(f"<b>Incidents with this problem</b> ({len(others)} besides this one):")
            lines += [f"&nbsp;&nbsp;{e(i.key)} · {e(viewer_time(i.started_at))} · {e(i.severity)} · "
                      f"{e(i.status.replace('_', ' '))} · {e(i.title)}" for i in others]  # fmt: skip
        self.details.setText("<br>".join(lines))

    def _fill_changes(self) -> None:
        self.table.setRowCount(len(self.changes))
        for i, c in enumerate(self.changes):
            values = (c.ref, viewer_time(c.changed_at) if c.changed_at else "unknown", c.ci or "–", c.summary,
                      c.remote_status or ("by hand" if c.source == "hand" else ""), c.linked_by)  # fmt: skip
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setToolTip(v)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

    def _update_buttons(self) -> None:
        has_incident = self.incident is not None
        for b in (self.link_button, self.jira_button, self.jira_key, self.add_change_button, self.find_changes_button):
            b.setEnabled(has_incident)
        self.link_button.setEnabled(has_incident and self.problem_combo.count() > 0)
        self.unlink_button.setEnabled(self.problem is not None)
        self.edit_button.setEnabled(self.problem is not None)
        self.unlink_change_button.setEnabled(has_incident and self.table.currentRow() >= 0 and bool(self.changes))

    # -- problems --------------------------------------------------------------------------------
    def link_chosen(self) -> None:
        key = self.problem_combo.currentData()
        if self.incident is None or not key:
            return
        ok, out = run_action(self.ctx, self, self.ctx.sitrep.problems.link, self.incident.id, key, author=self.ctx.author)
        if ok:
            self._said_linked(out.problem, out.already)

    def _said_linked(self, p: ProblemView, already: bool = False) -> None:
        said = f"{self.incident.key} is {'already ' if already else ''}linked to {p.key}."
        if p.workaround:
            said += f" Known error — workaround: {p.workaround}"
        self.status.setText(said)
        self.ctx.status_message(said)
        self.refresh()

    def unlink(self) -> None:
        if self.incident is None or self.problem is None:
            return
        key = self.problem.key
        ok, _ = run_action(self.ctx, self, self.ctx.sitrep.problems.unlink, self.incident.id, author=self.ctx.author,
                           success=f"Unlinked {self.incident.key} from {key}.")  # fmt: skip
        if ok:
            self.refresh()

    def new_problem(self) -> None:
        dialog = ProblemDialog(self)

        def create():
            v = dialog.values()
            p = self.ctx.sitrep.problems.add(v["title"] or "", author=self.ctx.author, description=v["description"] or "",
                                             root_cause=v["root_cause"], workaround=v["workaround"], status=v["status"],
                                             owner=v["owner"])  # fmt: skip
            if self.incident is not None:
                self.ctx.sitrep.problems.link(self.incident.id, p.id, author=self.ctx.author)
            return p

        dialog.submit = create
        dialog.accepted.connect(lambda: self._said_linked(dialog.result_value) if self.incident else self.refresh())
        self.dialog = dialog
        dialog.open()

    def edit_problem(self) -> None:
        if self.problem is None:
            return
        dialog = ProblemDialog(self, self.problem)
        key = self.problem.key
        dialog.submit = lambda: self.ctx.sitrep.problems.update(key, author=self.ctx.author, **dialog.values())
        dialog.accepted.connect(self.refresh)
        self.dialog = dialog
        dialog.open()

    def link_jira_problem(self) -> None:
        key = self.jira_key.text().strip()
        if self.incident is None or not key:
            self.status.setText("Type the Jira problem's key (like OPS-77) first.")
            return
        self.status.setText(f"Reading {key.upper()} from Jira…")
        self.jira_button.setEnabled(False)
        itil = self.ctx.sitrep.itil
        ticket = self._worker.submit(lambda: itil.record(key, "problem"))
        self._pending[ticket] = ("problem", self.incident.id)

    # -- changes ---------------------------------------------------------------------------------
    def link_change_by_hand(self) -> None:
        if self.incident is None:
            self.ctx.status_message("Open an incident first (Ctrl+I).", error=True)
            return
        dialog = ChangeDialog(self, self.incident.key)
        incident_id = self.incident.id

        def link():
            e = dialog.edits
            when = e["when"].text().strip()
            at = parse_when(when, now=self.ctx.sitrep.now(), local_tz=viewer_zone(), field="when") if when else None
            return self.ctx.sitrep.change_links.link(incident_id, author=self.ctx.author, ref=e["ref"].text(),
                                                     summary=e["summary"].text(), changed_at=at, ci=e["ci"].text())  # fmt: skip

        dialog.submit = link
        dialog.accepted.connect(lambda: self._said(f"Linked {dialog.result_value.ref} as a possible cause."))
        self.dialog = dialog
        dialog.open()

    def find_jira_changes(self) -> None:
        if self.incident is None:
            return
        self.status.setText("Reading Jira's change records from the 24 hours before the incident…")
        self.find_changes_button.setEnabled(False)
        itil, start, now = self.ctx.sitrep.itil, incident_start(self.incident), self.ctx.sitrep.now()
        ticket = self._worker.submit(lambda: itil.change_candidates(start, now=now))
        self._pending[ticket] = ("changes", self.incident.id)

    def unlink_change(self) -> None:
        row = self.table.currentRow()
        if self.incident is None or not 0 <= row < len(self.changes):
            return
        ref = self.changes[row].ref
        ok, _ = run_action(self.ctx, self, self.ctx.sitrep.change_links.unlink, self.incident.id, ref,
                           author=self.ctx.author, success=f"Unlinked {ref}: not a cause.")  # fmt: skip
        if ok:
            self.refresh()

    def _said(self, text: str) -> None:
        self.status.setText(text)
        self.ctx.status_message(text)
        self.refresh()

    # -- answers from the worker -------------------------------------------------------------------
    def _fetched(self, ticket: int, result) -> None:
        what, incident_id = self._pending.pop(ticket, (None, None))
        self._update_buttons()
        if what is None or self.incident is None or self.incident.id != incident_id:
            return  # the console moved to another incident meanwhile: nothing is linked behind its back
        backend, value = result
        if what == "problem":
            try:
                with self.ctx.sitrep.changes.initiated_by(self):
                    p = self.ctx.sitrep.problems.add_tracked(value, backend=backend, author=self.ctx.author)
                    out = self.ctx.sitrep.problems.link(incident_id, p.id, author=self.ctx.author)
            except SitrepError as err:
                self.status.setText(err.message)
                return
            self.jira_key.clear()
            self._said_linked(out.problem, out.already)
            return
        linked = {c.ref for c in self.changes}
        records = [r for r in value if r.key not in linked]
        dialog = JiraChangesDialog(self, self.incident.key, records, "Jira")

        def link():
            chosen = dialog.chosen()
            if chosen is None:
                raise SitrepError("Choose a change record first.")
            return self.ctx.sitrep.change_links.link_tracked(incident_id, chosen, backend=backend, author=self.ctx.author)

        dialog.submit = link
        dialog.accepted.connect(lambda: self._said(f"Linked {dialog.result_value.ref} as a possible cause."))
        self.status.setText(f"{len(records)} Jira change record(s) found.")
        self.dialog = dialog
        dialog.open()

    def _fetch_failed(self, ticket: int, message: str) -> None:
        self._pending.pop(ticket, None)
        self._update_buttons()
        self.status.setText(message)
        self.ctx.status_message(message, error=True)

    def shutdown(self) -> None:
        self._worker.shutdown()


PANEL = PanelSpec(
    id="problems",
    title="Problem and cause",
    factory=ProblemPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Ctrl+Alt+P",
    visible_by_default=False,
    readable_height=360,
)
