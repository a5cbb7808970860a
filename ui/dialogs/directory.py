"""A directory window: a searchable table of records with Add and Edit, kept in step with changes made
elsewhere (the CLI, an import, another window). The responder directory (ui/dialogs/people.py) and the
stakeholder registry (ui/dialogs/stakeholders.py) are two of them; a subclass says what it lists."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change, Topic
from ui.fields import ErrorLabel, fit_screen, record_table
from ui.forms import QuietLabel
from ui.item_models.rows import RowsModel
from ui.operations import read_or_say


class DirectoryDialog(QDialog):
    """Subclasses set the class attributes, build their model, call `build`, and implement `read_rows`,
    `show_rows` and `new_editor`. Rows are told apart by their `handle`."""

    prefix = "directory"  # object names: <prefix>-filter, -view, -add, -edit, -count
    noun = "record"  # "Select a <noun> first."
    topics: frozenset[Topic] = frozenset({Topic.EXTERNAL})  # changes that make it read the rows again

    def __init__(self, ctx, model: RowsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = model
        self.editor: QDialog | None = None

    def build(
        self,
        *,
        title: str,
        find_hint: str,
        find_name: str,
        table_name: str,
        column_samples: tuple[tuple[int, str], ...],
        add_text: str,
        error_name: str,
        filters: tuple[QWidget, ...] = (),
        buttons: tuple[QPushButton, ...] = (),
        size_in_lines: int = 30,
    ) -> None:
        self.setWindowTitle(title)
        self.filter = QLineEdit(self)
        self.filter.setObjectName(f"{self.prefix}-filter")
        self.filter.setPlaceholderText(find_hint)
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName(find_name)
        self.view = record_table(self, self.model, f"{self.prefix}-view", table_name)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        fm = self.fontMetrics()
        for col, sample in column_samples:
            self.view.setColumnWidth(col, fm.horizontalAdvance(sample) + fm.averageCharWidth() * 3)
        table_width = sum(self.view.columnWidth(c) for c in range(self.model.columnCount()))
        self.view.activated.connect(lambda idx: self.edit(self.model.row_at(idx.row())))
        # The view leaves Enter unhandled after emitting `activated`; a QDialog would then press the
        # default button of any child dialog (the editor just opened). Take Enter here instead.
        self.view.installEventFilter(self)
        self.filter.installEventFilter(self)
        self.count = QuietLabel("", self, wrap=False)
        self.count.setObjectName(f"{self.prefix}-count")

        self.add_button = QPushButton(add_text, self)
        self.add_button.setObjectName(f"{self.prefix}-add")
        self.add_button.clicked.connect(lambda: self.edit(None))
        self.edit_button = QPushButton("&Edit…", self)
        self.edit_button.setObjectName(f"{self.prefix}-edit")
        self.edit_button.clicked.connect(self.edit_selected)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        # Enter belongs to the table (edit the record) and the filter, never to a button.
        for button in (self.add_button, self.edit_button, *buttons, *close.buttons()):
            button.setAutoDefault(False)
        self.error = ErrorLabel(self, name=error_name)

        new_shortcut = QAction(self)
        new_shortcut.setShortcut(QKeySequence(QKeySequence.StandardKey.New))
        new_shortcut.triggered.connect(lambda: self.edit(None))
        self.addAction(new_shortcut)
        find_shortcut = QAction(self)
        find_shortcut.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        find_shortcut.triggered.connect(lambda: (self.filter.setFocus(), self.filter.selectAll()))
        self.addAction(find_shortcut)

        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        for widget in filters:
            top.addWidget(widget)
        row = QHBoxLayout()
        for button in (self.add_button, self.edit_button, *buttons):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.count)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.error)
        lay.addLayout(row)
        lay.addWidget(close)

        # Changes come in bursts (an import): one re-read per burst, after the burst.
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(0)
        self._reload_timer.timeout.connect(self.reload)
        self.ctx.notifier.changed.connect(self._on_change)
        self.model.modelReset.connect(self._after_reset)
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self.update_buttons())
        self.resize(fit_screen(self, table_width + fm.averageCharWidth() * 8, fm.height() * size_in_lines))

    # -- what a subclass says ---------------------------------------------------------------------
    def read_rows(self) -> list[Any]:
        raise NotImplementedError

    def show_rows(self, rows: list[Any]) -> None:
        raise NotImplementedError

    def new_editor(self, record: Any | None) -> QDialog:
        raise NotImplementedError

    def count_text(self, shown: int, total: int) -> str:
        return f"{total:,} {self.noun}s" if shown == total else f"{shown:,} of {total:,} shown"

    def total(self) -> int:
        return self.model.rowCount()

    def wants(self, change: Change) -> bool:
        return change.topic in self.topics

    # -- the shared behaviour ---------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj in (self.view, self.filter) and event.type() == QEvent.Type.KeyPress:
            # Enter edits the selected record (from the list, or from the search box: type part of a
            # name, Enter); Down leaves the search box for the list.
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.edit_selected()
                return True
            if obj is self.filter and event.key() == Qt.Key.Key_Down:
                self.view.setFocus(Qt.FocusReason.TabFocusReason)
                return True
        return super().eventFilter(obj, event)

    def _on_change(self, change: Change) -> None:
        if self.wants(change):
            self._reload_timer.start()

    def reload(self) -> None:
        selected = self.selected()
        ok, rows = read_or_say(self.ctx, self.read_rows, say=self.error.show_error)
        if not ok:
            return
        self.error.show_error(None)
        self.show_rows(rows)
        if selected is not None:
            self.select(selected.handle)
        elif self.model.rowCount():  # the first one, so Edit is one key away
            self.view.setCurrentIndex(self.model.index(0, 0))

    def _after_reset(self) -> None:
        self.count.setText(self.count_text(self.model.rowCount(), self.total()))
        self.update_buttons()

    def update_buttons(self) -> None:
        self.edit_button.setEnabled(self.selected() is not None)

    def selected(self) -> Any | None:
        idx = self.view.currentIndex()
        return self.model.row_at(idx.row()) if idx.isValid() else None

    def select(self, handle: str) -> None:
        row = self.model.row_of(handle)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row, 0))

    def edit_selected(self) -> None:
        record = self.selected()
        if record is None:
            self.error.show_error(f"Select a {self.noun} first.")
            return
        self.edit(record)

    def editor_for(self, record: Any | None) -> QDialog:
        """The add/edit dialog, not yet shown (tests fill it and call submit())."""
        editor = self.new_editor(record)
        editor.accepted.connect(lambda: self.saved(editor))
        self.editor = editor
        return editor

    def edit(self, record: Any | None) -> QDialog:
        self.error.show_error(None)
        editor = self.editor_for(record)
        editor.open()
        return editor

    def saved(self, editor) -> None:
        self.reload()
        if editor.saved is not None:
            self.select(editor.saved.handle)
        self.view.setFocus()


def open_single(ctx, attribute: str, dialog_class: type[QDialog], parent: QWidget | None) -> QDialog:
    """One such window per console (kept in `ctx.<attribute>`): asking again brings the open one forward."""
    existing = getattr(ctx, attribute)
    if isinstance(existing, dialog_class) and shiboken6.isValid(existing) and existing.isVisible():
        existing.raise_()
        existing.activateWindow()
        return existing
    dialog = dialog_class(ctx, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    setattr(ctx, attribute, dialog)
    dialog.show()
    return dialog
