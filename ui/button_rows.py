"""A row of buttons that becomes two rows when its panel is narrow, instead of widening the panel."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget


class ButtonRows(QWidget):
    """The buttons side by side when they fit, else the first `first_row` of them above the rest.

    A panel docked beside the role board on a laptop is a few hundred pixels narrower than the same
    panel on a monitor; five buttons in one row would set the panel's minimum width on their own.
    """

    def __init__(self, buttons: list[QPushButton], first_row: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons = buttons
        self.first_row = first_row
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._one_row: bool | None = None
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._arrange(one_row=True)

    def _width_of(self, buttons: list[QPushButton]) -> int:
        spacing = max(self._grid.horizontalSpacing(), 0)
        return sum(b.sizeHint().width() for b in buttons) + spacing * max(len(buttons) - 1, 0)

    def one_row_width(self) -> int:
        return self._width_of(self.buttons)

    def is_one_row(self) -> bool:
        return bool(self._one_row)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # As narrow as the two-row arrangement allows; as tall as the arrangement in use.
        width = max(
            self._width_of(self.buttons[: self.first_row]), self._width_of(self.buttons[self.first_row :])
        )
        return QSize(width, self._grid.sizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self.one_row_width(), self._grid.sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._arrange(one_row=self.width() >= self.one_row_width())

    def _arrange(self, *, one_row: bool) -> None:
        if one_row == self._one_row:
            return
        self._one_row = one_row
        for button in self.buttons:
            self._grid.removeWidget(button)
        for i, button in enumerate(self.buttons):
            if one_row or i < self.first_row:
                self._grid.addWidget(button, 0, i)
            else:
                self._grid.addWidget(button, 1, i - self.first_row)
        self.updateGeometry()  # the height changed: the panel's layout makes room
