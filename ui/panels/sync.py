"""The sync queue: what each backend is owed, sent or refused, with retry and cancel; and the status-bar
indicator that says whether Sitrep is reaching the backends at all.

Everything here reads and writes the local store only. Talking to a backend happens in the sync
worker's thread (started with the console) or, for "Sync now" without a running worker, on a pool
thread: the GUI thread never waits on the network.

Longer than ~500 lines: the queue table, its model and the status-bar indicator read the same sync status on
one poll.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QBrush, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from models.enums import OutboxState
from models.types import iso
from services.adapters.values import ItemView
from services.errors import SitrepError
from services.record.views import IncidentView
from ui.dialogs.backends import BackendsDialog
from ui.item_models.rows import RowsModel
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.sync_support import sync_bridge

ROW_LIMIT = 500
STATUS_POLL_MS = 5000  # breakers half-open and lanes go quiet with time, not only with events

# What needs a person first (state and the backend's words), then the rest; the panel is often narrow.
COLUMNS = ("State", "Backend", "Operation", "Last answer", "Incident", "Attempts", "Next attempt", "#")
COL_STATE, COL_BACKEND, COL_OP, COL_ANSWER, COL_INCIDENT, COL_ATTEMPTS, COL_NEXT, COL_ID = range(len(COLUMNS))

ItemRole = Qt.ItemDataRole.UserRole + 1  # the ItemView itself

_STATE_COLOURS = {
    OutboxState.FAILED.value: QColor("#d13438"),
    OutboxState.PENDING.value: QColor("#b36b00"),
    OutboxState.IN_FLIGHT.value: QColor("#2b6cb0"),
    OutboxState.SENT.value: QColor("#107c10"),
    OutboxState.CANCELLED.value: QColor(128, 128, 128),
}
_OP_NAMES = {
    "create_incident": "create incident",
    "create_issue": "create ticket",
    "update_incident": "update incident",
    "update_fields": "update fields",
    "add_note": "add note",
    "status_update": "status update",
    "add_responder": "request responder",
    "set_status": "set status",
    "set_priority": "set priority",
    "set_title": "set title",
    "comment": "comment",
    "transition": "move ticket",
    "link_issue": "link issue",
    "event": "alert event",
    "send_email": "send e-mail",
    "post_message": "post message",
}


def local_time(value) -> str:
    return value.astimezone().strftime("%a %H:%M:%S") if value else ""


def last_answer(item: ItemView) -> str:
    """What the backend last said about the item, in its own words where it gave some."""
    if item.state == OutboxState.SENT.value:
        text = f"sent → {item.remote_ref}" if item.remote_ref else "sent"
        return f"{text} ({item.last_error})" if item.last_error else text
    error = (item.last_error or "").replace("\n", " ")
    if item.last_status and error and f"({item.last_status})" not in error:
        return f"HTTP {item.last_status}: {error}"
    return error


def state_text(item: ItemView) -> str:
    text = OutboxState(item.state).label if item.state in OutboxState._value2member_map_ else item.state
    if item.uncertain and item.state in (OutboxState.PENDING.value, OutboxState.FAILED.value):
        text += " (may have arrived)"
    return text


class SyncQueueModel(RowsModel):
    """Outbox items as plain rows (ItemView), newest first. `set_rows` keeps the view's place when only
    states change (dataChanged), and resets only when the set of rows changes."""

    def __init__(self, labels: dict[str, str] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[ItemView] = []
        self._labels = dict(labels or {})

    def set_labels(self, labels: dict[str, str]) -> None:
        self._labels = dict(labels)

    def set_rows(self, rows: list[ItemView]) -> None:
        if [r.id for r in rows] == [r.id for r in self.rows]:
            changed = [i for i, (old, new) in enumerate(zip(self.rows, rows, strict=True)) if old != new]
            self.rows = list(rows)
            if changed:
                self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def item(self, row: int) -> ItemView | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, item_id: int) -> int | None:
        for n, r in enumerate(self.rows):
            if r.id == item_id:
                return n
        return None

    # -- Qt model interface --------------------------------------------------------------------
    headers = COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        item = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_ID:
                return str(item.id)
            if col == COL_BACKEND:
                return self._labels.get(item.backend, item.backend)
            if col == COL_INCIDENT:
                return item.incident_key or ""
            if col == COL_OP:
                return _OP_NAMES.get(item.op, item.op.replace("_", " "))
            if col == COL_STATE:
                return state_text(item)
            if col == COL_ATTEMPTS:
                return str(item.attempts)
            if col == COL_NEXT:
                waiting = item.state == OutboxState.PENDING.value
                return local_time(item.next_attempt_at) if waiting and item.next_attempt_at else ""
            if col == COL_ANSWER:
                return last_answer(item)
            return None
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_STATE:
                colour = _STATE_COLOURS.get(item.state)
                return QBrush(colour) if colour is not None else None
            if col == COL_ANSWER and item.state == OutboxState.FAILED.value:
                return QBrush(_STATE_COLOURS[OutboxState.FAILED.value])
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_OP:
                return item.summary
            if col == COL_NEXT and item.next_attempt_at:
                return f"{iso(item.next_attempt_at)} (UTC)"
            if col == COL_ANSWER:
                return last_answer(item) or None
            if col == COL_STATE:
                tips = [last_answer(item)] if last_answer(item) else []
                if item.uncertain and item.state != OutboxState.SENT.value:
                    tips.append(
                        "The last attempt may have reached the backend; it is looked up before it is sent again."
                    )
                return "\n".join(tips) or None
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_ID, COL_ATTEMPTS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# -- the status-bar indicator -------------------------------------------------------------------
@dataclass(frozen=True)
class _Look:
    colour: str
    meaning: str


_LOOKS = {
    "off": _Look("#8a8886", "no backend is enabled"),
    "online": _Look("#107c10", "every enabled backend answers"),
    "busy": _Look("#2b6cb0", "sending"),
    "offline": _Look("#b36b00", "a backend is not answering; items wait and are sent when it returns"),
    "failed": _Look("#d13438", "a backend refused an item; it needs a person (retry or cancel)"),
    "problem": _Look("#d13438", "the backend settings cannot be read"),
}


def _dot(colour: str, size: int = 10) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(0, 0, size, size)
    p.end()
    return QIcon(pix)


class SyncIndicator(QToolButton):
    """The status bar's word on sync ("Sync: online, 3 pending"); a click opens the queue."""

    def __init__(self, ctx, open_queue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("sync-indicator")
        self.setAutoRaise(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setIconSize(QSize(10, 10))
        self.setAccessibleName("Sync status")
        self.look = ""
        self.clicked.connect(open_queue)
        self._icons = {name: _dot(look.colour) for name, look in _LOOKS.items()}

    def show_status(self, status) -> None:
        if status.problem:
            look = "problem"
        elif not status.any_enabled:
            look = "off"
        elif status.failed:
            look = "failed"
        elif not status.online:
            look = "offline"
        elif status.pending:
            look = "busy"
        else:
            look = "online"
        self.look = look
        self.setText(status.headline())
        self.setIcon(self._icons[look])
        lines = [status.headline(), _LOOKS[look].meaning.capitalize() + "."]
        for lane in status.lanes:
            if not lane.enabled:
                continue
            health = "answers" if lane.online else f"not answering ({lane.breaker.replace('_', '-')})"
            lines.append(
                f"{lane.label}: {health}; {lane.pending + lane.in_flight} pending, {lane.failed} failed"
            )
            if lane.last_error and not lane.online:
                lines.append(f"    {lane.last_error}")
        if status.problem:
            lines.append(status.problem)
        lines.append("Click to open the sync queue.")
        self.setToolTip("\n".join(lines))


# -- the panel ------------------------------------------------------------------------------------
STATE_FILTERS = (
    ("All states", None),
    ("Not sent yet", [OutboxState.PENDING.value, OutboxState.IN_FLIGHT.value, OutboxState.FAILED.value]),
    ("Pending", [OutboxState.PENDING.value]),
    ("In flight", [OutboxState.IN_FLIGHT.value]),
    ("Failed", [OutboxState.FAILED.value]),
    ("Sent", [OutboxState.SENT.value]),
    ("Cancelled", [OutboxState.CANCELLED.value]),
)


class SyncPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.sync = ctx.sitrep.sync
        self.incident: IncidentView | None = None
        self.bridge = sync_bridge(ctx)
        self.model = SyncQueueModel({n: c.label for n, c in self.sync.available.items()}, self)
        self._oneoff = None  # a drain started by "Sync now" while no worker runs
        self.dialog = None
        self._build()
        self.indicator = SyncIndicator(ctx, self.open_queue)
        if ctx.shell is not None:
            ctx.shell.add_status_widget(self.indicator)
        self._register_commands()
        self.bridge.changed.connect(self.refresh)
        self.bridge.event.connect(self._on_event)
        self._poll = QTimer(self)
        self._poll.setInterval(STATUS_POLL_MS)
        self._poll.timeout.connect(self.refresh_status)
        self._poll.start()
        self.refresh()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)

        filters = QHBoxLayout()
        self.state_filter = QComboBox(self)
        self.state_filter.setObjectName("sync-state-filter")
        self.state_filter.setAccessibleName("Show items in state")
        for label, states in STATE_FILTERS:
            self.state_filter.addItem(label, states)
        self.backend_filter = QComboBox(self)
        self.backend_filter.setObjectName("sync-backend-filter")
        self.backend_filter.setAccessibleName("Show items for backend")
        self.backend_filter.addItem("All backends", None)
        for name, cls in sorted(self.sync.available.items()):
            self.backend_filter.addItem(cls.label, name)
        self.only_incident = QCheckBox("This incident", self)
        self.only_incident.setObjectName("sync-only-incident")
        self.only_incident.setToolTip("Only the items of the incident the console shows")
        for w in (self.state_filter, self.backend_filter):
            # Narrow enough to share the right-hand column with the role board.
            w.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(9)
            w.currentIndexChanged.connect(self.refresh_items)
        self.only_incident.toggled.connect(self.refresh_items)
        filters.addWidget(self.state_filter, 1)
        filters.addWidget(self.backend_filter, 1)
        filters.addWidget(self.only_incident)
        lay.addLayout(filters)

        self.view = QTableView(self)
        self.view.setObjectName("sync-queue-view")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        vh = self.view.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        hh = self.view.horizontalHeader()
        hh.setStretchLastSection(True)
        fm = self.fontMetrics()
        widths = {COL_ID: "99999", COL_BACKEND: "Statuspage", COL_INCIDENT: "INC-0000", COL_OP: "update incident",
                  COL_STATE: "cancelled", COL_ATTEMPTS: "Attempts", COL_NEXT: "Wed 23:59:59", COL_ANSWER: "x" * 34}  # fmt: skip
        for col, sample in widths.items():
            self.view.setColumnWidth(col, fm.horizontalAdvance(sample) + 16)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        lay.addWidget(self.view, 1)

        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("sync-item-detail")
        self.detail.setReadOnly(True)
        self.detail.setMaximumHeight(fm.height() * 4 + 12)
        self.detail.setPlaceholderText("Select an item to see what the backend said about it.")
        self.detail.setAccessibleName("Selected item")
        lay.addWidget(self.detail)

        buttons = QHBoxLayout()
        self.retry_button = QPushButton("&Retry", self)
        self.retry_button.setToolTip("Send the selected failed or waiting items again, now")
        self.retry_button.clicked.connect(self.retry_selected)
        self.cancel_button = QPushButton("&Cancel item", self)
        self.cancel_button.setToolTip("Drop the selected items: they will not be sent")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.sync_button = QPushButton("&Sync now", self)
        self.sync_button.setObjectName("sync-now")
        self.sync_button.setToolTip("Send what is owed and fetch what changed in the backends, now")
        self.sync_button.clicked.connect(self.sync_now)
        self.backends_button = QPushButton("&Backends…", self)
        self.backends_button.clicked.connect(self.open_backends)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sync_button)
        buttons.addWidget(self.backends_button)
        lay.addLayout(buttons)
        self._selection_changed()

    def _register_commands(self) -> None:
        if self.ctx.shell is None:  # standing alone: no menus or palette to list them in
            return
        add = self.ctx.shell.add_command
        backends = QAction("Backends…", self)
        backends.setObjectName("action-backends")
        backends.triggered.connect(self.open_backends)
        add(backends, "Tools")
        sync_now = QAction("Sync now", self)
        sync_now.setShortcut(QKeySequence("F5"))
        sync_now.triggered.connect(self.sync_now)
        add(sync_now, "Tools")

    def focus_target(self) -> QWidget:
        return self.view

    # -- following the incident -------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        if self.only_incident.isChecked():
            self.refresh_items()

    # -- reading ----------------------------------------------------------------------------
    def refresh(self) -> None:
        self.refresh_status()
        self.refresh_items()

    def refresh_status(self) -> None:
        try:
            status = self.sync.status()
        except SitrepError as err:
            self.indicator.setText("Sync: unknown")
            self.indicator.setToolTip(err.message)
            return
        self.indicator.show_status(status)

    def refresh_items(self, *args) -> None:
        states = self.state_filter.currentData()
        backend = self.backend_filter.currentData()
        incident_id = self.incident.id if (self.only_incident.isChecked() and self.incident) else None
        if self.only_incident.isChecked() and self.incident is None:
            rows = []
        else:
            ok, rows = read_or_say(
                self.ctx,
                self.sync.items,
                states=states,
                backend=backend,
                limit=ROW_LIMIT,
                incident_id=incident_id,
            )
            if not ok:
                return
        chosen = self.selected_ids()
        self.model.set_rows(rows)
        self._reselect(chosen)
        self._selection_changed()

    def _reselect(self, ids: list[int]) -> None:
        sel = self.view.selectionModel()
        current = {i.id for i in self.selected_items()}
        if current == set(ids):
            return
        sel.clearSelection()
        for item_id in ids:
            row = self.model.row_of(item_id)
            if row is not None:
                sel.select(self.model.index(row, 0), sel.SelectionFlag.Select | sel.SelectionFlag.Rows)

    def selected_items(self) -> list[ItemView]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [it for it in (self.model.item(r) for r in rows) if it is not None]

    def selected_ids(self) -> list[int]:
        return [i.id for i in self.selected_items()]

    def _selection_changed(self, *args) -> None:
        items = self.selected_items()
        self.retry_button.setEnabled(any(i.state in ("failed", "pending") for i in items))
        self.cancel_button.setEnabled(any(i.state in ("failed", "pending") for i in items))
        if len(items) == 1:
            self.detail.setPlainText(self._describe(items[0]))
        elif items:
            self.detail.setPlainText(f"{len(items)} items selected.")
        else:
            self.detail.clear()

    def _describe(self, item: ItemView) -> str:
        """The backend's own words first (what a person acts on), then what the item is and how it went."""
        label = (
            self.sync.available[item.backend].label if item.backend in self.sync.available else item.backend
        )
        op = _OP_NAMES.get(item.op, item.op.replace("_", " "))
        text = item.payload.get("title") or item.payload.get("text") or item.payload.get("body") or ""
        what = f"#{item.id} {label} · {item.incident_key or 'no incident'} · {op}"
        lines = [last_answer(item)] if last_answer(item) else []
        lines.append(f"{what}: {text}" if text else what)
        lines.append(f"{state_text(item)}; attempts {item.attempts}"
                     + (f"; last try {local_time(item.last_attempt_at)}" if item.last_attempt_at else "")
                     + (f"; next try {local_time(item.next_attempt_at)}"
                        if item.next_attempt_at and item.state == "pending" else ""))  # fmt: skip
        return "\n".join(lines)

    # -- acting -----------------------------------------------------------------------------
    def retry_selected(self) -> None:
        self._each(self.sync.retry, "retry", "will be sent again now")

    def cancel_selected(self) -> None:
        self._each(self.sync.cancel, "cancel", "cancelled; it will not be sent")

    def _each(self, action, verb: str, done: str) -> None:
        items = [i for i in self.selected_items() if i.state in ("failed", "pending")]
        if not items:
            self.ctx.status_message(f"Select a failed or pending item to {verb}.", error=True)
            return
        ok_ids = []
        for item in items:
            ok, _ = run_action(self.ctx, self, action, item.id)
            if not ok:
                break
            ok_ids.append(item.id)
        if ok_ids:
            which = f"#{ok_ids[0]}" if len(ok_ids) == 1 else f"{len(ok_ids)} items"
            self.ctx.status_message(f"{which} {done}.")
        self.refresh()

    def sync_now(self) -> None:
        """Send and fetch now. With the console's worker running, it is woken; otherwise a one-off drain
        runs on a pool thread. Either way the GUI thread does not wait."""
        if self.sync.settings.problem:
            self.ctx.status_message(self.sync.settings.problem, error=True)
            return
        if self.sync.sync_now():
            self.ctx.status_message("Syncing now…", timeout_ms=3000)
            return
        if self._oneoff is not None:
            return
        worker = self._oneoff = self.sync.make_worker()
        self.sync_button.setEnabled(False)
        self.ctx.status_message("Syncing now…", timeout_ms=3000)

        def drain():
            try:
                worker.try_now()
                return worker.drain(max_wait_s=10.0, pull=True)
            finally:
                worker.close()

        self.bridge.tasks.run(drain, self._synced, self._sync_failed, owner=self)

    def _synced(self, report) -> None:
        self._oneoff = None
        self.sync_button.setEnabled(True)
        text = f"Sync: sent {report.sent}, failed {report.failed}, still pending {report.left_pending}"
        if report.pulled:
            text += f", {report.pulled} change(s) fetched"
        self.ctx.status_message(text + ".", error=bool(report.failed))
        self.refresh()

    def _sync_failed(self, message: str) -> None:
        self._oneoff = None
        self.sync_button.setEnabled(True)
        self.ctx.status_message(message, error=True)
        self.refresh()

    def _on_event(self, event) -> None:
        if event.kind in ("failed", "paused") and event.message:
            label = self.sync.available[event.backend].label if event.backend in self.sync.available else ""
            text = (
                event.message if not label or event.message.startswith(label) else f"{label}: {event.message}"
            )
            self.ctx.status_message(text, error=True)

    def open_queue(self) -> None:
        if self.ctx.shell is None or not self.ctx.shell.show_panel("sync"):
            self.show()
            self.view.setFocus()

    def open_backends(self):
        dialog = self.dialog = BackendsDialog(self.ctx, self.ctx.dialog_parent(self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self.refresh)
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        self._poll.stop()
        self.bridge.close()
        if self._oneoff is not None:
            self._oneoff.stop_event.set()


PANEL = PanelSpec(
    id="sync",
    title="Sync queue",
    factory=SyncPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Alt+7",
    visible_by_default=False,
)
