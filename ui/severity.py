"""Severity as the console shows it: a coloured badge per level, and the matrix to choose from.

Badges carry their own background *and* text colour, chosen so the pair reads at WCAG AA
contrast (4.5:1) whatever the window palette is, light or dark.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from services.record.catalog import Catalog, SeverityLevel

# (background, text). SEV3 is amber with dark text: white on amber cannot reach 4.5:1.
SEVERITY_COLOURS: dict[str, tuple[str, str]] = {
    "SEV1": ("#a4262c", "#ffffff"),
    "SEV2": ("#b5400b", "#ffffff"),
    "SEV3": ("#f2c744", "#1b1b1b"),
    "SEV4": ("#0f5ea8", "#ffffff"),
    "SEV5": ("#5c5c5c", "#ffffff"),
}
_OTHER = ("#4a4a4a", "#ffffff")
BREACH_COLOURS = ("#c50f1f", "#ffffff")
WARNING_COLOURS = ("#f2c744", "#1b1b1b")
MET_COLOURS = ("#0e7a0d", "#ffffff")
MET_LATE_COLOURS = ("#7a2b2b", "#ffffff")  # met, but after the deadline: a muted red


def severity_colours(level_id: str) -> tuple[str, str]:
    return SEVERITY_COLOURS.get(level_id.upper(), _OTHER)


def badge_style(colours: tuple[str, str], *, bold: bool = True) -> str:
    bg, fg = colours
    weight = "font-weight: 700;" if bold else ""
    return f"background-color: {bg}; color: {fg}; border-radius: 4px; padding: 2px 8px; {weight}"


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two #rrggbb colours (1 to 21)."""

    def luminance(hex_colour: str) -> float:
        c = QColor(hex_colour)
        channels = []
        for v in (c.redF(), c.greenF(), c.blueF()):
            channels.append(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
        r, g, b_ = channels
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


LevelRole = Qt.ItemDataRole.UserRole + 1  # the level's id ("SEV1")

MATRIX_COLUMNS = ("Level", "Use it when", "What it obliges")
COL_LEVEL, COL_CRITERIA, COL_OBLIGATIONS = range(len(MATRIX_COLUMNS))


class SeverityMatrixModel(QAbstractTableModel):
    """One row per severity level, in catalog order (most severe first)."""

    def __init__(self, catalog: Catalog, parent=None) -> None:
        super().__init__(parent)
        self._levels: list[SeverityLevel] = list(catalog.severities.values())
        self._current: str | None = None

    def level(self, row: int) -> SeverityLevel | None:
        return self._levels[row] if 0 <= row < len(self._levels) else None

    def row_of(self, level_id: str) -> int | None:
        for i, lvl in enumerate(self._levels):
            if lvl.id == level_id.upper():
                return i
        return None

    def set_current(self, level_id: str | None) -> None:
        """Mark the incident's present level (when changing severity)."""
        old, self._current = self._current, level_id
        for lid in (old, level_id):
            row = self.row_of(lid) if lid else None
            if row is not None:
                self.dataChanged.emit(self.index(row, COL_LEVEL), self.index(row, COL_LEVEL))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._levels)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(MATRIX_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(MATRIX_COLUMNS):
            return MATRIX_COLUMNS[section]
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self._levels):
            return self._levels[section].id
        return None

    def _text(self, lvl: SeverityLevel, col: int) -> str:
        if col == COL_LEVEL:
            lines = [lvl.id, lvl.label]
            if lvl.major:
                lines.append("runs as a major incident")
            if self._current == lvl.id:
                lines.append("(current)")
            return "\n".join(lines)
        if col == COL_CRITERIA:
            return "\n".join([lvl.description, *(f"• {c}" for c in lvl.criteria)])
        obligations = lvl.obligations()
        return "\n".join(f"• {o}" for o in obligations) if obligations else "No clocks; no obligations."

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        lvl = self.level(index.row())
        if lvl is None:
            return None
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(lvl, col)
        if role == LevelRole:
            return lvl.id
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{lvl.id} {lvl.label}. " + self._text(lvl, col).replace("\n", " ")
        if col == COL_LEVEL:
            bg, fg = severity_colours(lvl.id)
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(bg))
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(fg))
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class _LevelCellDelegate(QStyledItemDelegate):
    """The level cell keeps its severity colour when its row is chosen; a frame in the highlight
    colour shows the choice instead (the style would paint the highlight over the colour)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        plain = QStyleOptionViewItem(option)
        plain.state &= ~QStyle.StateFlag.State_Selected
        super().paint(painter, plain, index)
        if selected:
            painter.save()
            width = 3
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), width))
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
            painter.restore()


class SeverityMatrixView(QTableView):
    """The matrix as a pick list: arrow keys or a click choose a level, with its definition in view."""

    level_chosen = Signal(str)

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("severity-matrix")
        self.matrix = SeverityMatrixModel(catalog, self)
        self.setModel(self.matrix)
        self.setAccessibleName("Severity matrix")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self.setTabKeyNavigation(False)  # Tab leaves the matrix; arrows move within it
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(COL_LEVEL, QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(COL_CRITERIA, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(COL_OBLIGATIONS, QHeaderView.ResizeMode.Stretch)
        self.setColumnWidth(COL_LEVEL, self.fontMetrics().horizontalAdvance("major incident") + 24)
        self.setItemDelegateForColumn(COL_LEVEL, _LevelCellDelegate(self))
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.selectionModel().currentRowChanged.connect(self._row_changed)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        lvl = self.matrix.level(current.row()) if current.isValid() else None
        if lvl is None:
            return
        # Focus alone makes a row current without selecting it; what is highlighted is what is chosen.
        if not self.selectionModel().isRowSelected(current.row(), QModelIndex()):
            self.selectRow(current.row())
        self.level_chosen.emit(lvl.id)

    def choose(self, level_id: str) -> None:
        row = self.matrix.row_of(level_id)
        if row is not None:
            self.setCurrentIndex(self.matrix.index(row, COL_LEVEL))
            self.scrollTo(self.matrix.index(row, COL_LEVEL))

    def chosen(self) -> str | None:
        idx = self.currentIndex()
        if not idx.isValid() or not self.selectionModel().isRowSelected(idx.row(), QModelIndex()):
            return None
        return self.matrix.data(idx, LevelRole)
