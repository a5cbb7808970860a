"""Qt item models for the role board: the roles and their holders, a role's checklist, the role history.

Each holds plain rows (catalog definitions and RoleHolding views), never ORM objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QFont, QPalette
from PySide6.QtWidgets import QApplication

from services.record.catalog import RoleDefinition
from services.record.roles import HANDOVER_FIELDS
from services.record.views import RoleHolding
from ui.item_models.rows import RowsModel
from ui.timefmt import duration_text, person_local_time, viewer_and_utc, viewer_time

RowRole = Qt.ItemDataRole.UserRole + 1  # the plain row behind a line
_Index = QModelIndex | QPersistentModelIndex


def _muted() -> QBrush:
    return QBrush(QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))


@dataclass(frozen=True)
class RoleRow:
    """One catalog role and who holds it now (if anyone)."""

    role: RoleDefinition
    holding: RoleHolding | None

    @property
    def done(self) -> int:
        if self.holding is None:
            return 0
        return sum(1 for i in self.holding.checklist_done if 0 <= i < len(self.role.checklist))

    @property
    def total(self) -> int:
        return len(self.role.checklist)

    def progress_text(self) -> str:
        if not self.total:
            return ""
        return f"{self.done}/{self.total}" if self.holding is not None else "—"


def holder_tooltip(h: RoleHolding, now: datetime) -> str:
    p = h.person
    lines = [f"{p.name} (@{p.handle})", f"Their time: {person_local_time(p.timezone, now)} · {p.timezone}"]
    if p.email:
        lines.append(f"E-mail: {p.email}")
    if p.phone:
        lines.append(f"Phone: {p.phone}")
    lines.append(f"Assigned by {h.assigned_by}")
    if h.handover_brief:
        lines.append(f"Took over from @{h.handover_brief.get('from', '?')} with a brief (see Role history)")
    return "\n".join(lines)


def since_tooltip(h: RoleHolding, now: datetime) -> str:
    return f"Holding since\n{viewer_and_utc(h.started_at)}\nfor {duration_text(now - h.started_at)}"


class RoleBoardModel(RowsModel):
    COLUMNS = ("Role", "Holder", "Since", "Checklist")
    COL_ROLE, COL_HOLDER, COL_SINCE, COL_CHECKLIST = range(4)

    def __init__(self, now: Callable[[], datetime], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now = now
        self.rows: list[RoleRow] = []

    def set_rows(self, rows: list[RoleRow]) -> None:
        """Same roles as before: changed lines repaint in place (the selection stays); else a reset."""
        if [r.role.id for r in rows] != [r.role.id for r in self.rows]:
            self.beginResetModel()
            self.rows = list(rows)
            self.endResetModel()
            return
        old, self.rows = self.rows, list(rows)
        for i, (before, after) in enumerate(zip(old, rows, strict=True)):
            if before != after:
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))

    def tick(self) -> None:
        """Time moved on: the 'since' tooltips (durations) are stale."""
        if self.rows:
            self.dataChanged.emit(
                self.index(0, self.COL_SINCE), self.index(len(self.rows) - 1, self.COL_SINCE)
            )

    def row(self, i: int) -> RoleRow | None:
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def row_of(self, role_id: str) -> int | None:
        for i, r in enumerate(self.rows):
            if r.role.id == role_id:
                return i
        return None

    def rows(self) -> list[RoleRow]:
        return list(self.rows)

    headers = COLUMNS

    def header_tip(self, section: int) -> str | None:
        return "In your time zone; hover a time for UTC" if section == self.COL_SINCE else None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self.row(index.row())
        if r is None:
            return None
        col, h = index.column(), r.holding
        if role == RowRole:
            return r
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_ROLE:
                return r.role.short
            if col == self.COL_HOLDER:
                return h.person.name if h else "unassigned"
            if col == self.COL_SINCE:
                return viewer_time(h.started_at, self._now()) if h else ""
            if col == self.COL_CHECKLIST:
                return r.progress_text()
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.COL_ROLE:
                return f"{r.role.name}\n{r.role.mission}"
            if col == self.COL_HOLDER:
                return holder_tooltip(h, self._now()) if h else f"Nobody holds {r.role.name}"
            if col == self.COL_SINCE and h:
                return since_tooltip(h, self._now())
            if col == self.COL_CHECKLIST and h and r.total:
                return f"{r.done} of {r.total} first-10-minutes items done"
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if col == self.COL_HOLDER:
                return f"{r.role.name}: {h.person.name if h else 'unassigned'}"
            return None
        if role == Qt.ItemDataRole.ForegroundRole and h is None and col == self.COL_HOLDER:
            return _muted()
        if role == Qt.ItemDataRole.FontRole:
            if col == self.COL_HOLDER and h is None:
                font = QFont()
                font.setItalic(True)
                return font
            if col == self.COL_CHECKLIST and h is not None and r.total and r.done == r.total:
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_CHECKLIST:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


class ChecklistModel(QAbstractListModel):
    """The selected role's first-10-minutes checklist. Ticking goes through `ticker` (the service)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: tuple[str, ...] = ()
        self._done: frozenset[int] = frozenset()
        self._tickable = False
        # (item index, done) -> True when the store took the change
        self.ticker: Callable[[int, bool], bool] | None = None

    def set_checklist(self, items: tuple[str, ...], done: tuple[int, ...], tickable: bool) -> None:
        if items != self._items:
            self.beginResetModel()
            self._items, self._done, self._tickable = tuple(items), frozenset(done), tickable
            self.endResetModel()
            return
        changed = (
            self._done.symmetric_difference(done) if tickable == self._tickable else set(range(len(items)))
        )
        self._done, self._tickable = frozenset(done), tickable
        for i in sorted(changed):
            if 0 <= i < len(self._items):
                idx = self.index(i, 0)
                self.dataChanged.emit(idx, idx)

    def is_done(self, row: int) -> bool:
        return row in self._done

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if self._tickable:
            return base | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
        return base | Qt.ItemFlag.ItemIsEnabled

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._items[row]
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if row in self._done else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._items[row] + ("" if self._tickable else "\n(assign the role to tick its checklist)")
        if role == Qt.ItemDataRole.ForegroundRole and not self._tickable:
            return _muted()
        return None

    def setData(self, index: _Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or not index.isValid() or not self._tickable:
            return False
        row = index.row()
        if not 0 <= row < len(self._items) or self.ticker is None:
            return False
        done = Qt.CheckState(value) == Qt.CheckState.Checked
        if (row in self._done) == done:
            return True
        if not self.ticker(row, done):
            return False
        self._done = self._done | {row} if done else self._done - {row}
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True


class RoleHistoryModel(RowsModel):
    """Who held which role when: every holding, oldest first, optionally only those live at one instant."""

    COLUMNS = ("Role", "Holder", "From", "Until", "Held for", "Assigned by")
    COL_ROLE, COL_HOLDER, COL_FROM, COL_UNTIL, COL_HELD, COL_BY = range(6)

    def __init__(
        self, role_names: dict[str, str], now: Callable[[], datetime], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._names = role_names
        self._now = now
        self._all: list[RoleHolding] = []
        self.rows: list[RoleHolding] = []
        self._at: datetime | None = None

    def set_history(self, holdings: list[RoleHolding]) -> None:
        self.beginResetModel()
        self._all = list(holdings)
        self.rows = self._select()
        self.endResetModel()

    def set_instant(self, at: datetime | None) -> None:
        """Show only the holdings that covered `at` (a holding covers [from, until))."""
        self.beginResetModel()
        self._at = at
        self.rows = self._select()
        self.endResetModel()

    def _select(self) -> list[RoleHolding]:
        if self._at is None:
            return list(self._all)
        at = self._at
        return [h for h in self._all if h.started_at <= at and (h.ended_at is None or at < h.ended_at)]

    def holding(self, row: int) -> RoleHolding | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    headers = COLUMNS

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        h = self.holding(index.row())
        if h is None:
            return None
        col = index.column()
        now = self._now()
        if role == RowRole:
            return h
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_ROLE:
                return self._names.get(h.role, h.role)
            if col == self.COL_HOLDER:
                return f"{h.person.name} (@{h.person.handle})"
            if col == self.COL_FROM:
                return viewer_time(h.started_at, now)
            if col == self.COL_UNTIL:
                return viewer_time(h.ended_at, now) if h.ended_at else "now"
            if col == self.COL_HELD:
                return duration_text((h.ended_at or now) - h.started_at)
            if col == self.COL_BY:
                return h.assigned_by
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.COL_FROM:
                return viewer_and_utc(h.started_at)
            if col == self.COL_UNTIL and h.ended_at:
                return viewer_and_utc(h.ended_at)
            if col == self.COL_HOLDER:
                return holder_tooltip(h, now)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and h.ended_at is not None:
            return _muted()  # over: quieter than the holdings that still run
        return None


def brief_text(h: RoleHolding) -> str:
    """A holding's handover brief as plain text, in the order the form asks for it."""
    if not h.handover_brief:
        return ""
    lines = [f"Handed over by @{h.handover_brief.get('from', '?')}:"]
    for key, label in HANDOVER_FIELDS.items():
        lines.append(f"\n{label}:\n{h.handover_brief.get(key, '').strip() or '(not given)'}")
    return "\n".join(lines)
