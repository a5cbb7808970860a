"""The regulatory clocks as a table: one row per clock, its time left read against now, and the delegate
that paints the countdown. Shared with the status-bar indicator and the clock dialogs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from models.enums import ClockState
from models.types import as_utc
from services.comms.regulatory import REVIEW_NOTE
from services.comms.views import RegClockView
from ui.forms import quiet_colour
from ui.item_models.rows import RowsModel
from ui.severity import BREACH_COLOURS, MET_COLOURS, MET_LATE_COLOURS, WARNING_COLOURS
from ui.timefmt import span_text, viewer_zone

TICK_MS = 1_000
MIN_WARN = timedelta(minutes=3)  # as the header's chips
WARN_SHARE = 0.25  # amber in the last quarter of the span: 18 h of GDPR's 72, 1 h of DORA's 4

COLUMNS = ("Clock", "Jurisdiction", "Time left", "Due (your time)", "Due (UTC)", "Counts from")
COL_LABEL, COL_JURISDICTION, COL_LEFT, COL_DUE_LOCAL, COL_DUE_UTC, COL_FROM = range(len(COLUMNS))
ClockRole = Qt.ItemDataRole.UserRole + 1
STATE_COLOURS = {
    "warning": WARNING_COLOURS,
    "overdue": BREACH_COLOURS,
    "met": MET_COLOURS,
    "met_late": MET_LATE_COLOURS,
}


def local_text(value: datetime | None) -> str:
    """A deadline as the viewer reads it: always with its day and date, since most are days away."""
    if value is None:
        return ""
    return as_utc(value).astimezone(viewer_zone()).strftime("%a %d %b %H:%M %Z")


def utc_short(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).strftime("%a %d %b %H:%M UTC")


def both_times(value: datetime | None) -> str:
    """'Thu 03 Dec 23:30 CET (22:30 UTC)'; just the one reading for a viewer whose zone is UTC."""
    if value is None:
        return ""
    local, utc = local_text(value), utc_short(value)
    if local == utc:
        return utc
    return f"{local} ({as_utc(value):%H:%M} UTC)" if local[:10] == utc[:10] else f"{local} ({utc})"


def warn_within(clock: RegClockView) -> timedelta:
    if clock.trigger_at is None or clock.deadline_at is None:
        return MIN_WARN
    return max(MIN_WARN, (clock.deadline_at - clock.trigger_at) * WARN_SHARE)


def clock_reading(clock: RegClockView, now: datetime) -> tuple[str, str]:
    """(text, state) of one regulatory clock. state: awaiting | running | warning | overdue | met |
    met_late | withdrawn."""
    if clock.state is ClockState.AWAITING:
        trigger = clock.rule.get("trigger_label", "its trigger")
        return f"Waiting for: {trigger}", "awaiting"
    if clock.state is ClockState.WITHDRAWN:
        return "Withdrawn (does not apply)", "withdrawn"
    if clock.state is ClockState.MET:
        if clock.met_at is not None and clock.deadline_at is not None and clock.met_at > clock.deadline_at:
            return f"✓ Met, {span_text(clock.met_at - clock.deadline_at)} late", "met_late"
        return f"✓ Met {local_text(clock.met_at)}", "met"
    left = clock.remaining(now)
    if left is None:
        return "Running", "running"
    if left.total_seconds() < 0:
        return f"OVERDUE {span_text(-left)}", "overdue"
    return f"{span_text(left)} left", ("warning" if left <= warn_within(clock) else "running")


class RegulatoryClocksModel(RowsModel):
    """The incident's clocks as plain RegClockView rows (running first, most urgent on top)."""

    def __init__(self, now: Callable[[], datetime], jurisdiction: Callable[[RegClockView], str],
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._now = now
        self._jurisdiction = jurisdiction
        self.rows: list[RegClockView] = []

    def set_clocks(self, rows: list[RegClockView]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def clock(self, row: int) -> RegClockView | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, rule_id: str) -> int | None:
        return next((i for i, c in enumerate(self.rows) if c.rule_id == rule_id), None)

    def tick(self) -> None:
        """A second passed: repaint the countdowns (and their colours)."""
        if self.rows:
            self.dataChanged.emit(self.index(0, COL_LEFT), self.index(len(self.rows) - 1, COL_LEFT))

    headers = COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        c = self.clock(index.row())
        if c is None:
            return None
        col = index.column()
        if role == ClockRole:
            return c
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_LABEL:
                return c.label
            if col == COL_JURISDICTION:
                return self._jurisdiction(c)
            if col == COL_LEFT:
                return clock_reading(c, self._now())[0]
            if col == COL_DUE_LOCAL:
                return local_text(c.deadline_at)
            if col == COL_DUE_UTC:
                return utc_short(c.deadline_at)
            if col == COL_FROM:
                return local_text(c.trigger_at)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_LABEL:
                regime = c.rule.get("regime", "")
                return f"{c.label}\n{regime} · notify: {c.rule.get('recipient', '?')}\nRule {c.rule.get('review', REVIEW_NOTE)}"
            if col == COL_LEFT:
                return clock_reading(c, self._now())[0]
            if col == COL_JURISDICTION:
                return self._jurisdiction(c)
            if col in (COL_DUE_LOCAL, COL_DUE_UTC) and c.deadline_at is not None:
                return f"{local_text(c.deadline_at)} (your time)\n{utc_short(c.deadline_at)}"
            if col == COL_FROM and c.trigger_at is not None:
                return f"{c.rule.get('trigger_label', 'trigger')}: {local_text(c.trigger_at)} ({utc_short(c.trigger_at)})"
            return None
        if col == COL_LEFT and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            colours = STATE_COLOURS.get(clock_reading(c, self._now())[1])
            if colours is not None:
                return QBrush(QColor(colours[0 if role == Qt.ItemDataRole.BackgroundRole else 1]))
            return None
        if role == Qt.ItemDataRole.ForegroundRole and c.state in (ClockState.WITHDRAWN, ClockState.AWAITING):
            return QBrush(QColor(quiet_colour(None)))
        return None


class CountdownDelegate(QStyledItemDelegate):
    """Paints the time-left cell in its state's colours even on the selected row: an overdue clock
    must not turn selection-blue because someone clicked it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        background = index.data(Qt.ItemDataRole.BackgroundRole)
        if background is None:
            super().paint(painter, option, index)
            return
        painter.save()
        painter.fillRect(option.rect, background)
        if option.state & QStyle.StateFlag.State_Selected:
            pen = QPen(option.palette.color(QPalette.ColorRole.Highlight), 2)
            painter.setPen(pen)
            painter.drawRect(option.rect.adjusted(1, 1, -1, -1))
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(index.data(Qt.ItemDataRole.ForegroundRole).color())
        text_rect = option.rect.adjusted(6, 0, -4, 0)
        text = QFontMetrics(font).elidedText(
            str(index.data() or ""), Qt.TextElideMode.ElideRight, text_rect.width()
        )
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        painter.restore()
