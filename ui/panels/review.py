"""Post-incident review panel: the B6 document of the incident in view, one editor per section beside what
the record already says, the checklist and the blameless-language lint, the meeting, the action items.
The same services as `sitrep review …`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change
from services.errors import SitrepError
from services.record.views import IncidentView
from services.review.document import STATUS_LABELS
from services.review.meeting import ATTENDANCE
from services.review.report import markdown_to_html, summary_fields
from services.review.service import NEXT
from ui.dialogs.review import ActionItemDialog, OverrideDialog, ScheduleMeetingDialog
from ui.forms import QuietLabel
from ui.operations import run_action
from ui.panels import PanelSpec
from ui.printing import write_pdf
from ui.timefmt import duration_text


def show_panel(ctx, panel_id: str) -> None:
    """Bring a panel forward (a menu command acts on the panel it belongs to)."""
    if ctx.shell is not None:
        ctx.shell.show_panel(panel_id)


ACTION_COLUMNS = ("Id", "Action", "Category", "Priority", "Owner", "Due", "Status")


class ReviewPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("review-panel")
        self.incident: IncidentView | None = None
        self._section: str | None = None
        self._loading = False
        self.overview = None  # the review as last read (one read of the record per refresh)
        self.headline = QLabel("", self)
        self.headline.setObjectName("review-headline")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.clocks = QuietLabel("", self)
        self.clocks.setObjectName("review-clocks")
        self.open_button = self._button("&Ask for a review", "review-open", self.ask_for_review,
                                        "Open a review for an incident the triggers did not select")  # fmt: skip
        self.move_button = self._button("&Move to…", "review-move", None, "Draft → In review → Reviewed → Closed")
        self.move_menu = QMenu(self)
        self.move_button.setMenu(self.move_menu)
        self.meeting_button = self._button("Schedule &meeting…", "review-schedule", self.schedule,
                                           "Pick a time and the attendees; their time zones are shown")  # fmt: skip
        self.invite_button = self._button("Send &invitation", "review-invite", self.send_invitation,
                                          "E-mail the calendar invitation (with the agenda) through the outbox")  # fmt: skip
        self.export_button = self._button("&Export…", "review-export", None, "PDF, HTML or Markdown (editable)")
        export_menu = QMenu(self)
        for label, fmt in (("PDF report…", "pdf"), ("HTML report…", "html"), ("Markdown to edit elsewhere…", "md")):
            export_menu.addAction(label, lambda f=fmt: self.export(f))
        export_menu.addAction("Import edited Markdown…", self.import_markdown)
        export_menu.addAction("Draft the customer summary (post-incident e-mail)", self.draft_summary)
        self.export_button.setMenu(export_menu)
        # The headline wraps and the buttons have a row of their own, so the panel never asks for more
        # width than a laptop's tab beside the timeline has.
        self.headline.setWordWrap(True)
        self.clocks.setWordWrap(True)
        top = QHBoxLayout()
        for b in (self.open_button, self.move_button, self.meeting_button, self.invite_button, self.export_button):
            top.addWidget(b)
        top.addStretch(1)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("review-tabs")
        self.tabs.addTab(self._document_tab(), "&Document")
        self.tabs.addTab(self._checklist_tab(), "Checklist && &lint")
        self.tabs.addTab(self._meeting_tab(), "Mee&ting")
        self.tabs.addTab(self._actions_tab(), "Action &items")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.headline)
        lay.addWidget(self.clocks)
        lay.addLayout(top)
        lay.addWidget(self.tabs, 1)
        self._soon = QTimer(self, singleShot=True, interval=150)
        self._soon.timeout.connect(self.refresh)
        ctx.notifier.changed.connect(self._on_change)
        self._register_commands()
        self.set_incident(ctx.selection.current)

    def _button(self, text, name, slot, tip) -> QPushButton:
        b = QPushButton(text, self)
        b.setObjectName(name)
        b.setToolTip(tip)
        if slot is not None:
            b.clicked.connect(lambda: slot())
        return b

    # -- tabs ------------------------------------------------------------------------------------
    def _document_tab(self) -> QWidget:
        w = QWidget(self)
        self.section_list = QListWidget(w)
        self.section_list.setObjectName("review-sections")
        self.section_list.setAccessibleName("Review sections")
        self.section_list.currentItemChanged.connect(self._section_chosen)
        self.record_view = QTextBrowser(w)
        self.record_view.setObjectName("review-from-record")
        self.record_view.setAccessibleName("What the record says")
        self.prompt = QuietLabel("", w)
        self.editor = QPlainTextEdit(w)
        self.editor.setObjectName("review-editor")
        self.editor.setAccessibleName("Your text for this section")
        self.save_button = QPushButton("&Save section", w)
        self.save_button.setObjectName("review-save")
        self.save_button.setShortcut(QKeySequence("Ctrl+S"))
        self.save_button.clicked.connect(lambda: self.save_section())
        self.lint_line = QuietLabel("", w)
        self.lint_line.setObjectName("review-section-lint")
        right = QWidget(w)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QuietLabel("From the record (made fresh each time; never edited here):", right))
        rl.addWidget(self.record_view, 3)
        rl.addWidget(self.prompt)
        rl.addWidget(self.editor, 2)
        row = QHBoxLayout()
        row.addWidget(self.lint_line, 1)
        row.addWidget(self.save_button)
        rl.addLayout(row)
        split = QSplitter(Qt.Orientation.Horizontal, w)
        split.addWidget(self.section_list)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([230, 800])
        self.section_list.setMinimumWidth(150)
        for wide in (self.record_view, self.editor):
            wide.setMinimumWidth(200)
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addWidget(split)
        return w

    def _checklist_tab(self) -> QWidget:
        w = QWidget(self)
        self.checklist = QListWidget(w)
        self.checklist.setObjectName("review-checklist")
        self.checklist.setAccessibleName("Review checklist")
        self.checklist.itemChanged.connect(self._ticked)
        self.lint_list = QListWidget(w)
        self.lint_list.setObjectName("review-lint")
        self.lint_list.setAccessibleName("Blameless-language flags")
        self.lint_list.setWordWrap(True)
        self.checklist.setWordWrap(True)
        lay = QVBoxLayout(w)
        lay.addWidget(QuietLabel("Review checklist (gates Reviewed; tick what only a reviewer can tell):", w))
        lay.addWidget(self.checklist, 1)
        lay.addWidget(QuietLabel("Blameless-language lint (flags for the author; never blocks):", w))
        lay.addWidget(self.lint_list, 1)
        return w

    def _meeting_tab(self) -> QWidget:
        w = QWidget(self)
        self.meeting_line = QuietLabel("", w)
        self.attendees = QTableWidget(0, 4, w)
        self.attendees.setObjectName("review-attendees")
        self.attendees.setHorizontalHeaderLabels(("Person", "Role", "Time zone", "Attendance"))
        self.attendees.horizontalHeader().setStretchLastSection(True)
        self.attendees.verticalHeader().hide()
        lay = QVBoxLayout(w)
        lay.addWidget(self.meeting_line)
        lay.addWidget(self.attendees, 1)
        return w

    def _actions_tab(self) -> QWidget:
        w = QWidget(self)
        self.actions_table = QTableWidget(0, len(ACTION_COLUMNS), w)
        self.actions_table.setObjectName("review-actions")
        self.actions_table.setHorizontalHeaderLabels(ACTION_COLUMNS)
        self.actions_table.horizontalHeader().setStretchLastSection(True)
        self.actions_table.verticalHeader().hide()
        self.actions_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.actions_rule = QuietLabel("", w)
        add = QPushButton("&Add action item…", w)
        add.setObjectName("review-add-action")
        add.clicked.connect(lambda: self.add_action())
        done = QPushButton("Mark &done", w)
        done.setObjectName("review-action-done")
        done.clicked.connect(lambda: self.mark_action("done"))
        row = QHBoxLayout()
        row.addWidget(self.actions_rule, 1)
        row.addWidget(add)
        row.addWidget(done)
        lay = QVBoxLayout(w)
        lay.addWidget(self.actions_table, 1)
        lay.addLayout(row)
        return w

    def _register_commands(self) -> None:
        if self.ctx.shell is None:
            return
        for text, name, slot in (("Post-incident review: schedule the meeting…", "action-review-schedule", self.schedule),
                                 ("Post-incident review: add an action item…", "action-review-add-item", self.add_action),
                                 ("Post-incident review: export PDF…", "action-review-pdf", lambda: self.export("pdf")),
                                 ("Post-incident review: ask for one", "action-review-open", self.ask_for_review)):  # fmt: skip
            act = QAction(text, self)
            act.setObjectName(name)
            act.triggered.connect(lambda _c=False, s=slot: self._show_and(s))
            self.ctx.add_command(act, "Review")

    def _show_and(self, slot) -> None:
        show_panel(self.ctx, "review")
        slot()

    def focus_target(self) -> QWidget:
        return self.section_list

    # -- reading ---------------------------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        if self.incident is not None and incident is not None and incident.id != self.incident.id:
            self.save_section(quiet=True)
        self.incident = incident
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if self.incident is not None and change.topic in ("review", "actions", "timeline", "incident", "external") \
                and change.incident_id in (None, self.incident.id):  # fmt: skip
            self._soon.start()

    def refresh(self) -> None:
        svc = self.ctx.sitrep.reviews
        review = None
        if self.incident is not None:
            try:
                review = svc.find(self.incident.key)
            except SitrepError as err:
                self.ctx.status_message(err.message, error=True)
        has = review is not None
        for b in (self.move_button, self.meeting_button, self.invite_button, self.export_button):
            b.setEnabled(has and not self.ctx.sitrep.read_only)
        self.open_button.setVisible(self.incident is not None and not has)
        self.tabs.setEnabled(has)
        if self.incident is None:
            self.headline.setText("No incident in view.")
            self.clocks.setText("")
            return
        if not has:
            self.headline.setText(f"{self.incident.key}: no post-incident review")
            self.clocks.setText("It opens when an incident that owes one (severity, customer impact, data loss, "
                                "rollback, long or manually detected) is resolved; anyone may ask for one.")
            return
        now = self.ctx.sitrep.now()
        self.headline.setText(f"{self.incident.key} post-incident review — {review.status_label} "
                              f"(why: {', '.join(review.trigger_labels)})")  # fmt: skip
        parts = []
        for c in review.clocks():
            state = c.state(now)
            if state == "running":
                parts.append(f"{c.label}: due in {duration_text(c.remaining(now))}")
            else:
                parts.append(f"{c.label}: {'met' if state == 'met' else 'MISSED'}")
        self.clocks.setText("   ·   ".join(parts))
        self.move_menu.clear()
        for target in NEXT[review.status]:
            self.move_menu.addAction(STATUS_LABELS[target], lambda t=target: self.move(t))
        self._loading = True
        try:
            self.overview = self.ctx.sitrep.reviews.overview(self.incident.key)
            self._fill_sections()
            self._fill_checklist()
            self._fill_meeting(review)
            self._fill_actions()
        finally:
            self._loading = False

    def _fill_sections(self) -> None:
        keep = self._section
        self.sections = {s.id: s for s in self.overview.sections}
        self.section_list.blockSignals(True)
        self.section_list.clear()
        for s in self.sections.values():
            mark = "✓" if s.written else ("◦" if s.filled else "·")
            item = QListWidgetItem(f"{mark} {s.number}. {s.title}")
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            item.setToolTip("written" if s.written else "from the record" if s.filled else "to write")
            self.section_list.addItem(item)
        self.section_list.blockSignals(False)
        ids = list(self.sections)
        self.section_list.setCurrentRow(ids.index(keep) if keep in ids else 0)

    def _section_chosen(self, current, previous) -> None:
        if previous is not None and not self._loading:
            self.save_section(quiet=True)
        if current is None:
            return
        sid = current.data(Qt.ItemDataRole.UserRole)
        s = self.sections[sid]
        self._section = sid
        self.record_view.setHtml(markdown_to_html(s.filled, s.title) if s.filled else
                                 "<i>The record has nothing for this section: it is yours to write.</i>")  # fmt: skip
        self.prompt.setText(s.prompt)
        text = s.written
        if sid == "factors":
            text = (s.filled + ("\n\n" + s.written if s.written else "")).strip()
        self.editor.setPlainText(text)
        self.editor.document().setModified(False)
        self._show_lint(sid)

    def _show_lint(self, sid: str) -> None:
        flags = [f for f in self.overview.lint if f.section == sid]
        self.lint_line.setText(" · ".join(f"⚑ {f.rule}: “{f.sentence[:60]}”" for f in flags[:3]))

    def save_section(self, *, quiet: bool = False) -> None:
        if self.incident is None or self._section is None or not self.editor.document().isModified():
            return
        ok, _ = run_action(self.ctx, self, self.ctx.sitrep.reviews.write_section, self.incident.key, self._section,
                           self.editor.toPlainText(), author=self.ctx.author,
                           success=None if quiet else "Section saved.")  # fmt: skip
        if ok:
            self.editor.document().setModified(False)

    def _fill_checklist(self) -> None:
        self.checklist.clear()
        for c in self.overview.checklist:
            item = QListWidgetItem(c.label + ("" if c.met else f" — {c.missing}"))
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            if c.automatic:
                item.setText(("✓ " if c.met else "✗ ") + item.text())
                item.setToolTip("Sitrep checks this from the record")
            else:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if c.met else Qt.CheckState.Unchecked)
            self.checklist.addItem(item)
        self.lint_list.clear()
        for f in self.overview.lint:
            self.lint_list.addItem(f"⚑ {f.section}: “{f.sentence}” — {f.message}")
        if not self.lint_list.count():
            self.lint_list.addItem("No flags: the language reads blameless.")

    def _ticked(self, item: QListWidgetItem) -> None:
        if self._loading or not (item.flags() & Qt.ItemFlag.ItemIsUserCheckable):
            return
        run_action(self.ctx, self, self.ctx.sitrep.reviews.tick, self.incident.key, item.data(Qt.ItemDataRole.UserRole),
                   item.checkState() == Qt.CheckState.Checked, author=self.ctx.author)  # fmt: skip

    def _fill_meeting(self, review) -> None:
        people = review.row.get("attendees") or []
        if review.meeting_at is None:
            self.meeting_line.setText(f"Not scheduled; due by {review.meeting_due_at:%a %d %b %H:%M} UTC.")
        else:
            self.meeting_line.setText(f"{review.meeting_at:%a %d %b %H:%M} UTC, "
                                      f"{review.row.get('meeting_minutes')} min. Record who came:")  # fmt: skip
        self.attendees.setRowCount(len(people))
        for r, p in enumerate(people):
            for c, text in enumerate((p["name"], p.get("role") or "-", p.get("timezone") or "UTC")):
                self.attendees.setItem(r, c, QTableWidgetItem(text))
            combo = QComboBox(self.attendees)
            combo.addItem("invited", None)
            for a in ATTENDANCE:
                combo.addItem(a, a)
            combo.setCurrentIndex(max(0, combo.findData(p.get("attendance"))))
            combo.currentIndexChanged.connect(lambda _i, h=p["handle"], cb=combo: self._attend(h, cb.currentData()))
            self.attendees.setCellWidget(r, 3, combo)
        self.attendees.resizeColumnsToContents()

    def _attend(self, handle: str, attendance: str | None) -> None:
        if attendance and not self._loading:
            run_action(self.ctx, self, self.ctx.sitrep.reviews.attend, self.incident.key, handle, attendance,
                       author=self.ctx.author)  # fmt: skip

    def _fill_actions(self) -> None:
        items = self.ctx.sitrep.action_items.for_incident(self.incident.id)  # fresh: the overview's are dicts
        today = self.ctx.sitrep.now().date()
        self.actions_table.setRowCount(len(items))
        for r, a in enumerate(items):
            due = (a.due_on or "-") + ("  OVERDUE" if a.overdue(today) else "")
            for c, text in enumerate((a.key, a.title, a.category, a.priority, a.owner_name or "-", due, a.status)):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, a.key)
                if a.tracking_url:
                    cell.setToolTip(a.tracking_url)
                self.actions_table.setItem(r, c, cell)
        self.actions_table.resizeColumnsToContents()
        from_rule = [c for c in self.overview.checklist if c.id == "actions"]
        self.actions_rule.setText(from_rule[0].missing if from_rule and from_rule[0].missing else
                                  "Every item owned, due and tracked.")  # fmt: skip

    # -- doing -----------------------------------------------------------------------------------
    def ask_for_review(self) -> None:
        if self.incident is not None:
            run_action(self.ctx, self, self.ctx.sitrep.reviews.request, self.incident.key, author=self.ctx.author,
                       success="Review opened.")  # fmt: skip

    def move(self, target: str) -> None:
        self.save_section(quiet=True)
        svc = self.ctx.sitrep.reviews
        if target == "reviewed":
            unmet = [f"{c.label}: {c.missing}" for c in svc.checklist(self.incident.key) if not c.met]
            if unmet:
                OverrideDialog(self.ctx, self.incident, unmet, self).exec()
                return
        run_action(self.ctx, self, svc.set_status, self.incident.key, target, author=self.ctx.author,
                   success=f"Review: {STATUS_LABELS[target]}.")  # fmt: skip

    def schedule(self) -> None:
        if self.incident is not None and self.ctx.sitrep.reviews.find(self.incident.key):
            ScheduleMeetingDialog(self.ctx, self.incident, self).exec()

    def send_invitation(self) -> None:
        me = next((p for p in self.ctx.sitrep.people.list() if p.handle == self.ctx.author), None)
        organizer = (me.name, me.email) if me and me.email else (self.ctx.author, "sitrep@localhost")
        email = self.ctx.sitrep.sync.readiness("email")
        said = "Invitation queued for the e-mail channel." if email.ready else f"Invitation recorded, but nothing " \
            f"leaves: {email.problem}"  # fmt: skip
        run_action(self.ctx, self, self.ctx.sitrep.reviews.send_invitation, self.incident.key, author=self.ctx.author,
                   organizer=organizer, success=said)  # fmt: skip

    def add_action(self) -> None:
        if self.incident is not None:
            ActionItemDialog(self.ctx, self.incident, self).exec()

    def mark_action(self, status: str) -> None:
        row = self.actions_table.currentRow()
        if row < 0:
            self.ctx.status_message("Pick an action item first.", error=True)
            return
        key = self.actions_table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        run_action(self.ctx, self, self.ctx.sitrep.action_items.update, key, author=self.ctx.author, status=status,
                   success=f"{key}: {status}.")  # fmt: skip

    def export(self, fmt: str) -> None:
        if self.incident is None:
            return
        self.save_section(quiet=True)
        name = {"pdf": "PDF (*.pdf)", "html": "HTML (*.html)", "md": "Markdown (*.md)"}[fmt]
        path, _ = QFileDialog.getSaveFileName(self, "Export the review", f"{self.incident.key}-review.{fmt}", name)
        if not path:
            return
        svc = self.ctx.sitrep.reviews

        def write() -> None:
            if fmt == "pdf":
                write_pdf(svc.report_html(self.incident.key), Path(path), title=f"Review {self.incident.key}",
                          landscape=False)  # fmt: skip
            else:
                text = svc.report_html(self.incident.key) if fmt == "html" else svc.markdown(self.incident.key,
                                                                                            editable=True)
                try:
                    Path(path).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise SitrepError(f"Cannot write {path}: {exc.strerror}.") from None

        run_action(self.ctx, self, write, success=f"Wrote {path}")

    def import_markdown(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import the edited review", "", "Markdown (*.md)")
        if not path:
            return

        def read() -> list[str]:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SitrepError(f"Cannot read {path}: {exc}.") from None
            return self.ctx.sitrep.reviews.import_markdown(self.incident.key, text, author=self.ctx.author)

        ok, changed = run_action(self.ctx, self, read)
        if ok:
            self.ctx.status_message(f"Imported: {', '.join(changed)}." if changed else "Nothing changed.")

    def draft_summary(self) -> None:
        rec = self.ctx.sitrep.reviews.record(self.incident.key)
        run_action(self.ctx, self, self.ctx.sitrep.comms.draft, self.incident.key, "post_incident_email",
                   author=self.ctx.author, fields=summary_fields(rec),
                   success="Customer summary drafted: the comms lead edits and sends it from Communications.")  # fmt: skip

    def shutdown(self) -> None:
        self._soon.stop()


PANEL = PanelSpec(
    id="review",
    title="Post-incident review",
    factory=ReviewPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Ctrl+Alt+R",
    visible_by_default=False,
    readable_height=360,
)
