"""The incident header: what the incident is, how long it has run, and which clocks are running out.

It reads at a glance from across a desk: severity as a coloured badge, status, the major and
exercise flags, stopwatches since declaration and since impact began, and one chip per severity
clock that counts down each second and turns red when the deadline passes. Times are in the
viewer's zone; hovering shows UTC.

The header also records breaches: every 15 s (and soon after any change) it asks the clock
service to write a breach entry for each deadline that has passed, so a breach is on the
timeline even if nobody is looking.

Longer than ~500 lines: the header's badges, stopwatches, clock chips and the breach recorder run on one tick
against one incident; its dialogs live in ui/dialogs/.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from models.enums import Milestone, Status
from services.changes import Change, Topic
from services.errors import SitrepError
from services.record.catalog import UNKNOWN_SEVERITY
from services.record.clocks import Clock
from services.record.views import IncidentView, RoleHolding
from ui.clock_chips import ClockChip, clock_menu, clock_reading  # noqa: F401 - clock_reading: tests
from ui.dialogs.declare import DeclareDialog
from ui.dialogs.impact import ImpactDialog
from ui.dialogs.incident import DetailsDialog, MajorDialog, MilestoneDialog, SeverityDialog, StatusDialog
from ui.forms import quiet_colour
from ui.operations import read_or_say
from ui.panels import PanelSpec
from ui.severity import (
    badge_style,
    severity_colours,
)
from ui.timefmt import duration_text, person_local_time, span_text, viewer_and_utc, viewer_time

log = logging.getLogger(__name__)

CHECK_EVERY_MS = 15_000
TICK_MS = 1_000
ONE_LINE_MARGIN = 48  # px beyond the one-line width before the header goes from two lines to one
ONE_LINE_GAP = 16  # between what the incident is and how it is going, when both are on one line

STATUS_COLOURS = {
    Status.DECLARED: ("#5c2d91", "#ffffff"),
    Status.INVESTIGATING: ("#8a3707", "#ffffff"),
    Status.IDENTIFIED: ("#0f5ea8", "#ffffff"),
    Status.MITIGATED: ("#0e6b6b", "#ffffff"),
    Status.RESOLVED: ("#0e7a0d", "#ffffff"),
    Status.CLOSED: ("#5c5c5c", "#ffffff"),
}
MAJOR_COLOURS = ("#1b1b1b", "#ffd335")
EXERCISE_COLOURS = ("#4b3b8f", "#ffffff")


COMMANDER_ROLE = "IC"


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with '…' rather than widening the window."""

    def __init__(self, parent: QWidget | None = None, *, quiet: bool = False) -> None:
        super().__init__(parent)
        self.quiet = quiet
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 12)
        self._shorter: tuple[str, ...] = ()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        self._shorter = ()
        super().setText(text)

    def set_shorter(self, *wordings: str) -> None:
        """Shorter ways to say the same, tried in order before the text is cut with '…'."""
        self._shorter = wordings
        self.update()

    def shown_text(self) -> str:
        width = self.contentsRect().width()
        fm = self.fontMetrics()
        for text in (self.text(), *self._shorter):
            if fm.horizontalAdvance(text) <= width:
                return text
        return fm.elidedText((self._shorter or (self.text(),))[-1], Qt.TextElideMode.ElideRight, width)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        colour = QColor(quiet_colour(self)) if self.quiet else self.palette().color(self.foregroundRole())
        painter.setPen(colour)
        painter.setFont(self.font())
        rect = self.contentsRect()
        text = self.shown_text()
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


