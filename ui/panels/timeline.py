"""Live timeline panel: the record, filtered and searchable, and the quick-entry line under it."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from models.enums import AUTHORED_KINDS, EntryKind
from services.changes import Change
from services.errors import SitrepError
from services.record.timeline import parse_quick_entry
from services.record.views import IncidentView
from services.text.timeparse import parse_when
from ui.dialogs.entry_detail import open_entry_detail
from ui.dialogs.send_to_backends import LinkRelatedDialog, SendToBackendsDialog
from ui.item_models.timeline import (
    COL_AUTHOR,
    COL_BODY,
    COL_KIND,
    COL_SEQ,
    COL_SOURCE,
    COL_TIME,
    TimelineFilter,
    TimelineModel,
)
from ui.live_table import LiveTableView
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.sync_support import RemoteLinksStrip

ENTRY_HINT = "Log an entry — /obs, /assume, /decision … because …, /action, /comms — Enter to save"


class TimelinePanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident: IncidentView | None = None
        self.model = TimelineModel(ctx.sitrep, self)
        ctx.notifier.changed.connect(self._on_change)
        # Before the view's own connections, so the count is up to date when the view paints new rows at once.
        self.model.rowsInserted.connect(self._after_insert)
        self.model.modelReset.connect(self._update_count)
        self._build()
        self._register_commands()
        self._update_count()
        self.set_incident(None)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.remote_links = RemoteLinksStrip(self.ctx, self)
        lay.addWidget(self.remote_links)

        filters = QHBoxLayout()
        self.kind_button = QToolButton(self)
        self.kind_button.setText("Kinds: all")
        self.kind_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.kind_button.setAccessibleName("Filter by kind")
        menu = QMenu(self.kind_button)
        self.kind_actions: dict[str, QAction] = {}
        for kind in EntryKind:
            act = menu.addAction(kind.label)
            act.setCheckable(True)
            act.toggled.connect(self._filters_changed)
            self.kind_actions[kind.value] = act
        menu.addSeparator()
        menu.addAction("Show all kinds", self._clear_kinds)
        self.kind_button.setMenu(menu)
        self.author_filter = QLineEdit(self)
        self.author_filter.setPlaceholderText("Author")
        self.author_filter.setAccessibleName("Filter by author")
        self.author_filter.setClearButtonEnabled(True)
        self.author_filter.setMaximumWidth(160)
        self.text_filter = QLineEdit(self)
        self.text_filter.setPlaceholderText("Search the timeline (Ctrl+F)")
        self.text_filter.setAccessibleName("Search the timeline")
        self.text_filter.setClearButtonEnabled(True)
        self.hide_corrected = QCheckBox("Hide corrected", self)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("timeline-count")
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._apply_filter)
        self.author_filter.textChanged.connect(self._filters_changed)
        self.text_filter.textChanged.connect(self._filters_changed)
        self.hide_corrected.toggled.connect(self._filters_changed)
        filters.addWidget(self.kind_button)
        filters.addWidget(self.author_filter)
        filters.addWidget(self.text_filter, 1)
        filters.addWidget(self.hide_corrected)
        filters.addWidget(self.count_label)
        lay.addLayout(filters)

        self.view = LiveTableView(self)  # follows the live edge, painting only the rows that arrive
        self.view.setObjectName("timeline-view")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        vh = self.view.verticalHeader()
        vh.setVisible(False)
        # Fixed row height: a per-row ResizeToContents is O(n) and freezes a 100k-entry timeline.
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        hh = self.view.horizontalHeader()
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(COL_BODY, QHeaderView.ResizeMode.Stretch)
        fm = self.fontMetrics()
        for col, sample in (
            (COL_SEQ, "99999"),
            (COL_TIME, "Wed 23:59:59"),
            (COL_KIND, "Milestone change"),
            (COL_AUTHOR, "someone.long"),
            (COL_SOURCE, "pagerduty"),
        ):
            self.view.setColumnWidth(col, fm.horizontalAdvance(sample) + 24)
        self.view.setColumnWidth(COL_TIME, fm.horizontalAdvance("Wed 23:59:59 ↶ 23:59") + 16)
        hh.setSortIndicator(COL_TIME, Qt.SortOrder.AscendingOrder)
        hh.setSortIndicatorShown(True)
        self.view.setSortingEnabled(True)  # the model orders the whole timeline in the store
        self.view.activated.connect(lambda index: self.open_entry(index.row()))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        lay.addWidget(self.view, 1)
        # New entries that arrived below a reader who is further up: said here, not scrolled to.
        self.new_below = QPushButton(self)
        self.new_below.setObjectName("timeline-new-below")
        self.new_below.setFlat(True)
        self.new_below.setToolTip("Jump to the latest entry (Ctrl+End)")
        # Never wider than the timeline is: a narrow panel shows the start of the words, not a wider panel.
        self.new_below.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.new_below.hide()
        self.new_below.clicked.connect(self.view.scrollToBottom)
        self._below = 0
        self.view.rows_below.connect(self._rows_below)
        self.view.verticalScrollBar().valueChanged.connect(self._maybe_caught_up)
        self.view.verticalScrollBar().rangeChanged.connect(self._maybe_caught_up)
        lay.addWidget(self.new_below)

        entry_row = QHBoxLayout()
        self.kind_combo = QComboBox(self)
        self.kind_combo.setAccessibleName("Entry kind")
        self.kind_combo.setToolTip("Kind of entry (a /prefix in the text overrides it)")
        for kind in EntryKind:
            if kind in AUTHORED_KINDS:
                self.kind_combo.addItem(kind.label, kind.value)
        self.entry = QLineEdit(self)
        self.entry.setObjectName("quick-entry")
        self.entry.setPlaceholderText(ENTRY_HINT)
        self.entry.setAccessibleName("Quick entry")
        self.entry.returnPressed.connect(self.submit)
        # An error about the text goes as soon as there is text again (it is stale after that).
        self.entry.textChanged.connect(lambda text: self._show_error(None) if text.strip() else None)
        self.at = QLineEdit(self)
        self.at.setObjectName("entry-at")
        self.at.setPlaceholderText("now")
        self.at.setToolTip(
            "When it happened, to backdate: 09:40 (your time), 10m ago, or an ISO time. Empty = now."
        )
        self.at.setAccessibleName("Occurred at")
        self.at.setMaximumWidth(130)
        self.at.returnPressed.connect(self.submit)
        at_label = QLabel("&At:", self)
        at_label.setBuddy(self.at)
        self.log_button = QPushButton("Log", self)
        self.log_button.clicked.connect(self.submit)
        entry_row.addWidget(self.kind_combo)
        entry_row.addWidget(self.entry, 1)
        entry_row.addWidget(at_label)
        entry_row.addWidget(self.at)
        entry_row.addWidget(self.log_button)
        lay.addLayout(entry_row)
        self.entry_error = QLabel(self)
        self.entry_error.setObjectName("entry-error")
        self.entry_error.setStyleSheet("color: #d13438;")
        self.entry_error.setWordWrap(True)
        self.entry_error.hide()
        lay.addWidget(self.entry_error)

    def _register_commands(self) -> None:
        if self.ctx.shell is None:  # standing alone: no menus or palette to list them in
            return
        add = self.ctx.shell.add_command
        log_entry = QAction("Log a timeline entry", self)
        log_entry.setShortcut(QKeySequence("Ctrl+L"))
        log_entry.triggered.connect(self.focus_entry)
        add(log_entry, "Incident")
        search = QAction("Search the timeline", self)
        search.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        search.triggered.connect(lambda: (self.text_filter.setFocus(), self.text_filter.selectAll()))
        add(search, "Incident")
        correct = QAction("Correct the selected entry…", self)
        correct.setShortcut(QKeySequence("Ctrl+Shift+E"))
        correct.triggered.connect(self.correct_selected)
        add(correct, "Incident")
        send = QAction("Send the selected entry to PagerDuty / Jira / Statuspage…", self)
        send.triggered.connect(self.send_selected)
        add(send, "Incident")
        related = QAction("Link a related Jira issue…", self)
        related.triggered.connect(self.link_related)
        add(related, "Incident")
        read = QAction("Read the selected entry in full", self)
        read.setToolTip("The whole text, both times, author, corrections and hash (Enter on a row)")
        read.triggered.connect(lambda: self.open_entry(self.view.currentIndex().row()))
        add(read, "Incident")
        chain = QAction("Timeline in the order logged (the hash chain's)", self)
        chain.triggered.connect(lambda: self.view.sortByColumn(COL_SEQ, Qt.SortOrder.AscendingOrder))
        add(chain, "View")
        by_time = QAction("Timeline by time of occurrence", self)
        by_time.triggered.connect(lambda: self.view.sortByColumn(COL_TIME, Qt.SortOrder.AscendingOrder))
        add(by_time, "View")
        follow = QAction("Jump to the latest entry", self)
        follow.setShortcut(QKeySequence("Ctrl+End"))
        follow.triggered.connect(self.view.scrollToBottom)
        add(follow, "Incident")

    def focus_target(self) -> QWidget:
        return self.entry

    def focus_entry(self) -> None:
        dock = self.parentWidget()
        if dock is not None:
            dock.show()
            dock.raise_()
        self.entry.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- following the incident -----------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        switched = incident is None or self.incident is None or incident.id != self.incident.id
        self.incident = incident
        enabled = incident is not None
        for w in (self.entry, self.at, self.log_button, self.kind_combo):
            w.setEnabled(enabled)
        if switched:
            self.remote_links.set_incident(incident.id if incident else None)
            self.model.set_incident(incident.id if incident else None)
            self._below = 0
            self.new_below.hide()
            self.view.scrollToBottom()
            # Again once the view has its final size (at start-up it is laid out after this).
            QTimer.singleShot(0, self.view.scrollToBottom)
            self._show_error(None)

    def _on_change(self, change: Change) -> None:
        self.model.on_change(change)

    def _after_insert(self, *args) -> None:
        # Whether the view follows the new rows to the live edge is the view's to decide (LiveTableView).
        self._update_count()

    def _rows_below(self, count: int) -> None:
        self._below += count
        self.new_below.setText(f"↓ {self._below:,} new {'entry' if self._below == 1 else 'entries'} below (Ctrl+End)")
        self.new_below.show()

    def _maybe_caught_up(self, *args) -> None:
        if self._below and self.view.at_end():
            self._below = 0
            self.new_below.hide()

    def _update_count(self, *args) -> None:
        shown = self.model.rowCount()
        if self.model.filter.active and self.incident is not None:
            self.count_label.setText(f"{shown:,} shown")
        else:
            self.count_label.setText(f"{shown:,} {'entry' if shown == 1 else 'entries'}")

    # -- filtering -------------------------------------------------------------------------------
    def _filters_changed(self, *args) -> None:
        kinds = [k for k, a in self.kind_actions.items() if a.isChecked()]
        self.kind_button.setText("Kinds: all" if not kinds else f"Kinds: {len(kinds)}")
        self._debounce.start()

    def _clear_kinds(self) -> None:
        for a in self.kind_actions.values():
            a.blockSignals(True)
            a.setChecked(False)
            a.blockSignals(False)
        self._filters_changed()

    def _apply_filter(self) -> None:
        flt = TimelineFilter(
            kinds=frozenset(k for k, a in self.kind_actions.items() if a.isChecked()),
            author=self.author_filter.text(),
            text=self.text_filter.text(),
            hide_superseded=self.hide_corrected.isChecked(),
        )
        read_or_say(self.ctx, self.model.set_filter, flt)
        self.view.scrollToBottom()

    # -- writing ---------------------------------------------------------------------------------
    def submit(self) -> bool:
        if self.incident is None:
            return False
        text = self.entry.text()
        try:
            kind, body, rationale = parse_quick_entry(text)
            if not text.strip().startswith("/"):
                kind = EntryKind(self.kind_combo.currentData())
            when = (
                parse_when(self.at.text(), now=self.ctx.sitrep.now(), field="at")
                if self.at.text().strip()
                else None
            )
            if kind is EntryKind.DECISION and not rationale:
                rationale = self._ask_rationale(body)
                if rationale is None:
                    return False
            entry = self.ctx.sitrep.timeline.log(
                self.incident.id,
                body,
                author=self.ctx.author,
                kind=kind,
                occurred_at=when,
                rationale=rationale,
            )
        except SitrepError as err:
            self._show_error(err.message)
            (self.at if err.field == "at" else self.entry).setFocus()
            return False
        self._show_error(None)
        self.entry.clear()
        self.at.clear()
        self.model.pull_new()
        self.ctx.status_message(
            f"Logged #{entry.seq} ({EntryKind(entry.kind).label.lower()}).", timeout_ms=3000
        )
        return True

    def _ask_rationale(self, body: str) -> str | None:
        ask = QInputDialog(self)
        ask.setWindowTitle("Decision rationale")
        ask.setLabelText(f"Why this decision, and not something else?\n\n{body}")
        ask.setTextEchoMode(QLineEdit.EchoMode.Normal)
        # A rationale is a sentence or two: give it room to be read back before it is saved.
        ask.resize(self.fontMetrics().averageCharWidth() * 80, ask.sizeHint().height())
        if not ask.exec():
            return None
        return ask.textValue().strip() or None

    def _show_error(self, message: str | None) -> None:
        self.entry_error.setText(message or "")
        self.entry_error.setVisible(bool(message))

    def selected_entry(self):
        idx = self.view.currentIndex()
        return self.model.entry(idx.row()) if idx.isValid() else None

    def correct_selected(self) -> None:
        e = self.selected_entry()
        if e is None:
            self.ctx.status_message("Select the entry to correct first.", error=True)
            return
        text, ok = QInputDialog.getText(
            self, f"Correct entry #{e.seq}", "Corrected text:", QLineEdit.EchoMode.Normal, e.body
        )
        if not ok:
            return
        reason, ok = QInputDialog.getText(self, f"Correct entry #{e.seq}", "Why is it being corrected?")
        if not ok:
            return
        ok, new = run_action(self.ctx, self, self.ctx.sitrep.timeline.correct, e.id, text, author=self.ctx.author,
                             reason=reason)  # fmt: skip
        if not ok:
            return
        self.model.pull_new()
        self.ctx.status_message(f"Entry #{e.seq} corrected by #{new.seq}; the original stays in the record.")

    def _context_menu(self, pos) -> None:
        if self.selected_entry() is None:
            return
        menu = QMenu(self)
        menu.addAction("Read in full…", lambda: self.open_entry(self.view.currentIndex().row()))
        menu.addAction("Correct this entry…", self.correct_selected)
        menu.addAction("Send to PagerDuty / Jira / Statuspage…", self.send_selected)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def open_entry(self, row: int):
        """The entry at a table row in full (Enter or a double-click)."""
        if self.model.entry(row) is None:
            self.ctx.status_message("Select the entry to read first.", error=True)
            return None
        exercise = bool(self.incident is not None and self.incident.is_exercise)
        self.detail_dialog = open_entry_detail(self.ctx, self.model.entry, row, self, exercise=exercise)
        return self.detail_dialog

    def send_selected(self):
        """Queue the selected entry for the backends the commander picks (as `sitrep sync post` does)."""
        e = self.selected_entry()
        if e is None or self.incident is None:
            self.ctx.status_message("Select the entry to send first.", error=True)
            return
        # Window-modal and non-blocking, like the console's other dialogs.
        dialog = self.send_dialog = SendToBackendsDialog(self.ctx, self.incident, e, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.model.pull_new)
        dialog.open()
        return dialog

    def link_related(self):
        """Link a related Jira issue to the incident's ticket (logged now, linked at the next sync)."""
        if self.incident is None:
            self.ctx.status_message("Choose an incident first.", error=True)
            return
        dialog = self.related_dialog = LinkRelatedDialog(self.ctx, self.incident, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.model.pull_new)
        dialog.open()
        return dialog

    def save_draft(self) -> str | None:
        """For the crash handler: keep what was typed but not yet logged."""
        text = self.entry.text().strip()
        if not text:
            return None
        path = self.ctx.paths.data / "unsent-entry.txt"
        path.write_text(text + "\n", encoding="utf-8")
        return f"the entry you were typing, in {path}"


PANEL = PanelSpec(
    id="timeline",
    title="Live timeline",
    factory=TimelinePanel,
    area=Qt.DockWidgetArea.LeftDockWidgetArea,
    shortcut="Alt+1",
    # The filters, a dozen entries and the quick-entry line: a panel opened under the timeline must
    # leave it this much, or it opens as a tab beside it.
    readable_height=360,
)
