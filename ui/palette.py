"""Ctrl+K: find any action by typing part of its name, run it with Enter."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QLineEdit, QListView, QVBoxLayout, QWidget


def _plain(text: str) -> str:
    return text.replace("&", "")


def matches(query: str, text: str) -> bool:
    """Every word of the query appears in the text, or its letters appear in order ("dcl" -> "Declare")."""
    q = query.strip().lower()
    if not q:
        return True
    t = text.lower()
    if all(word in t for word in q.split()):
        return True
    pos = 0
    for ch in q.replace(" ", ""):
        pos = t.find(ch, pos)
        if pos < 0:
            return False
        pos += 1
    return True


class ActionListModel(QAbstractListModel):
    def __init__(self, actions: list[QAction], parent=None) -> None:
        super().__init__(parent)
        self._all = actions
        self._shown = list(actions)

    def set_query(self, query: str) -> None:
        self.beginResetModel()
        words = [a for a in self._all if matches(query, _plain(a.text())) and a.isEnabled()]
        # Prefix and whole-word hits first, then the rest in menu order.
        q = query.strip().lower()
        self._shown = (
            sorted(words, key=lambda a: (not _plain(a.text()).lower().startswith(q), 0)) if q else words
        )
        self.endResetModel()

    def action(self, row: int) -> QAction | None:
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._shown):
            return None
        a = self._shown[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            return f"{_plain(a.text())}" + (f"    {keys}" if keys else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return a.toolTip() or None
        return None


class CommandPalette(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Command palette")
        self.setModal(True)
        self.resize(560, 420)
        self.query = QLineEdit(self)
        self.query.setPlaceholderText("Type a command… (Enter runs it, Esc closes)")
        self.query.setAccessibleName("Command search")
        self.model = ActionListModel(actions, self)
        self.list = QListView(self)
        self.list.setModel(self.model)
        self.list.setUniformItemSizes(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.query)
        lay.addWidget(self.list)
        self.query.textChanged.connect(self._filter)
        self.query.returnPressed.connect(self._run_current)
        self.list.activated.connect(lambda idx: self._run(idx.row()))
        self.query.installEventFilter(self)
        self._filter("")

    def _filter(self, text: str) -> None:
        self.model.set_query(text)
        if self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(0, 0))

    def eventFilter(self, obj, event):  # arrow keys move the selection while typing
        from PySide6.QtCore import QEvent

        if (
            obj is self.query
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down)
        ):
            row = self.list.currentIndex().row() + (1 if event.key() == Qt.Key.Key_Down else -1)
            if 0 <= row < self.model.rowCount():
                self.list.setCurrentIndex(self.model.index(row, 0))
            return True
        return super().eventFilter(obj, event)

    def _run_current(self) -> None:
        self._run(self.list.currentIndex().row())

    def _run(self, row: int) -> None:
        action = self.model.action(row)
        if action is None:
            return
        self.accept()
        action.trigger()
