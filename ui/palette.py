"""Ctrl+K: find any action by typing part of its name, run it with Enter."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

# The words people type for an action that is named otherwise. A query word that starts one of a group's
# words also finds actions named by the others ("close" finds "Resolve…", "notify" finds "Draft a message").
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"resolve", "resolved", "close", "closed", "finish", "end"}),
    frozenset({"mitigate", "mitigated", "mitigation", "workaround", "contain"}),
    frozenset({"draft", "message", "notify", "notification", "template", "comms", "communicate", "announce",
               "customers", "update"}),
    frozenset({"exercise", "drill", "tabletop", "scenario", "practice"}),
    frozenset({"declare", "new", "open", "raise", "start"}),
    frozenset({"commander", "ic", "role", "assign", "lead"}),
    frozenset({"handover", "hand", "handoff", "shift", "workstation", "keyboard", "user", "login", "identity"}),
    frozenset({"approve", "approval", "sign", "review"}),
    frozenset({"send", "publish", "post", "release"}),
    frozenset({"timeline", "entry", "log", "record", "note"}),
    frozenset({"chart", "charts", "metrics", "mttr", "statistics", "report"}),
    frozenset({"bridge", "call", "milestone", "milestones"}),
    frozenset({"status", "state", "phase"}),
    frozenset({"severity", "sev", "priority", "level"}),
)


def _plain(text: str) -> str:
    return text.replace("&", "")


def _related(word: str) -> set[str]:
    out = {word}
    for group in SYNONYMS:
        if any(w.startswith(word) for w in group):
            out |= group
    return out


def matches(query: str, text: str) -> bool:
    """Every word of the query (or a word meaning the same) appears in the text, or the query's letters
    appear in order ("dcl" -> "Declare")."""
    q = query.strip().lower()
    if not q:
        return True
    t = text.lower()
    if all(any(w in t for w in _related(word)) for word in q.split()):
        return True
    pos = 0
    for ch in q.replace(" ", ""):
        pos = t.find(ch, pos)
        if pos < 0:
            return False
        pos += 1
    return True


def _searchable(action: QAction) -> str:
    """What a query is matched against: the action's name, its tip and any words it was given to be
    found by (the "keywords" property)."""
    extra = action.property("keywords") or ""
    tip = action.toolTip() if action.toolTip() != _plain(action.text()) else ""
    return " ".join((_plain(action.text()), tip, str(extra)))


class ActionListModel(QAbstractListModel):
    def __init__(self, actions: list[QAction], parent=None) -> None:
        super().__init__(parent)
        self._all = actions
        self._shown = list(actions)

    def all_actions(self) -> list[QAction]:
        return list(self._all)

    def set_query(self, query: str) -> None:
        self.beginResetModel()
        words = [a for a in self._all if matches(query, _searchable(a)) and a.isEnabled()]
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
        self.empty_label = QLabel(self)
        self.empty_label.setObjectName("palette-no-match")
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        lay = QVBoxLayout(self)
        lay.addWidget(self.query)
        lay.addWidget(self.empty_label)
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
        self.empty_label.setText(
            f"No command matches “{text.strip()}”. Try another word (resolve, draft, severity, role…), "
            "or Esc and F1 for the keyboard shortcuts."
        )
        self.empty_label.setVisible(self.model.rowCount() == 0)

    def eventFilter(self, obj, event):  # arrow keys move the selection while typing
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
