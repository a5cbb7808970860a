"""Fusion for a dark palette: check boxes that can be seen.

Only the dark scheme installs it (ui/theme.py): a style written in Python is called back for every
primitive Qt draws, and that costs the first paint ~20 ms where the light palette needs no fix."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QProxyStyle, QStyle, QStyleFactory


class ConsoleStyle(QProxyStyle):
    """Fusion, with check boxes that can be seen on a dark palette.

    Fusion outlines a check box in the window colour made darker, which on a dark palette is
    the colour of the box itself: a checklist showed its ticks but not its empty boxes.
    """

    _INDICATORS = (
        QStyle.PrimitiveElement.PE_IndicatorCheckBox,
        QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck,
        QStyle.PrimitiveElement.PE_IndicatorRadioButton,
    )

    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))

    def drawPrimitive(self, element, option, painter, widget=None) -> None:
        if element in self._INDICATORS and option.palette.color(QPalette.ColorRole.Window).lightness() < 128:
            original = QPalette(option.palette)
            lifted = QPalette(original)
            for group in (
                QPalette.ColorGroup.Active,
                QPalette.ColorGroup.Inactive,
                QPalette.ColorGroup.Disabled,
            ):
                lifted.setColor(
                    group,
                    QPalette.ColorRole.Window,
                    original.color(group, QPalette.ColorRole.Window).lighter(260),
                )
            option.palette = lifted
            try:
                super().drawPrimitive(element, option, painter, widget)
            finally:
                option.palette = original
            return
        super().drawPrimitive(element, option, painter, widget)
