"""The base of the table models: rows in, one reset per change, headers, counts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
_Index = QModelIndex | QPersistentModelIndex


class RowsModel(QAbstractTableModel):
    """A table of plain rows under fixed headers. A subclass names its `headers` and says what a row
    shows in a column (`cell`: the text, and the value to sort by); `data` then answers the display,
    tooltip, sort (SORT_ROLE) and row (ROW_ROLE) roles. A subclass with roles of its own overrides
    `data` and keeps the rest: row and column counts, headers and `set_rows`."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.headers):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.header_tip(section)
        return None

    def header_tip(self, section: int) -> str | None:
        """A column header's tooltip (none by default)."""
        return None

    def cell(self, row: Any, column: int) -> tuple[str, Any]:
        raise NotImplementedError

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if (
            not index.isValid()
            or not (0 <= index.row() < len(self.rows))
            or not (0 <= index.column() < len(self.headers))
        ):
            return None
        row = self.rows[index.row()]
        if role == ROW_ROLE:
            return row
        text, native = self.cell(row, index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return text
        if role == SORT_ROLE:
            return native
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(row, index.column())
        return None

    def foreground(self, row: Any, column: int):
        return None

    def row_at(self, row: int) -> Any:
        """The row shown at `row`, or None past either end."""
        return self.rows[row] if 0 <= row < len(self.rows) else None
