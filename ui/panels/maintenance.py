"""Maintenance panel (Alt+9): planned maintenance windows, open ones soonest first, with their times in the
viewer's zone, where the status page has them, and their history; plan, edit and post updates from here.

Everything here reads and writes the local store. What the status page is owed is queued in the same
transaction as the change and sent by the sync worker, so the GUI thread never waits on the network.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QBrush, QColor, QDesktopServices, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from models.enums import MaintenanceStatus
from services.changes import Change, Topic
from services.errors import SitrepError
from services.maintenance import MaintenanceView, RemoteCopy
from ui.dialogs.maintenance import MaintenanceDialog, MaintenanceUpdateDialog
from ui.fields import record_table
from ui.item_models.rows import RowsModel
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.sync_support import sync_bridge
from ui.timefmt import duration_text, full_text, viewer_and_utc, viewer_time, viewer_zone

# The window's name last: it takes the room there is (the panel often shares a narrow column). Where the
# status page has it is the dot before the status (the words are in its tooltip and the details).
COLUMNS = ("Status", "When", "Window")
COL_STATUS, COL_WHEN, COL_TITLE = range(len(COLUMNS))
WindowRole = Qt.ItemDataRole.UserRole + 1
PHASE_REFRESH_MS = 30_000  # "upcoming" becomes "start time passed" with the clock, not with a change
FINISHED_SHOWN = 200

_STATUS_COLOURS = {
    MaintenanceStatus.SCHEDULED: QColor("#2b6cb0"),
    MaintenanceStatus.IN_PROGRESS: QColor("#b36b00"),
    MaintenanceStatus.VERIFYING: QColor("#b36b00"),
    MaintenanceStatus.COMPLETED: QColor("#107c10"),
    MaintenanceStatus.CANCELLED: QColor(128, 128, 128),
}
_REFUSED = QColor("#d13438")
_REMOTE_DOTS = {"published": "#107c10", "waiting": "#b36b00", "refused": "#d13438", "none": "#8a8886"}


def _dot(colour: str, size: int = 10) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(0, 0, size, size)
    painter.end()
    return QIcon(pix)


@dataclass(frozen=True)
class WindowRow:
    """One window as the list shows it: plain values, never a live ORM object."""

    window: MaintenanceView
    copies: tuple[RemoteCopy, ...]

    def remote_look(self) -> str:
        """published | waiting | refused | none: the dot beside the status."""
        if any(c.failed for c in self.copies):
            return "refused"
        if any(c.pending for c in self.copies):
            return "waiting"
        if any(c.remote_id for c in self.copies):
            return "published"
        return "none"

    def remote_tip(self) -> str:
        return "\n".join(
            f"{c.label}: {c.summary()}" + (f"\n{c.url}" if c.url else "") for c in self.copies
        ) or ("Not on any status page (none is set up).")


def planned_time(value, now) -> str:
    """A planned time in the viewer's zone, as short as it can be read: '22:00' today, 'Sat 02:00' in the
    coming week, '28 Nov 02:00' otherwise (with the year when it is not this one). Past days are never
    named by weekday alone: last Saturday's window must not read like next Saturday's."""
    zone = viewer_zone()
    local, today = value.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if 0 < (local.date() - today).days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%d %b %H:%M" if local.year == today.year else "%d %b %Y %H:%M")


def when_text(w: MaintenanceView, now) -> str:
    zone = viewer_zone()
    start, end = w.scheduled_for.astimezone(zone), w.scheduled_until.astimezone(zone)
    end_text = end.strftime("%H:%M") if end.date() == start.date() else planned_time(w.scheduled_until, now)
    return f"{planned_time(w.scheduled_for, now)}–{end_text}"


def status_text(w: MaintenanceView, now) -> str:
    phase = w.phase(now)
    if phase in ("start time passed", "running past its end"):
        return f"{w.status.label} ({phase})"
    return w.status.label


class MaintenanceModel(RowsModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[WindowRow] = []
        self._now = None
        self._dots = {look: _dot(colour) for look, colour in _REMOTE_DOTS.items()}

    def set_rows(self, rows: list[WindowRow], now) -> None:
        self._now = now
        if [r.window.id for r in rows] == [r.window.id for r in self.rows]:
            self.rows = list(rows)
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row(self, n: int) -> WindowRow | None:
        return self.rows[n] if 0 <= n < len(self.rows) else None

    def row_of(self, window_id: str) -> int | None:
        return next((n for n, r in enumerate(self.rows) if r.window.id == window_id), None)

    headers = COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        w, col = row.window, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_STATUS:
                return status_text(w, self._now)
            if col == COL_WHEN:
                return when_text(w, self._now)
            if col == COL_TITLE:
                return w.title
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_STATUS:
            return self._dots[row.remote_look()]
        if role == WindowRole:
            return w
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_WHEN:
                return f"Starts {viewer_and_utc(w.scheduled_for)}\nEnds {viewer_and_utc(w.scheduled_until)}"
            if col == COL_STATUS:
                return f"{w.status.label}: {w.phase(self._now)}\n{row.remote_tip()}"
            if col == COL_TITLE:
                return f"{w.key}: {w.title}"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_STATUS:
                return QBrush(_STATUS_COLOURS[w.status])
            if col == COL_TITLE and any(c.failed for c in row.copies):
                return QBrush(_REFUSED)
        return None


class MaintenancePanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.svc = ctx.sitrep.maintenance
        self.model = MaintenanceModel(self)
        self.dialog = None
        self._build()
        self._register_commands()
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(150)
        self._soon.timeout.connect(self.refresh)
        ctx.notifier.changed.connect(self._on_change)
        sync_bridge(ctx).changed.connect(self._soon.start)  # a send or refusal changes the status-page column
        self._clock = QTimer(self)
        self._clock.setInterval(PHASE_REFRESH_MS)
        self._clock.timeout.connect(self.refresh)
        self._clock.start()
        self.refresh()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.plan_button = QPushButton("&Plan…", self)
        self.plan_button.setObjectName("maintenance-plan")
        self.plan_button.setToolTip("Plan a maintenance window; the status page hears of it when it answers")
        self.plan_button.clicked.connect(lambda: self.plan())
        self.show_finished = QCheckBox("Show fi&nished", self)
        self.show_finished.setObjectName("maintenance-show-finished")
        self.show_finished.toggled.connect(self.refresh)
        top.addWidget(self.plan_button)
        top.addStretch(1)
        top.addWidget(self.show_finished)
        lay.addLayout(top)

        self.view = record_table(self, self.model, "maintenance-view", "Maintenance windows")
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.view.activated.connect(lambda _index: self.post_update())
        fm = self.fontMetrics()
        for col, sample in {COL_STATUS: "● In progress", COL_WHEN: "Wed 23:59–Thu 01:30"}.items():
            self.view.setColumnWidth(col, fm.horizontalAdvance(sample) + 18)
        self.view.horizontalHeader().setStretchLastSection(True)

        self.detail = QTextBrowser(self)
        self.detail.setObjectName("maintenance-detail")
        self.detail.setAccessibleName("The selected maintenance window")
        self.detail.setOpenLinks(False)  # only http(s) links are made, and opened here
        self.detail.anchorClicked.connect(self._open_link)
        self.detail.setPlaceholderText(
            "Select a window to see its details, its status-page copy and its history."
        )
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.setChildrenCollapsible(False)
        split.addWidget(self.view)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)  # a handful of windows at a time; their details need the room
        lay.addWidget(split, 1)

        buttons = QHBoxLayout()
        self.edit_button = QPushButton("&Edit…", self)
        self.edit_button.setObjectName("maintenance-edit")
        self.edit_button.setToolTip("Change its title, times, services, description or flags")
        self.edit_button.clicked.connect(lambda: self.edit())
        self.update_button = QPushButton("Post &update…", self)
        self.update_button.setObjectName("maintenance-update")
        self.update_button.setToolTip("Tell subscribers how it goes, and move it on: in progress, verifying, "
                                      "completed, or cancel it (Enter on a row)")  # fmt: skip
        self.update_button.clicked.connect(lambda: self.post_update())
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.update_button)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self._selection_changed()

    def _register_commands(self) -> None:
        if self.ctx.shell is None:
            return
        plan = QAction("Plan maintenance…", self)
        plan.setObjectName("action-plan-maintenance")
        plan.triggered.connect(lambda: self.plan())
        self.ctx.add_command(plan, "Tools")

    def focus_target(self) -> QWidget:
        return self.view

    # -- reading -------------------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.topic in {Topic.MAINTENANCE, Topic.SYNC, Topic.EXTERNAL}:
            self._soon.start()

    def _read_rows(self) -> list[WindowRow]:
        windows = self.svc.list(include_finished=self.show_finished.isChecked(), limit=FINISHED_SHOWN)
        copies = self.svc.remote_copies_of([w.id for w in windows])
        return [WindowRow(w, tuple(copies.get(w.id, ()))) for w in windows]

    def refresh(self, *_args) -> None:
        chosen = self.selected()
        ok, rows = read_or_say(self.ctx, self._read_rows)
        if not ok:
            return
        self.model.set_rows(rows, self.ctx.sitrep.now())
        if chosen is not None:
            self.select(chosen.id)
        elif rows and not self.view.selectionModel().hasSelection():
            self.view.selectRow(0)
        self._selection_changed()

    def select(self, window_id: str) -> None:
        n = self.model.row_of(window_id)
        if n is not None and (self.selected() is None or self.selected().id != window_id):
            self.view.selectRow(n)

    def selected_row(self) -> WindowRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def selected(self) -> MaintenanceView | None:
        row = self.selected_row()
        return row.window if row else None

    def _selection_changed(self, *_args) -> None:
        row = self.selected_row()
        w = row.window if row else None
        self.edit_button.setEnabled(w is not None and w.is_open)
        self.update_button.setEnabled(w is not None and w.status is not MaintenanceStatus.CANCELLED)
        self.detail.setHtml(self._describe(row) if row else "")

    def _describe(self, row: WindowRow) -> str:
        w, esc = row.window, html.escape
        now = self.ctx.sitrep.now()
        if w.status is MaintenanceStatus.SCHEDULED and now < w.scheduled_for:
            countdown = f", starts in {duration_text(w.scheduled_for - now)}"
        elif (
            w.status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
            and now < w.scheduled_until
        ):
            countdown = f", ends in {duration_text(w.scheduled_until - now)}"
        else:
            countdown = f", {w.phase(now)}" if w.is_open else ""
        parts = [
            f"<b>{esc(w.key)} {esc(w.title)}</b> — {esc(w.status.label.lower())}{esc(countdown)}",
            f"{esc(full_text(w.scheduled_for))} → {esc(full_text(w.scheduled_until))}",
            f"Services: {esc(', '.join(w.services) or 'none named')}. "
            + ("Subscribers are notified" if w.notify_subscribers else "Subscribers are not notified")
            + (", reminded beforehand" if w.remind_subscribers else "")
            + ("; starts by itself" if w.auto_in_progress else "; started by hand")
            + ("; completes by itself." if w.auto_complete else "; completed by hand."),
        ]
        if w.description:
            parts.append(esc(w.description).replace("\n", "<br>"))
        for c in row.copies:
            link = (f' <a href="{esc(c.url, quote=True)}">{esc(c.url)}</a>'
                    if c.url and c.url.startswith(("https://", "http://")) else "")  # fmt: skip
            colour = ' style="color:#d13438"' if c.failed else ""
            todo = " Retry or cancel it in the sync queue (Alt+7)." if c.failed else ""
            parts.append(f"<span{colour}>{esc(c.label)}: {esc(c.summary())}</span>{link}{esc(todo)}")
        if not row.copies:
            parts.append("Not on any status page yet (none is set up: Tools ▸ Backends…).")
        try:
            history = self.svc.history(w.id)
        except SitrepError:
            history = []
        lines = []
        for h in reversed(history):
            source = "" if h.source == "local" else f" via {esc(h.source)}"
            lines.append(
                f"{esc(viewer_time(h.recorded_at, now))} {esc(h.author)}{source}: {esc(h.describe())}"
            )
        if lines:
            parts.append("<b>History</b> (newest first)<br>" + "<br>".join(lines))
        return "<p>" + "</p><p>".join(parts) + "</p>"

    def _open_link(self, url: QUrl) -> None:
        if url.scheme() in ("https", "http"):
            QDesktopServices.openUrl(url)

    # -- acting --------------------------------------------------------------------------------
    def _window_parent(self) -> QWidget:
        return self.ctx.dialog_parent(self)

    def plan(self):
        return self._open(MaintenanceDialog(self.ctx, self._window_parent()))

    def edit(self):
        w = self.selected()
        if w is None or not w.is_open:
            self.ctx.status_message("Select an open maintenance window to edit.", error=True)
            return None
        ok, fresh = run_action(self.ctx, self, self.svc.get, w.id)
        return self._open(MaintenanceDialog(self.ctx, self._window_parent(), fresh)) if ok else None

    def post_update(self, status: MaintenanceStatus | None = None):
        w = self.selected()
        if w is None or w.status is MaintenanceStatus.CANCELLED:
            self.ctx.status_message("Select a maintenance window that is not cancelled.", error=True)
            return None
        ok, fresh = run_action(self.ctx, self, self.svc.get, w.id)
        if not ok:
            return None
        return self._open(MaintenanceUpdateDialog(self.ctx, fresh, self._window_parent(), status=status))

    def _open(self, dialog):
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._done(dialog))
        dialog.open()
        return dialog

    def _done(self, dialog) -> None:
        view = dialog.result_value
        self.refresh()
        if view is not None:
            self.select(view.id)

    def shutdown(self) -> None:
        self._clock.stop()
        self._soon.stop()


PANEL = PanelSpec(
    id="maintenance",
    title="Maintenance",
    factory=MaintenancePanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Alt+9",
    visible_by_default=False,
)
