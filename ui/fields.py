"""Small form pieces shared by dialogs: an inline error line under a field, a responder picker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QAbstractItemModel, QEvent, QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialog,
    QHeaderView,
    QLabel,
    QTableView,
    QWidget,
)

from services.record.people import timezone_names
from services.record.views import PersonView
from ui.theme import error_style
from ui.timefmt import person_local_time


class ErrorLabel(QLabel):
    """Red, word-wrapped, hidden while empty; keeps its red readable when the scheme flips."""

    def __init__(self, parent: QWidget | None = None, *, name: str | None = None) -> None:
        super().__init__(parent)
        if name:
            self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._restyle()
        self.hide()

    def _restyle(self) -> None:
        style = error_style(self)
        if style != self.styleSheet():  # setting a style sheet is itself a palette change
            self.setStyleSheet(style)

    def show_error(self, message: str | None) -> None:
        self.setText(message or "")
        self.setVisible(bool(message))
        if message:
            grow_to_fit(self.window())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


def grow_to_fit(window: QWidget) -> None:
    """Make a dialog tall enough for what its layout now holds (a wrapped error line appeared).

    A top-level window does not follow its layout's height-for-width on its own, so a two-line
    error under a field would be clipped to one line.
    """
    lay = window.layout() if isinstance(window, QDialog) and window.isVisible() else None
    if lay is None:
        return
    lay.activate()
    wanted = lay.totalHeightForWidth(window.width()) if lay.hasHeightForWidth() else -1
    wanted = max(wanted, lay.totalSizeHint().height())
    if wanted > window.height():
        window.resize(window.width(), wanted)


def chain_tab_order(*widgets: QWidget | None) -> None:
    """Tab visits these in this order (None is skipped): the order a person fills the form in,
    not the order the code happened to create the fields."""
    present = [w for w in widgets if w is not None]
    for first, second in zip(present, present[1:], strict=False):
        QWidget.setTabOrder(first, second)


def record_table(
    parent: QWidget, model: QAbstractItemModel, name: str, accessible_name: str = ""
) -> QTableView:
    """A read-only list of records (incidents, holders, responders, holdings).

    Whole rows, one at a time; Tab leaves the table for the controls beside it (arrows move within
    it); every row one line of text high, never sized row by row (lists run to 10,000 rows).
    """
    view = QTableView(parent)
    view.setObjectName(name)
    if accessible_name:
        view.setAccessibleName(accessible_name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setTabKeyNavigation(False)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    rows = view.verticalHeader()
    rows.setVisible(False)
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(view.fontMetrics().height() + 8)
    return view


def fit_screen(widget: QWidget, width: int, height: int) -> QSize:
    """The size asked for, but never larger than the screen the window will open on."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return QSize(width, height)
    room = screen.availableGeometry().size() * 0.92
    return QSize(min(width, room.width()), min(height, room.height()))


class ResponderPicker(QComboBox):
    """Choose a responder by typing part of a name or handle; the item data is the handle."""

    person_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(24)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.lineEdit().setPlaceholderText("Type a name or @handle")
        self.currentIndexChanged.connect(self._emit)

    def set_people(self, people: list[PersonView], select: str | None = None) -> None:
        keep = select or self.handle()
        self.blockSignals(True)
        self.clear()
        for p in people:
            self.addItem(f"{p.name} (@{p.handle})", p.handle)
            self.setItemData(self.count() - 1, f"{p.name} · {p.timezone}", Qt.ItemDataRole.ToolTipRole)
        index = self.findData(keep) if keep else -1
        self.setCurrentIndex(index)
        if index < 0:
            self.setEditText("")
        self.blockSignals(False)

    def handle(self) -> str | None:
        """The chosen responder's handle; also accepts a typed '@handle' or exact name."""
        text = self.currentText().strip()
        index = self.currentIndex()
        if index >= 0 and self.itemText(index) == text:
            return self.itemData(index)
        if not text:
            return None
        typed = text.lower()
        partial = []
        for i in range(self.count()):
            label, handle = self.itemText(i).lower(), str(self.itemData(i))
            if typed in (label, label.split(" (@")[0]) or typed.lstrip("@") == handle.lower():
                return handle
            if typed.lstrip("@") in label:
                partial.append(handle)
        if len(partial) == 1:  # 'priya' when only Priya Nair matches
            return partial[0]
        return text.lstrip("@")  # let the service say it is unknown, in its words

    def choose(self, handle: str) -> None:
        index = self.findData(handle.lstrip("@"))
        if index >= 0:
            self.setCurrentIndex(index)
        else:
            self.setEditText(handle)

    def _emit(self, index: int) -> None:
        if index >= 0:
            self.person_chosen.emit(self.itemData(index))


class ZoneChoice(QComboBox):
    """An IANA time zone, picked or typed (part of a city finds it), keeping `their_time` (a label the form
    places) saying what time it is there now."""

    def __init__(self, parent: QWidget, name: str, now: Callable[[], datetime], their_time: QLabel) -> None:
        super().__init__(parent)
        self._now = now
        self.their_time = their_time
        self.setObjectName(name)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItems(timezone_names())
        self.setMaxVisibleItems(16)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setCompleter(completer)
        self.setToolTip("An IANA zone such as Europe/Madrid; type part of a city to find it")
        self.currentTextChanged.connect(self._show_their_time)

    def set_zone(self, name: str) -> None:
        index = self.findText(name)
        if index >= 0:
            self.setCurrentIndex(index)
        else:
            self.setEditText(name)
        self._show_their_time(self.currentText())

    def _show_their_time(self, zone: str) -> None:
        self.their_time.setText(f"Their time now: {person_local_time(zone.strip(), self._now())}")
