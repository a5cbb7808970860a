"""Qt item models for the Alerts panel: the alert list (one uniform row each, so a view of 10,000 alerts
paints only the rows on screen) and the correlated groups."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ui.timefmt import viewer_time

AlertRole = Qt.ItemDataRole.UserRole + 1
SEVERITY_COLOURS = {"critical": QColor("#d13438"), "warning": QColor("#b36b00"), "info": QColor("#2b6cb0")}
MUTED = QColor(128, 128, 128)


class _Rows(QAbstractTableModel):
    """Plain rows, replaced whole on each refresh; one line each."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list = []
        self.now: datetime | None = None  # times today read as 09:42

    def set_rows(self, rows: list) -> None:
        self.now = datetime.now(UTC)
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None


class AlertTableModel(_Rows):
    COLUMNS = ("Started", "Severity", "State", "Service", "Layer", "Alert")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        a = self.rows[index.row()]
        col = index.column()
        if role == AlertRole:
            return a
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return viewer_time(a.starts_at, self.now)
            if col == 1:
                return a.severity
            if col == 2:
                text = a.status_text
                if a.incident_id:
                    text += " · on incident"
                return text + (" · in maintenance" if a.during_maintenance else "")
            if col == 3:
                return a.service or "—"
            if col == 4:
                return a.layer or "—"
            return f"{a.rule}: {a.summary}" if a.summary != a.rule else a.rule
        if role == Qt.ItemDataRole.ForegroundRole:
            if a.muted_by or a.state == "resolved":
                return QBrush(MUTED)
            if col == 1 and a.severity in SEVERITY_COLOURS:
                return QBrush(SEVERITY_COLOURS[a.severity])
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{a.rule} ({a.source})", a.summary]
            if a.problems:
                lines.append("Metadata: " + "; ".join(a.problems))
            if a.during_maintenance:
                lines.append("Critical: fired during maintenance and was not muted.")
            return "\n".join(lines)
        return None


class GroupTableModel(_Rows):
    COLUMNS = ("First alert", "Alerts", "Likely origin", "Spread", "Layers")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        g = self.rows[index.row()]
        col = index.column()
        if role == AlertRole:
            return g
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return viewer_time(g.first_at, self.now)
            if col == 1:
                return f"{g.size}" + (f" ({g.critical} critical)" if g.critical else "")
            if col == 2:
                return g.origin or "—"
            if col == 3:
                return ", ".join(g.services) or f"no service: {', '.join(g.rules[:3])}"
            return ", ".join(g.layers) or "—"
        if role == Qt.ItemDataRole.ForegroundRole and col == 1 and g.critical:
            return QBrush(SEVERITY_COLOURS["critical"])
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Likely origin: {g.origin or 'unknown'} — {g.origin_reason}\nRules: {', '.join(g.rules[:12])}"
        return None
