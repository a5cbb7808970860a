"""Status-bar indicators a panel puts beside the console's status line, so what it watches shows while
the panel itself is closed."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import (
    QToolButton,
    QWidget,
)

from services.comms.views import RegClockView
from ui.item_models.regulatory import (
    STATE_COLOURS,
    both_times,
    clock_reading,
)
from ui.severity import badge_style


class RegulatoryIndicator(QToolButton):
    """The status bar's word on the most urgent running regulatory clock; a click opens the panel."""

    def __init__(self, open_panel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("regulatory-indicator")
        self.setAutoRaise(True)
        self.setAccessibleName("Most urgent regulatory clock")
        self.state = ""
        self.clicked.connect(open_panel)
        self.hide()

    def show_clock(self, clock: RegClockView | None, now: datetime, running: int) -> None:
        if clock is None:
            self.hide()
            self.state = ""
            return
        text, state = clock_reading(clock, now)
        self.setText(f"⚖ {clock.label}: {text}")
        more = f"\n{running - 1} more running." if running > 1 else ""
        self.setToolTip(
            f"{clock.label} is due {both_times(clock.deadline_at)}.{more}\n"
            "Click to open the regulatory clocks (Ctrl+Shift+G)."
        )
        if state != self.state:
            self.state = state
            colours = STATE_COLOURS.get(state)
            self.setStyleSheet(badge_style(colours) if colours else "")
        self.show()


# -- dialogs ------------------------------------------------------------------------------------------
