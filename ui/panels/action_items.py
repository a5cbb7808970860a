"""Action items across every incident: open, overdue (flagged), by owner, by service, with the completion
rate and age that measure whether an organisation learns. The same list as `sitrep actions list`."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change
from services.errors import SitrepError
from services.review.actions import STATUS_LABELS
from ui.forms import QuietLabel
from ui.operations import run_action
from ui.panels import PanelSpec
from ui.panels.review import show_panel

# Due and status before the title: on a laptop the long titles run off to the right, what slips does not.
COLUMNS = ("Id", "Incident", "Due", "Status", "Priority", "Owner", "Category", "Action", "Services")
COL_ACTION = COLUMNS.index("Action")
OVERDUE = QColor("#b3261e")


class ActionItemsPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("action-items-panel")
        self.show_what = QComboBox(self)
        self.show_what.setObjectName("actions-filter")
        self.show_what.setAccessibleName("Which action items")
        for label, key in (("Open", "open"), ("Overdue", "overdue"), ("All", "all")):
            self.show_what.addItem(label, key)
        self.owner = QComboBox(self)
        self.owner.setObjectName("actions-owner")
        self.owner.setAccessibleName("Owner")
        self.service = QComboBox(self)
        self.service.setObjectName("actions-service")
        self.service.setAccessibleName("Service")
        for combo in (self.show_what, self.owner, self.service):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.stats = QuietLabel("", self)
        self.stats.setObjectName("actions-stats")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("actions-table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.open_incident())
        buttons = QHBoxLayout()
        for text, name, status in (("&Start", "actions-start", "in_progress"), ("Mark &done", "actions-done", "done"),
                                   ("&Won't do", "actions-wont", "wont_do"), ("Re&open", "actions-reopen", "open")):  # fmt: skip
            b = QPushButton(text, self)
            b.setObjectName(name)
            b.clicked.connect(lambda _c=False, s=status: self.set_status(s))
            buttons.addWidget(b)
        go = QPushButton("Open &incident", self)
        go.setObjectName("actions-open-incident")
        go.clicked.connect(lambda: self.open_incident())
        buttons.addWidget(go)
        buttons.addStretch(1)
        filters = QHBoxLayout()
        for label, combo in (("&Show", self.show_what), ("&Owner", self.owner), ("Ser&vice", self.service)):
            lab = QLabel(label, self)
            lab.setBuddy(combo)
            filters.addWidget(lab)
            filters.addWidget(combo)
        filters.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(filters)
        lay.addWidget(self.stats)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        self._soon = QTimer(self, singleShot=True, interval=150)
        self._soon.timeout.connect(self.refresh)
        ctx.notifier.changed.connect(self._on_change)
        if ctx.shell is not None:
            act = QAction("Action items across incidents", self)
            act.setObjectName("action-open-action-items")
            act.triggered.connect(lambda: show_panel(self.ctx, "action_items"))
            ctx.add_command(act, "Review")
        self._fill_filters()
        self.refresh()

    def focus_target(self) -> QWidget:
        return self.table

    def _on_change(self, change: Change) -> None:
        if change.topic in ("actions", "people", "incident", "external"):
            self._soon.start()

    def _fill_filters(self) -> None:
        items = self.ctx.sitrep.action_items.list()
        for combo, values in ((self.owner, sorted({(a.owner_name or a.owner, a.owner) for a in items if a.owner})),
                              (self.service, sorted({(s, s) for a in items for s in a.services}))):  # fmt: skip
            keep = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("Anyone" if combo is self.owner else "Any service", None)
            for label, value in values:
                combo.addItem(label, value)
            combo.setCurrentIndex(max(0, combo.findData(keep)))
            combo.blockSignals(False)

    def refresh(self) -> None:
        svc = self.ctx.sitrep.action_items
        what = self.show_what.currentData()
        try:
            rows = svc.list(overdue=what == "overdue", open_only=what == "open", owner=self.owner.currentData(),
                            service=self.service.currentData())  # fmt: skip
            st = svc.stats()
        except SitrepError as err:
            self.ctx.status_message(err.message, error=True)
            return
        rate = f"{st.completion_rate:.0%}" if st.completion_rate is not None else "-"
        age = f"{st.median_open_age_days:.1f} days" if st.median_open_age_days is not None else "-"
        done = f"{st.median_days_to_done:.1f} days" if st.median_days_to_done is not None else "-"
        self.stats.setText(f"{st.total} action items: {st.done} done, {st.open} open, {st.overdue} overdue. "
                           f"Completion rate {rate}; median age of open items {age}; median time to done {done}.")  # fmt: skip
        today = self.ctx.sitrep.now().date()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, a in enumerate(rows):
            late = a.overdue(today)
            values = (a.key, a.incident_key, (a.due_on or "-") + ("  ⚑ overdue" if late else ""), STATUS_LABELS[a.status],
                      a.priority, a.owner_name or "-", a.category, a.title, ", ".join(a.services))  # fmt: skip
            for c, text in enumerate(values):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, a.key)
                cell.setData(Qt.ItemDataRole.UserRole + 1, a.incident_id)
                if a.tracking_url:
                    cell.setToolTip(a.tracking_url)
                if late and c in (0, 2):
                    cell.setForeground(QBrush(OVERDUE))
                self.table.setItem(r, c, cell)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        if self.table.columnWidth(COL_ACTION) > 420:
            self.table.setColumnWidth(COL_ACTION, 420)

    def _current(self, role=Qt.ItemDataRole.UserRole):
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return item.data(role) if item is not None else None

    def set_status(self, status: str) -> None:
        key = self._current()
        if key is None:
            self.ctx.status_message("Pick an action item first.", error=True)
            return
        run_action(self.ctx, self, self.ctx.sitrep.action_items.update, key, author=self.ctx.author, status=status,
                   success=f"{key}: {STATUS_LABELS[status]}.")  # fmt: skip

    def open_incident(self) -> None:
        key = self._current(Qt.ItemDataRole.UserRole + 1)
        if key:
            self.ctx.open_incident(key)

    def shutdown(self) -> None:
        self._soon.stop()


PANEL = PanelSpec(
    id="action_items",
    title="Action items",
    factory=ActionItemsPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Ctrl+Alt+I",
    visible_by_default=False,
    readable_height=260,
)
