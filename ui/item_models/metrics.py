"""Qt item models for the charts panel's figures: plain rows in, never ORM objects."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from services.analytics.metrics import (
    Exclusion,
    MetricDefinition,
    Stats,
    format_share,
    format_value,
    percentile_name,
)
from ui.item_models.rows import SORT_ROLE, RowsModel

INCIDENT_ID_ROLE = Qt.ItemDataRole.UserRole + 2


class FiguresModel(RowsModel):
    """One row per group (all incidents, each severity, each service) with count, mean, median, p90, min, max,
    and the percentile and share under a threshold the person asked for."""

    BASE_HEADERS = ("Grouping", "Group", "Count", "Mean", "Median", "p90", "Min", "Max")
    HEADERS: tuple[str, ...] = BASE_HEADERS  # and, once rows are set, the extra percentile and share
    _STATS = ("count", "mean", "median", "p90", "min", "max")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._metric: MetricDefinition | None = None
        self.rows: list[tuple[str, str, Stats]] = []
        self.HEADERS = self.BASE_HEADERS
        self._extra: list[tuple[str, int]] = []  # ("pct" | "share", index into the stats' lists)

    @property
    def headers(self) -> tuple[str, ...]:
        return self.HEADERS

    def set_rows(self, metric: MetricDefinition, rows: list[tuple[str, str, Stats]]) -> None:
        self.beginResetModel()
        self._metric = metric
        self.rows = list(rows)
        first = self.rows[0][2] if self.rows else Stats(0)
        self._extra = [("pct", i) for i in range(len(first.percentiles))]
        self._extra += [("share", i) for i in range(len(first.shares))]
        self.HEADERS = self.BASE_HEADERS + tuple(
            percentile_name(first.percentiles[i][0]) if kind == "pct" else f"≤ {first.shares[i].label}"
            for kind, i in self._extra
        )
        self.endResetModel()

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows) or self._metric is None:
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, SORT_ROLE, Qt.ItemDataRole.TextAlignmentRole):
            return None
        grouping, group, stats = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) if col >= 2 else None
        if col == 0:
            return grouping
        if col == 1:
            return group
        if not 2 <= col < len(self.HEADERS):
            return None
        if col >= len(self.BASE_HEADERS):
            kind, i = self._extra[col - len(self.BASE_HEADERS)]
            if kind == "share":
                share = stats.shares[i] if i < len(stats.shares) else None
                if role == SORT_ROLE:
                    return share.share if share and share.share is not None else -1.0
                return format_share(share) if share else "-"
            pct = stats.percentiles[i][1] if i < len(stats.percentiles) else None
            if role == SORT_ROLE:
                return pct if pct is not None else -1.0
            return format_value(self._metric, pct)
        value = getattr(stats, self._STATS[col - 2])
        if role == SORT_ROLE:
            return value if value is not None else -1.0
        if col == 2:
            return f"{value:,}"
        return format_value(self._metric, value)


class ExclusionsModel(RowsModel):
    """Incidents left out of the figures, each with the reason."""

    HEADERS = ("Incident", "Why it is left out")
    headers = HEADERS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[Exclusion] = []

    def set_rows(self, rows: list[Exclusion]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def exclusion(self, row: int) -> Exclusion | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        x = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return x.key if index.column() == 0 else x.reason if index.column() == 1 else None
        if role == INCIDENT_ID_ROLE:
            return x.incident_id
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0:
            return "Double-click to open this incident"
        return None