def _badge(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return label


class HeaderPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("incident-header")
        self.incident: IncidentView | None = None
        self.clocks: list[Clock] = []
        self._breach_seen: set[tuple[str, datetime]] = set()
        self._recorded: set[tuple[str, datetime]] = set()  # overdue clocks known to be on the record
        self._build()
        self._build_actions()
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.update_times)
        self._check_timer = QTimer(self)
        self._check_timer.setInterval(CHECK_EVERY_MS)
        self._check_timer.timeout.connect(self.check_clocks)
        self._soon = QTimer(self)  # coalesces a burst of change notices into one re-read
        self._soon.setSingleShot(True)
        self._soon.setInterval(150)
        self._soon.timeout.connect(self._after_change)
        ctx.notifier.changed.connect(self._on_change)
        self.set_incident(None)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 6)
        outer.setSpacing(4)
        # What the incident is, then how long and which clocks: two lines, or one when the header is
        # wide enough for both at their full length (a big monitor), which gives the panels a line back.
        self.rows = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.rows.setSpacing(4)
        outer.addLayout(self.rows)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.severity_badge = _badge(self, "header-severity")
        self.key_label = QLabel(self)
        self.key_label.setObjectName("header-key")
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title_label = ElidedLabel(self)
        self.title_label.setObjectName("header-title")
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.35)
        big.setBold(True)
        self.key_label.setFont(big)
        self.title_label.setFont(big)
        self.title_label.setMinimumHeight(self.title_label.fontMetrics().height() + 4)
        self.status_badge = _badge(self, "header-status")
        self.services_label = ElidedLabel(self, quiet=True)
        self.services_label.setObjectName("header-services")
        self.major_badge = _badge(self, "header-major")
        self.major_badge.setText("MAJOR INCIDENT")
        self.major_badge.setStyleSheet(badge_style(MAJOR_COLOURS))
        self.major_badge.setToolTip("Run as a formal major incident")
        self.exercise_badge = _badge(self, "header-exercise")
        self.exercise_badge.setText("EXERCISE")
        self.exercise_badge.setStyleSheet(badge_style(EXERCISE_COLOURS))
        self.exercise_badge.setToolTip("A drill: nothing here is a real outage")
        top.addWidget(self.severity_badge)
        top.addWidget(self.key_label)
        top.addWidget(self.title_label, 3)
        top.addWidget(self.services_label, 1)
        top.addWidget(self.exercise_badge)
        top.addWidget(self.major_badge)
        top.addWidget(self.status_badge)
        self.rows.addLayout(top, 1)
        self.top_row = top

        bottom = QHBoxLayout()
        bottom.setSpacing(12)
        self.declared_label = QLabel(self)
        self.declared_label.setObjectName("header-declared")
        self.impact_label = QLabel(self)
        self.impact_label.setObjectName("header-impact")
        bottom.addWidget(self.declared_label)
        bottom.addWidget(self.impact_label)
        self.separator = QFrame(self)
        self.separator.setFrameShape(QFrame.Shape.VLine)
        self.separator.setFrameShadow(QFrame.Shadow.Sunken)
        bottom.addWidget(self.separator)
        self.clock_row = QHBoxLayout()
        self.clock_row.setSpacing(6)
        bottom.addLayout(self.clock_row)
        # Who has command, and what their wall clock says: a commander in another zone at 03:00
        # is in their eighteenth hour and due a handover.
        self.commander_label = ElidedLabel(self, quiet=True)
        self.commander_label.setObjectName("header-commander")
        bottom.addWidget(self.commander_label, 1)
        self.rows.addLayout(bottom, 1)
        self.bottom_row = bottom
        self._least_width = {
            label: label.minimumWidth()
            for label in (self.title_label, self.commander_label, self.services_label)
        }
        self.chips: list[ClockChip] = []
        self.commander: RoleHolding | None = None
        # A proposed severity that differs from the one set (an agreeing one is said on the severity badge).
        self.proposal_label = ElidedLabel(self)
        self.proposal_label.setObjectName("header-proposal")
        bold = QFont(self.font())
        bold.setBold(True)
        self.proposal_label.setFont(bold)
        outer.addWidget(self.proposal_label)
        self.empty_label = QLabel(
            "No incident is open here. Declare one with File ▸ Declare incident… (Ctrl+N).", self
        )
        self.empty_label.setObjectName("header-empty")
        outer.addWidget(self.empty_label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def _build_actions(self) -> None:
        def action(text: str, keys: str, slot, name: str, tip: str) -> QAction:
            act = QAction(text, self)
            act.setObjectName(name)
            act.setShortcut(QKeySequence(keys))
            act.setToolTip(tip)
            act.triggered.connect(lambda _checked=False: slot())
            return act

        self.declare_action = action(
            "Declare incident…", "Ctrl+N", self.declare_incident, "act-declare",
            "Declare a new incident, with the severity matrix in view",
        )  # fmt: skip
        self.status_action = action(
            "Change status…", "Ctrl+Shift+S", self.change_status, "act-status",
            "Move the incident to the next status (reopening asks for a reason)",
        )  # fmt: skip
        self.severity_action = action(
            "Change severity…", "Ctrl+Shift+V", self.change_severity, "act-severity",
            "Raise or lower the severity (lowering asks for a reason)",
        )  # fmt: skip
        self.major_action = action(
            "Declare major incident…", "Ctrl+Shift+M", self.toggle_major, "act-major",
            "Run the incident as a formal major incident, or de-escalate it",
        )  # fmt: skip
        self.milestones_action = action(
            "Edit milestones…", "Ctrl+Shift+T", self.edit_milestones, "act-milestones",
            "Impact started, detected, declared, mitigated, resolved… in your time zone",
        )  # fmt: skip
        self.details_action = action(
            "Edit details…", "Ctrl+Shift+D", self.edit_details, "act-details",
            "Title, summary, services and customer impact",
        )  # fmt: skip
        self.impact_action = action(
            "Record impact…", "Ctrl+Shift+I", self.record_impact, "act-impact",
            "Share of users affected, error rate, journeys, revenue, data exposure: the severity they propose",
        )  # fmt: skip
        self.check_action = action(
            "Check the severity clocks now", "Ctrl+Shift+K", lambda: self.check_clocks(announce=True),
            "act-check-clocks", "Record any breach not on the timeline yet (done every 15 s anyway)",
        )  # fmt: skip
        self.mitigate_action = QAction("Mark mitigated…", self)
        self.mitigate_action.setToolTip("The impact is contained (a workaround, a rollback); not yet fixed")
        self.mitigate_action.triggered.connect(lambda: self.change_status(Status.MITIGATED))
        self.resolve_action = QAction("Resolve the incident…", self)
        self.resolve_action.setToolTip("Close the incident; says first what is still owed (updates, drafts, "
                                       "checklists, the post-incident review)")  # fmt: skip
        self.resolve_action.triggered.connect(lambda: self.change_status(Status.RESOLVED))
        self.incident_actions = [
            self.status_action,
            self.mitigate_action,
            self.resolve_action,
            self.severity_action,
            self.major_action,
            self.milestones_action,
            self.details_action,
            self.impact_action,
            self.check_action,
        ]
        if self.ctx.add_command(self.declare_action, "File", first=True):
            for act in self.incident_actions:
                self.ctx.add_command(act, "Incident")
        else:  # standalone (tests): the shortcuts still work within the header's window
            for act in (self.declare_action, *self.incident_actions):
                self.addAction(act)
        self.dialog = None

    # -- following the incident --------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        switched = incident is None or self.incident is None or incident.id != self.incident.id
        self.incident = incident
        has = incident is not None
        for w in (self.severity_badge, self.key_label, self.title_label, self.status_badge):
            w.setVisible(has)
        self.declared_label.setVisible(has)
        self.separator.setVisible(has)
        self.commander_label.setVisible(has)
        self.impact_label.setVisible(has and incident.milestone(Milestone.IMPACT_STARTED) is not None)
        self.services_label.setVisible(has)
        self.empty_label.setVisible(not has)
        self.proposal_label.setVisible(False)
        self.major_badge.setVisible(has and incident.is_major)
        self.exercise_badge.setVisible(has and incident.is_exercise)
        self._update_actions()
        if not has:
            self._set_clocks([])
            self._tick.stop()
            self._check_timer.stop()
            return
        bg_fg = severity_colours(incident.severity)
        self.severity_badge.setStyleSheet(badge_style(bg_fg))
        level = self._level_label(incident.severity)
        self.severity_badge.setText(incident.severity)
        self.severity_badge.setAccessibleName(f"Severity {incident.severity} {level}")
        self.key_label.setText(incident.key)
        self.title_label.setText(incident.title)
        self.title_label.setToolTip(incident.title + (f"\n\n{incident.summary}" if incident.summary else ""))
        self.title_label.setAccessibleName(incident.title)
        self.status_badge.setText(incident.status.label)
        self.status_badge.setStyleSheet(badge_style(STATUS_COLOURS[incident.status]))
        self.status_badge.setAccessibleName(f"Status {incident.status.label}")
        impact = []
        if incident.services:
            impact.append("Services: " + ", ".join(incident.services))
        if incident.affected_users is not None:
            impact.append(f"{incident.affected_users:,} users affected")
        if incident.error_rate_pct is not None:
            impact.append(f"error rate {incident.error_rate_pct:g}%")
        self.services_label.setText(" · ".join(impact))
        self.services_label.setToolTip("\n".join(impact))
        self._show_proposal(incident)
        if switched:
            self._breach_seen.clear()
            self._recorded = set()
        self.reload_commander()
        self.reload_clocks()
        self._tick.start()
        self._check_timer.start()
        if switched:
            QTimer.singleShot(0, self.check_clocks)

    def _show_proposal(self, incident: IncidentView) -> None:
        """The severity the recorded impact proposes. Agreement is said on the severity badge (its tooltip and
        accessible description), not with a line of its own: on a 720-px screen that line cost the role board
        its last row. A proposal that differs gets its bold line under the clocks."""
        badge = f"{incident.severity}: {self._level_label(incident.severity)}"
        ok, shown = read_or_say(self.ctx, self.ctx.sitrep.impact.show, incident.id,
                                what="The recorded impact cannot be read")  # fmt: skip
        if not ok or shown is None or shown.proposed_severity is None:
            self.severity_badge.setToolTip(badge)
            self.severity_badge.setAccessibleDescription("")
            self.proposal_label.setVisible(False)
            return
        reasons = shown.explanation.split(": ", 1)[-1]
        how = (f"{shown.explanation}\nRecorded by {shown.recorded_by}. "
               "Record impact… (Ctrl+Shift+I) updates it; the commander decides the level.")  # fmt: skip
        text = (f"Impact proposes {shown.proposed_severity}, as set: {reasons}" if shown.agrees
                else f"⚠ Impact proposes {shown.proposed_severity}; the severity is {incident.severity}: {reasons}")  # fmt: skip
        self.severity_badge.setToolTip(f"{badge}\n{text}\n{how}" if shown.agrees else badge)
        self.severity_badge.setAccessibleDescription(text)
        self.proposal_label.setText(text)
        self.proposal_label.setAccessibleName(text)
        self.proposal_label.setToolTip(how)
        self.proposal_label.setVisible(not shown.agrees)

    def _fit_height(self) -> None:
        # A top dock takes whatever height it is given; the header needs only its lines.
        height = self.layout().sizeHint().height()
        if height != self.maximumHeight():
            self.setMaximumHeight(height)

    def _whole_width(self, label: ElidedLabel, most_chars: int | None = None) -> int:
        metrics = label.fontMetrics()
        whole = metrics.horizontalAdvance(label.text()) + 4
        if most_chars is not None:
            whole = min(whole, metrics.averageCharWidth() * most_chars)
        return max(whole, self._least_width[label])

    def one_line_width(self) -> int:
        """The width at which both rows fit side by side with the title and the commander whole (the
        impact text may be shortened; its tooltip has it all)."""
        wanted = {self.title_label: None, self.commander_label: None, self.services_label: 32}
        shown = [label for label in wanted if label.isVisibleTo(self)]
        margins = self.layout().contentsMargins()
        return (
            self.top_row.sizeHint().width()
            + self.bottom_row.sizeHint().width()
            # The rows' hints count a shortening label at its minimum width; count what it wants.
            - sum(label.minimumWidth() for label in shown)
            + sum(self._whole_width(label, wanted[label]) for label in shown)
            + ONE_LINE_GAP
            + margins.left()
            + margins.right()
        )

    def is_one_line(self) -> bool:
        return self.rows.direction() == QBoxLayout.Direction.LeftToRight

    def _choose_lines(self) -> None:
        need = self.one_line_width()
        # Countdown text changes width every second: a margin keeps the header from flipping at the edge.
        if self.is_one_line():
            one = self.width() >= need
        else:
            one = self.width() >= need + ONE_LINE_MARGIN
        direction = QBoxLayout.Direction.LeftToRight if one else QBoxLayout.Direction.TopToBottom
        if self.rows.direction() != direction:
            self.rows.setDirection(direction)
            self.rows.setSpacing(ONE_LINE_GAP if one else 4)
        # On one line the title and the commander are held whole (the space left goes to the impact
        # text); on two they may shorten like any elided label.
        for label in (self.title_label, self.commander_label):
            label.setMinimumWidth(self._whole_width(label) if one else self._least_width[label])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._choose_lines()

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:  # the layout has just been re-measured
            self._choose_lines()
            self._fit_height()
        return handled

    def _level_label(self, severity: str) -> str:
        if severity == UNKNOWN_SEVERITY:
            return "not recorded in the imported history"
        try:
            return self.ctx.sitrep.catalog.severity(severity).label
        except SitrepError:
            return "not in the severity matrix"

    def _update_actions(self) -> None:
        inc = self.incident
        has = inc is not None
        self.status_action.setEnabled(has)
        self.milestones_action.setEnabled(has)
        self.details_action.setEnabled(has)
        self.check_action.setEnabled(has)
        self.severity_action.setEnabled(has and inc.is_open)
        self.major_action.setEnabled(has and inc.is_open)
        self.mitigate_action.setEnabled(has and inc.is_open)
        self.resolve_action.setEnabled(has and inc.is_open)
        self.major_action.setText(
            "De-escalate major incident…" if has and inc.is_major else "Declare major incident…"
        )

    def reload_commander(self) -> None:
        self.commander = None
        if self.incident is not None:
            _, holders = read_or_say(self.ctx, self.ctx.sitrep.roles.holders, self.incident.id,
                                     what="The role holders cannot be read", default=[])  # fmt: skip
            self.commander = next((h for h in holders if h.role == COMMANDER_ROLE), None)
        self._show_commander(self.ctx.sitrep.now())

    def _show_commander(self, now: datetime) -> None:
        ic = self.commander
        if ic is None:
            self.commander_label.setText("IC: nobody yet")
            self.commander_label.setToolTip("Nobody holds Incident Commander: assign one (Ctrl+Shift+A)")
            return
        their = person_local_time(ic.person.timezone, now)
        self.commander_label.setText(f"IC {ic.person.name} · their time {their}")
        # On a laptop the clocks leave less room: the name first, their time as long as it fits.
        self.commander_label.set_shorter(f"IC {ic.person.name} · {their.split(' (')[0]} theirs", f"IC {ic.person.name}")
        self.commander_label.setToolTip(
            f"Incident Commander: {ic.person.name} (@{ic.person.handle}), "
            f"since {viewer_time(ic.started_at, now)} ({duration_text(now - ic.started_at)})\n"
            f"Their time now: {their}, {ic.person.timezone}"
        )

    def reload_clocks(self) -> None:
        if self.incident is None:
            return
        _, clocks = read_or_say(self.ctx, self.ctx.sitrep.clocks.clocks, self.incident,
                                what="The severity clocks cannot be read", default=[])  # fmt: skip
        self._set_clocks(clocks)

    def _set_clocks(self, clocks: list[Clock]) -> None:
        self.clocks = clocks
        while len(self.chips) < len(clocks):
            chip = ClockChip(self)
            chip.activated.connect(lambda clock, chip=chip: self.offer_for_clock(clock, chip))
            self.clock_row.addWidget(chip)
            self.chips.append(chip)
        while len(self.chips) > len(clocks):
            chip = self.chips.pop()
            self.clock_row.removeWidget(chip)
            chip.deleteLater()
        self.update_times()

    def update_times(self) -> None:
        """Once a second: the stopwatches, and each clock chip's countdown."""
        inc = self.incident
        if inc is None:
            return
        now = self.ctx.sitrep.now()
        declared = inc.milestone(Milestone.DECLARED)
        end = inc.milestone(Milestone.RESOLVED) if not inc.is_open else None
        if declared is not None:
            running = (end or now) - declared
            verb = "ran" if end else "running"
            self.declared_label.setText(
                f"Declared {viewer_time(declared, now)} · {verb} <b>{span_text(running)}</b>"
            )
            self.declared_label.setToolTip(f"Declared {viewer_and_utc(declared)}")
        else:  # imported history: an incident with a start and an end that nobody formally declared
            self.declared_label.setText("Never formally declared")
            self.declared_label.setToolTip("Imported from a history with no declaration time")
        impact = inc.milestone(Milestone.IMPACT_STARTED)
        if impact is not None:
            impact_end = inc.milestone(Milestone.MITIGATED) or end
            if impact_end is None:
                text = f"Impact since {viewer_time(impact, now)} · <b>{span_text(now - impact)}</b>"
            else:
                text = (
                    f"Impact {viewer_time(impact, now)}–{viewer_time(impact_end, now)} · "
                    f"lasted <b>{span_text(impact_end - impact)}</b>"
                )
            self.impact_label.setText(text)
            self.impact_label.setToolTip(f"Impact started {viewer_and_utc(impact)}")
        self._show_commander(now)
        newly_breached = False
        for chip, clock in zip(self.chips, self.clocks, strict=True):
            chip.show_clock(clock, now)
            if chip.state == "breached" and (clock.id, clock.due_at) not in self._breach_seen:
                self._breach_seen.add((clock.id, clock.due_at))
                newly_breached = True
        if newly_breached:
            # Record it now rather than at the next periodic check: the timeline shows the breach
            # the second the header turns red.
            QTimer.singleShot(0, self.check_clocks)

    def _overdue(self) -> set[tuple[str, datetime]]:
        now = self.ctx.sitrep.now()
        return {(c.id, c.due_at) for c in self.clocks if c.state(now) in ("breached", "met_late")}

    def check_clocks(self, announce: bool = False) -> list[Clock]:
        """Ask the clock service to record any breach not yet on the timeline.

        The check is a write transaction, so it is only made when a clock this header shows is past
        its deadline and has not been confirmed as recorded: a busy store is not locked every 15 s
        for nothing.
        """
        if self.incident is None:
            return []
        overdue = self._overdue()
        if not announce and overdue <= self._recorded:
            return []
        if self.ctx.sitrep.read_only:
            return []  # a breach is recorded by whoever can write the store
        # Every 15 s: a status-bar line, never a dialog that would stack up while the store is busy.
        ok, fresh = read_or_say(self.ctx, self.ctx.sitrep.clocks.check, self.incident.id, author="sitrep",
                                what="Clock check failed")  # fmt: skip
        if not ok:
            return []
        self._recorded |= overdue
        if fresh:
            names = ", ".join(c.label for c in fresh)
            self.ctx.status_message(f"{self.incident.key}: clock breached: {names}.", error=True)
        elif announce:
            self.ctx.status_message("No new clock breaches.")
        return fresh

    def _on_change(self, change: Change) -> None:
        if self.incident is None:
            return
        if change.incident_id not in (None, self.incident.id):
            return
        # A comms entry moves the next-update clock; a role change may meet the commander clock.
        # A responder's new time zone changes the commander's wall clock.
        if change.topic in {Topic.TIMELINE, Topic.INCIDENT, Topic.ROLES, Topic.EXTERNAL, Topic.PEOPLE}:
            self._soon.start()

    def _after_change(self) -> None:
        if self.incident is None:
            return
        try:
            fresh = self.ctx.sitrep.incidents.get(self.incident.id)
        except SitrepError:
            return  # the main window reports a vanished incident when it reloads the list
        if fresh != self.incident:
            self.set_incident(fresh)
        else:
            self.reload_commander()
            self.reload_clocks()
            self.check_clocks()

    # -- actions -----------------------------------------------------------------------------
    def _open(self, dialog):
        """Window-modal and non-blocking: the clocks keep ticking behind an open dialog."""
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._after_dialog)
        dialog.open()
        return dialog

    def _after_dialog(self) -> None:
        dialog = self.dialog
        view = getattr(dialog, "result_value", None)
        if isinstance(view, IncidentView) and self.incident is not None and view.id == self.incident.id:
            self.set_incident(view)
            self.ctx.selection.refresh(view)  # the other panels and the switcher follow

    def _parent_window(self) -> QWidget:
        return self.ctx.dialog_parent(self)

    def declare_incident(self):
        dialog = DeclareDialog(self.ctx, self._parent_window())
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _need_incident(self) -> IncidentView | None:
        if self.incident is None:
            self.ctx.status_message("No incident is selected.", error=True)
        return self.incident

    def change_status(self, to: Status | None = None):
        inc = self._need_incident()
        if inc is None:
            return None
        dialog = StatusDialog(self.ctx, inc, self._parent_window())
        if to is not None and to in dialog.radios:
            dialog.choose(to)
        return self._open(dialog)

    def change_severity(self):
        inc = self._need_incident()
        return self._open(SeverityDialog(self.ctx, inc, self._parent_window())) if inc else None

    def toggle_major(self):
        inc = self._need_incident()
        return self._open(MajorDialog(self.ctx, inc, self._parent_window())) if inc else None

    def edit_milestones(self):
        inc = self._need_incident()
        return self._open(MilestoneDialog(self.ctx, inc, self._parent_window())) if inc else None

    def edit_details(self):
        inc = self._need_incident()
        return self._open(DetailsDialog(self.ctx, inc, self._parent_window())) if inc else None

    def record_impact(self):
        inc = self._need_incident()
        return self._open(ImpactDialog(self.ctx, inc, self._parent_window())) if inc else None

    def offer_for_clock(self, clock: Clock, chip: QWidget | None = None) -> QMenu | None:
        """What meets a clock (ui/clock_chips.py)."""
        inc = self._need_incident()
        if inc is None:
            return None
        self.clock_menu = clock_menu(self.ctx, inc, clock, self, self._parent_window(), self.edit_milestones)
        where = chip.mapToGlobal(chip.rect().bottomLeft()) if chip is not None else self.mapToGlobal(self.rect().center())
        self.clock_menu.popup(where)
        return self.clock_menu

    def shutdown(self) -> None:
        self._tick.stop()
        self._check_timer.stop()
        self._soon.stop()


PANEL = PanelSpec(
    id="header",
    title="Incident",
    factory=HeaderPanel,
    area=Qt.DockWidgetArea.TopDockWidgetArea,
    title_bar=False,  # it says which incident it is; a line saying "Incident" above it is a line lost
)
