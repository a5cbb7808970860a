"""A table over a live record: rows arrive at the end, and a reader who is at the end follows them.

Qt answers any change in a table's row count with a new layout and a repaint of the whole viewport
(QTableView::rowCountChanged schedules QAbstractItemView::doItemsLayout). At a timeline's live edge that is
some thirty rows of text painted again for every entry logged: 10-15 ms of the 16 ms a frame has
(docs/performance.md, "Live append"). When rows are appended while the reader is at the end, this view does
what a scroll does instead: the rows already painted move up (their pixels are copied) and only the new rows
are painted. Rows inserted anywhere else, a reader scrolled up and a hidden view take Qt's own path.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, Signal
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget

FRAME_S = 1 / 60  # a screen's frame: rows arriving closer together than this are painted together


class LiveTableView(QTableView):
    # Rows appended at the end while the reader is further up: they are not scrolled to (the reader stays where
    # they are reading), so the panel says how many arrived below.
    rows_below = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._following = False  # the rows being appended will be scrolled into view
        self._appending = False  # the rows arriving go at the end
        self._holding = False  # the vertical header's row count notice is held back for this append
        self._painted_at = 0.0  # time.monotonic() of the last paint asked for at once

    def setModel(self, model: QAbstractItemModel | None) -> None:  # noqa: N802 (Qt override)
        old = self.model()
        if old is not None:
            old.rowsAboutToBeInserted.disconnect(self._rows_arriving)
            old.rowsInserted.disconnect(self._rows_arrived)
        super().setModel(model)
        # Connected after the view's own connections (made in setModel), so the header has taken the new
        # rows in before _rows_arrived runs.
        if model is not None:
            model.rowsAboutToBeInserted.connect(self._rows_arriving)
            model.rowsInserted.connect(self._rows_arrived)

    def at_live_edge(self, rows_added: int = 1) -> bool:
        """The reader is at the end of the record (before `rows_added` rows arrive there): follow them.

        At the end means within a row of it (the last row partly shown, or a row arrived but not yet scrolled
        to), counted in the scroll bar's own units: rows when the view scrolls by rows (the default here),
        pixels when it scrolls by pixels. A reader further up stays where they are reading; Ctrl+End
        ("Jump to the latest entry") brings them back."""
        bar = self.verticalScrollBar()
        per_item = self.verticalScrollMode() == QAbstractItemView.ScrollMode.ScrollPerItem
        row = 1 if per_item else max(1, self.verticalHeader().defaultSectionSize())
        return bar.maximum() - bar.value() <= rows_added * row + row

    def at_end(self) -> bool:
        """The last row is in view (within a row of the end, as `at_live_edge` counts it)."""
        return self.at_live_edge(0)

    def _rows_arriving(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        model = self.model()
        appended = not parent.isValid() and model is not None and first == model.rowCount()
        self._appending = appended
        self._following = appended and self.at_live_edge(last - first + 1)
        header = self.verticalHeader()
        if self._following and self.isVisible() and self.updatesEnabled() and not header.signalsBlocked():
            # The header's sectionCountChanged is what makes the table lay out and repaint everything.
            header.blockSignals(True)
            self._holding = True

    def _rows_arrived(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        following, holding, appended = self._following, self._holding, self._appending
        self._following = self._holding = self._appending = False
        if holding:
            header = self.verticalHeader()
            header.blockSignals(False)
            painted_at = header.offset()
            self.updateGeometries()  # the scroll range, as the held layout would have set it
            # updateGeometries may move the rows to a new offset (the top row whole, when no longer at the
            # end) without moving their pixels: put them back where they were painted, so that the scroll
            # below moves the pixels by exactly as much as it moves the rows.
            header.setOffset(painted_at)
        if not following:
            if appended:
                self.rows_below.emit(last - first + 1)
            return
        self.scrollToBottom()  # copies the painted rows up, and asks for what it uncovered
        if holding:
            self._paint_rows_from(first)

    def _paint_rows_from(self, first: int) -> None:
        """Ask for a paint of the new rows (a scroll asks for what it uncovers, but a view not yet full
        does not scroll)."""
        viewport = self.viewport()
        top = max(0, self.rowViewportPosition(first))
        if top >= viewport.height():
            return
        rows = QRect(0, top, viewport.width(), viewport.height() - top)
        now = time.monotonic()
        if now - self._painted_at >= FRAME_S:
            # Painted now, not at the next turn of the event loop: the rows often arrive while their commit
            # is being announced, and the other panels' refresh for it would come first.
            self._painted_at = now
            viewport.repaint(rows)
        else:
            viewport.update(rows)  # a burst: the next turn of the event loop paints the rows together
