"""The header's clock chips: each clock's countdown, and, clicked, what meets it (open the bridge, name the
commander, draft the next update)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu, QSizePolicy, QWidget

from models.enums import Milestone
from services.errors import SitrepError
from services.record.clocks import Clock
from services.record.views import IncidentView
from ui.severity import BREACH_COLOURS, MET_COLOURS, MET_LATE_COLOURS, WARNING_COLOURS, badge_style
from ui.timefmt import span_text, viewer_and_utc, viewer_time

WARN_WITHIN_S = 3 * 60  # a running clock turns amber in its last three minutes


def clock_reading(clock: Clock, now: datetime) -> tuple[str, str]:
    """(text, state) of one clock chip. state: met | met_late | running | warning | breached."""
    state = clock.state(now)
    if state == "met":
        return f"{clock.label} ✓ {viewer_time(clock.met_at, now)}", "met"
    if state == "met_late":
        late = clock.met_at - clock.due_at
        # Met, but late: no tick (a tick in red reads as both "done" and "wrong").
        return f"{clock.label} {span_text(late)} late", "met_late"
    left = clock.remaining(now)
    if state == "breached":
        return f"{clock.label}: OVERDUE {span_text(-left)}", "breached"
    return f"{clock.label}: {span_text(left)} left", (
        "warning" if left.total_seconds() <= WARN_WITHIN_S else "running"
    )


class ClockChip(QLabel):
    """A clock's countdown. Clicked (or Enter/Space on it), it offers what meets the clock."""

    activated = Signal(object)  # Clock

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = ""
        self.clock: Clock | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self.clock is not None:
            self.activated.emit(self.clock)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.clock is not None:
            self.activated.emit(self.clock)
            return
        super().keyPressEvent(event)

    def show_clock(self, clock: Clock, now: datetime) -> None:
        self.clock = clock
        text, state = clock_reading(clock, now)
        self.setObjectName(f"clock-{clock.id}")
        self.setText(text)
        self.setAccessibleName(text)
        if state != self.state:
            self.state = state
            if state == "breached":
                self.setStyleSheet(badge_style(BREACH_COLOURS))
            elif state == "warning":
                self.setStyleSheet(badge_style(WARNING_COLOURS))
            elif state == "met":
                self.setStyleSheet(badge_style(MET_COLOURS, bold=False))
            elif state == "met_late":
                self.setStyleSheet(badge_style(MET_LATE_COLOURS, bold=False))
            else:
                # A mid grey outline shows on light and dark windows alike; the text keeps the palette's.
                self.setStyleSheet("border: 1px solid #8a8a90; border-radius: 4px; padding: 2px 8px;")
        due = f"Due {viewer_and_utc(clock.due_at)}"
        if clock.met_at is not None:
            due += f"\nMet {viewer_and_utc(clock.met_at)}"
        self.setToolTip(due + "\nClick for what meets it")



def clock_menu(ctx, inc: IncidentView, clock: Clock, parent: QWidget, window, edit_milestones: Callable) -> QMenu:
    """What meets a clock: open the bridge, name the commander, draft the next update; and the milestones."""
    panels = getattr(window, "panels", {})
    menu = QMenu(parent)
    if clock.id == "bridge" and clock.met_at is None:
        menu.addAction("The bridge is open now", lambda: _bridge_open_now(ctx, inc))
    if clock.id == "commander":
        roles = panels.get("roles")
        if roles is not None:
            text = "Name the incident commander…" if clock.met_at is None else "Hand over command…"
            slot = roles.open_assign if clock.met_at is None else roles.open_handover
            menu.addAction(text, lambda: (roles.select_role("IC"), slot()))
    if clock.id == "next_update":
        draft = window.findChild(QAction, "act-draft-message") if window is not None else None
        if draft is not None:
            menu.addAction("Draft the next update…", draft.trigger)
    menu.addAction("Edit milestones…", edit_milestones)
    return menu


def _bridge_open_now(ctx, inc: IncidentView) -> None:
    try:
        ctx.sitrep.incidents.set_milestone(inc.id, Milestone.BRIDGE_OPENED, ctx.sitrep.now(), author=ctx.author)
    except SitrepError as err:
        ctx.status_message(err.message, error=True)
        return
    ctx.status_message("Bridge opened: noted on the timeline.")
