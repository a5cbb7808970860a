"""Regulatory clocks: the notification deadlines that regimes (GDPR, NIS2, SEC, DORA...) set on an incident.

One row per clock with its jurisdiction, the deadline in the viewer's zone and in UTC, and the time
left counting down each second: amber in the last quarter of its span, red once overdue, like the
header's chips. From here the commander applies the incident type's escalation path (with the time
the organisation became aware, backdatable), starts a clock that waits for its trigger (a materiality
decision, a classification), and closes one as met (with the notice's reference) or withdrawn (with
counsel's reason). The rules are data, marked as needing review by counsel, and the panel says so.

The most urgent running clock also sits in the status bar, so a panel that is not open still shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from models.enums import ClockState, Milestone
from models.types import as_utc
from services.changes import Change, Topic
from services.comms.regulatory import REVIEW_NOTE
from services.comms.service import RegClockView
from services.errors import SitrepError
from services.views import IncidentView
from ui.dialogs.stakeholders import group_label
from ui.fields import chain_tab_order, record_table
from ui.forms import QuietLabel, ServiceDialog, WhenEdit, quiet_colour
from ui.panels import PanelSpec
from ui.severity import BREACH_COLOURS, MET_COLOURS, MET_LATE_COLOURS, WARNING_COLOURS, badge_style
from ui.theme import warning_color
from ui.timefmt import duration_text, span_text, viewer_zone

TICK_MS = 1_000
MIN_WARN = timedelta(minutes=3)  # as the header's chips
WARN_SHARE = 0.25  # amber in the last quarter of the span: 18 h of GDPR's 72, 1 h of DORA's 4

COLUMNS = ("Clock", "Jurisdiction", "Time left", "Due (your time)", "Due (UTC)", "Counts from")
COL_LABEL, COL_JURISDICTION, COL_LEFT, COL_DUE_LOCAL, COL_DUE_UTC, COL_FROM = range(len(COLUMNS))
ClockRole = Qt.ItemDataRole.UserRole + 1
STATE_COLOURS = {
    "warning": WARNING_COLOURS,
    "overdue": BREACH_COLOURS,
    "met": MET_COLOURS,
    "met_late": MET_LATE_COLOURS,
}


def local_text(value: datetime | None) -> str:
    """A deadline as the viewer reads it: always with its day and date, since most are days away."""
    if value is None:
        return ""
    return as_utc(value).astimezone(viewer_zone()).strftime("%a %d %b %H:%M %Z")


def utc_short(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).strftime("%a %d %b %H:%M UTC")


def both_times(value: datetime | None) -> str:
    """'Thu 03 Dec 23:30 CET (22:30 UTC)'; just the one reading for a viewer whose zone is UTC."""
    if value is None:
        return ""
    local, utc = local_text(value), utc_short(value)
    if local == utc:
        return utc
    return f"{local} ({as_utc(value):%H:%M} UTC)" if local[:10] == utc[:10] else f"{local} ({utc})"


def warn_within(clock: RegClockView) -> timedelta:
    if clock.trigger_at is None or clock.deadline_at is None:
        return MIN_WARN
    return max(MIN_WARN, (clock.deadline_at - clock.trigger_at) * WARN_SHARE)


def clock_reading(clock: RegClockView, now: datetime) -> tuple[str, str]:
    """(text, state) of one regulatory clock. state: awaiting | running | warning | overdue | met |
    met_late | withdrawn."""
    if clock.state is ClockState.AWAITING:
        trigger = clock.rule.get("trigger_label", "its trigger")
        return f"Waiting for: {trigger}", "awaiting"
    if clock.state is ClockState.WITHDRAWN:
        return "Withdrawn (does not apply)", "withdrawn"
    if clock.state is ClockState.MET:
        if clock.met_at is not None and clock.deadline_at is not None and clock.met_at > clock.deadline_at:
            return f"✓ Met, {span_text(clock.met_at - clock.deadline_at)} late", "met_late"
        return f"✓ Met {local_text(clock.met_at)}", "met"
    left = clock.remaining(now)
    if left is None:
        return "Running", "running"
    if left.total_seconds() < 0:
        return f"OVERDUE {span_text(-left)}", "overdue"
    return f"{span_text(left)} left", ("warning" if left <= warn_within(clock) else "running")


class RegulatoryClocksModel(QAbstractTableModel):
    """The incident's clocks as plain RegClockView rows (running first, most urgent on top)."""

    def __init__(self, now: Callable[[], datetime], jurisdiction: Callable[[RegClockView], str],
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._now = now
        self._jurisdiction = jurisdiction
        self.rows: list[RegClockView] = []

    def set_clocks(self, rows: list[RegClockView]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def clock(self, row: int) -> RegClockView | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, rule_id: str) -> int | None:
        return next((i for i, c in enumerate(self.rows) if c.rule_id == rule_id), None)

    def tick(self) -> None:
        """A second passed: repaint the countdowns (and their colours)."""
        if self.rows:
            self.dataChanged.emit(self.index(0, COL_LEFT), self.index(len(self.rows) - 1, COL_LEFT))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        c = self.clock(index.row())
        if c is None:
            return None
        col = index.column()
        if role == ClockRole:
            return c
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_LABEL:
                return c.label
            if col == COL_JURISDICTION:
                return self._jurisdiction(c)
            if col == COL_LEFT:
                return clock_reading(c, self._now())[0]
            if col == COL_DUE_LOCAL:
                return local_text(c.deadline_at)
            if col == COL_DUE_UTC:
                return utc_short(c.deadline_at)
            if col == COL_FROM:
                return local_text(c.trigger_at)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_LABEL:
                regime = c.rule.get("regime", "")
                return f"{c.label}\n{regime} · notify: {c.rule.get('recipient', '?')}\nRule {c.rule.get('review', REVIEW_NOTE)}"
            if col == COL_LEFT:
                return clock_reading(c, self._now())[0]
            if col == COL_JURISDICTION:
                return self._jurisdiction(c)
            if col in (COL_DUE_LOCAL, COL_DUE_UTC) and c.deadline_at is not None:
                return f"{local_text(c.deadline_at)} (your time)\n{utc_short(c.deadline_at)}"
            if col == COL_FROM and c.trigger_at is not None:
                return f"{c.rule.get('trigger_label', 'trigger')}: {local_text(c.trigger_at)} ({utc_short(c.trigger_at)})"
            return None
        if col == COL_LEFT and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            colours = STATE_COLOURS.get(clock_reading(c, self._now())[1])
            if colours is not None:
                return QBrush(QColor(colours[0 if role == Qt.ItemDataRole.BackgroundRole else 1]))
            return None
        if role == Qt.ItemDataRole.ForegroundRole and c.state in (ClockState.WITHDRAWN, ClockState.AWAITING):
            return QBrush(QColor(quiet_colour(None)))
        return None


class CountdownDelegate(QStyledItemDelegate):
    """Paints the time-left cell in its state's colours even on the selected row: an overdue clock
    must not turn selection-blue because someone clicked it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        background = index.data(Qt.ItemDataRole.BackgroundRole)
        if background is None:
            super().paint(painter, option, index)
            return
        painter.save()
        painter.fillRect(option.rect, background)
        if option.state & QStyle.StateFlag.State_Selected:
            pen = QPen(option.palette.color(QPalette.ColorRole.Highlight), 2)
            painter.setPen(pen)
            painter.drawRect(option.rect.adjusted(1, 1, -1, -1))
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(index.data(Qt.ItemDataRole.ForegroundRole).color())
        text_rect = option.rect.adjusted(6, 0, -4, 0)
        text = QFontMetrics(font).elidedText(
            str(index.data() or ""), Qt.TextElideMode.ElideRight, text_rect.width()
        )
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        painter.restore()


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
def _clock_combo(parent: QWidget, clocks: list[RegClockView], chosen: str | None) -> QComboBox:
    combo = QComboBox(parent)
    combo.setObjectName("regulatory-clock-choice")
    for c in clocks:
        combo.addItem(c.label, c.rule_id)
    index = combo.findData(chosen) if chosen else -1
    combo.setCurrentIndex(index if index >= 0 else 0)
    return combo


class EscalationDialog(ServiceDialog):
    """Apply the incident type's escalation path: who to bring in, which clocks start from when."""

    ok_text = "Apply escalation path"

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Escalation path — {incident.key}", parent)
        self.setObjectName("dialog-escalation")
        self.incident = incident
        comms = ctx.sitrep.comms
        path, people, applied = comms.escalation(incident.id)
        self.path = path
        have = {c.rule_id for c in comms.regulatory_clocks(incident.id)}
        lay = QVBoxLayout(self)
        intro = QLabel(self)
        intro.setWordWrap(True)
        intro.setObjectName("escalation-intro")
        groups = ", ".join(group_label(g) for g in path.groups) or "nobody extra"
        names = ", ".join(f"{p.name} (@{p.handle})" for p in people)
        intro.setText(
            f"<b>{escape(path.label)}</b><br>Bring in: {escape(groups)}.<br>"
            + (
                f"From the registry: {escape(names)}."
                if names
                else "Nobody in the stakeholder registry is in these groups yet (Ctrl+Shift+B)."
            )
        )
        lay.addWidget(intro)
        lines = []
        for rid in path.clocks:
            rule = comms.rules.rule(rid)
            how = "starts from awareness" if rule.starts_on_awareness else f"waits for: {rule.trigger_label}"
            done = " — already on the incident" if rid in have else ""
            lines.append(f"• {escape(rule.label)} ({escape(rule.describe())}) — {escape(how)}{done}")
        clocks = QLabel("<br>".join(lines) or "This path starts no regulatory clocks.", self)
        clocks.setObjectName("escalation-clocks")
        clocks.setWordWrap(True)
        lay.addWidget(clocks)
        aware_default = incident.milestone(Milestone.DETECTED) or incident.milestone(Milestone.DECLARED)
        self.aware = WhenEdit(ctx.sitrep.now, "aware_at", self,
                              placeholder=f"detected/declared: {local_text(aware_default)}")  # fmt: skip
        self.aware.setObjectName("escalation-aware-at")
        self.aware.setAccessibleName("Aware since")
        form = QFormLayout()
        caption = QLabel("&Aware since:", self)
        caption.setBuddy(self.aware)
        row = QVBoxLayout()
        row.setSpacing(2)
        row.addWidget(self.aware)
        row.addWidget(self.aware.preview)
        row.addWidget(self.field_error("aware_at", focus=self.aware))
        form.addRow(caption, row)
        lay.addLayout(form)
        lay.addWidget(
            QuietLabel(
                "When the organisation became aware: the clocks that count from awareness start then. "
                f"Confirm it with the legal liaison. ⚖ Rules: {comms.rules.review_status}.",
                self,
            )
        )
        lay.addStretch(
            1
        )  # a taller window than needed keeps its fields together, the space above the buttons
        if applied and all(rid in have for rid in path.clocks):
            self.ok_button.setEnabled(False)
            self.general_error.show_error("This escalation path is already applied; it has nothing to add.")
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 90)

    def apply(self) -> str:
        comms = self.ctx.sitrep.comms
        clocks = comms.apply_escalation(self.incident.id, author=self.ctx.author, aware_at=self.aware.value())
        self.result_value = clocks
        running = sum(1 for c in clocks if c.state is ClockState.RUNNING)
        return (
            f"Escalation path applied to {self.incident.key}: {running} regulatory clock(s) running "
            f"(rules {comms.rules.review_status})."
        )


class StartClockDialog(ServiceDialog):
    """Record a clock's trigger (the materiality decision, the classification) and start its countdown."""

    ok_text = "Start clock"

    def __init__(self, ctx, incident: IncidentView, clocks: list[RegClockView], chosen: str | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(ctx, f"Start a regulatory clock — {incident.key}", parent)
        self.setObjectName("dialog-start-clock")
        self.incident = incident
        comms = ctx.sitrep.comms
        self.choice = QComboBox(self)
        self.choice.setObjectName("regulatory-clock-choice")
        waiting = [c for c in clocks if c.state is ClockState.AWAITING]
        have = {c.rule_id for c in clocks}
        for c in waiting:
            self.choice.addItem(f"{c.label} (waiting)", c.rule_id)
        others = [r for rid, r in comms.rules.clocks.items() if rid not in have]
        if waiting and others:
            self.choice.insertSeparator(self.choice.count())
        for rule in others:
            self.choice.addItem(f"{rule.label} (not on this incident yet)", rule.id)
        index = self.choice.findData(chosen) if chosen else -1
        self.choice.setCurrentIndex(index if index >= 0 else 0)
        # Two short lines rather than a wrapped paragraph: a dialog is sized before a wrapped label
        # knows its width, and the third line of a wrap was cut off.
        self.rule_text = QuietLabel("", self, wrap=False)
        self.rule_text.setObjectName("start-clock-rule")
        self.at = WhenEdit(ctx.sitrep.now, "at", self)
        self.at.setObjectName("start-clock-at")
        self.at_caption = QLabel("&When:", self)
        self.at_caption.setBuddy(self.at)
        self.due = QLabel(self)
        self.due.setObjectName("start-clock-due")
        self.due.setWordWrap(True)
        self.due.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.note = QLineEdit(self)
        self.note.setObjectName("start-clock-note")
        self.note.setPlaceholderText("Who decided, and where it is minuted (optional)")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        clock_caption = QLabel("&Clock:", self)
        clock_caption.setBuddy(self.choice)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(self.choice)
        column.addWidget(self.rule_text)
        column.addWidget(self.field_error("rule", focus=self.choice))
        form.addRow(clock_caption, column)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(self.at)
        column.addWidget(self.at.preview)
        column.addWidget(self.field_error("at", focus=self.at))
        form.addRow(self.at_caption, column)
        form.addRow(QLabel("Due:", self), self.due)
        note_caption = QLabel("&Note:", self)
        note_caption.setBuddy(self.note)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(self.note)
        column.addWidget(self.field_error("note", focus=self.note))
        form.addRow(note_caption, column)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QuietLabel(f"⚖ Rules: {comms.rules.review_status}; not legal advice.", self))
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        chain_tab_order(self.choice, self.at, self.note)
        self.choice.currentIndexChanged.connect(self._show_rule)
        self.at.textChanged.connect(self._show_due)
        self._show_rule()
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 84)

    def rule_id(self) -> str | None:
        return self.choice.currentData()

    def _show_rule(self, *_args) -> None:
        rid = self.rule_id()
        rule = self.ctx.sitrep.comms.rules.clocks.get(rid) if rid else None
        if rule is None:
            self.rule_text.setText("")
            self.due.setText("")
            return
        where = f" · {rule.jurisdiction}" if rule.jurisdiction else ""
        self.rule_text.setText(f"{rule.regime}{where} · notify {rule.recipient}\n{rule.describe()}")
        self.at_caption.setText("&When:" if rule.starts_on_awareness else "&Trigger at:")
        self.at.setToolTip(f"When: {rule.trigger_label}. " + self.at.toolTip().split(". ", 1)[-1])
        self.at.setPlaceholderText(f"now ({rule.trigger_label}); or 14:05, 2h ago")
        self._show_due()

    def _show_due(self, *_args) -> None:
        rid = self.rule_id()
        if rid is None:
            return
        try:
            at = self.at.value()
            due = self.ctx.sitrep.comms.clock_deadline(self.incident.id, rid, at)
        except SitrepError:
            self.due.setText("—")
            return
        left = due - self.ctx.sitrep.now()
        when = f"{duration_text(left)} from now" if left.total_seconds() >= 0 else "already past"
        self.due.setText(f"<b>{escape(both_times(due))}</b> — {when}")

    def apply(self) -> str:
        rid = self.rule_id()
        view = self.ctx.sitrep.comms.start_clock(self.incident.id, rid or "", author=self.ctx.author,
                                                 at=self.at.value(), note=self.note.text())  # fmt: skip
        self.result_value = view
        return f"{view.label}: running, due {both_times(view.deadline_at)}."


class CloseClockDialog(ServiceDialog):
    """The notice was made (met, with its reference) or counsel judged the regime does not apply."""

    ok_text = "Close clock"

    def __init__(self, ctx, incident: IncidentView, clocks: list[RegClockView], chosen: str | None = None,
                 outcome: str = "met", parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(ctx, f"Close a regulatory clock — {incident.key}", parent)
        self.setObjectName("dialog-close-clock")
        self.incident = incident
        self.clocks = {c.rule_id: c for c in clocks if c.state in (ClockState.RUNNING, ClockState.AWAITING)}
        self.choice = _clock_combo(self, list(self.clocks.values()), chosen)
        self.status = QuietLabel("", self, wrap=False)
        self.status.setObjectName("close-clock-status")
        self.met = QRadioButton("Notice &made (met)", self)
        self.met.setObjectName("close-clock-met")
        self.withdrawn = QRadioButton("Does not &apply (withdrawn, counsel's call)", self)
        self.withdrawn.setObjectName("close-clock-withdrawn")
        self.outcomes = QButtonGroup(self)
        self.outcomes.addButton(self.met)
        self.outcomes.addButton(self.withdrawn)
        (self.withdrawn if outcome == "withdrawn" else self.met).setChecked(True)
        self.at = WhenEdit(ctx.sitrep.now, "at", self)
        self.at.setObjectName("close-clock-at")
        self.at_caption = QLabel(self)
        self.at_caption.setBuddy(self.at)
        self.late = QLabel(self)
        self.late.setObjectName("close-clock-late")
        self.late.setWordWrap(True)
        self.note = QLineEdit(self)
        self.note.setObjectName("close-clock-note")
        self.note_caption = QLabel(self)
        self.note_caption.setBuddy(self.note)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        caption = QLabel("&Clock:", self)
        caption.setBuddy(self.choice)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(self.choice)
        column.addWidget(self.status)
        form.addRow(caption, column)
        outcome_row = QHBoxLayout()
        outcome_row.addWidget(self.met)
        outcome_row.addWidget(self.withdrawn)
        outcome_row.addStretch(1)
        form.addRow(QLabel("Outcome:", self), outcome_row)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(self.at)
        column.addWidget(self.at.preview)
        column.addWidget(self.late)
        column.addWidget(self.field_error("at", focus=self.at))
        form.addRow(self.at_caption, column)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(self.note)
        column.addWidget(self.field_error("note", focus=self.note))
        form.addRow(self.note_caption, column)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        chain_tab_order(self.choice, self.met, self.withdrawn, self.at, self.note)
        self.choice.currentIndexChanged.connect(self._update)
        self.met.toggled.connect(self._update)
        self.at.textChanged.connect(self._update)
        self._tick = QTimer(self)  # the chosen clock's time left keeps counting while the form is open
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._update)
        self._tick.start()
        self._update()
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 84)

    def outcome(self) -> str:
        return "withdrawn" if self.withdrawn.isChecked() else "met"

    def _update(self, *_args) -> None:
        c = self.clocks.get(self.choice.currentData())
        now = self.ctx.sitrep.now()
        self.status.setText(
            f"{clock_reading(c, now)[0]} · due {both_times(c.deadline_at) or 'once triggered'}" if c else ""
        )
        met = self.outcome() == "met"
        self.at_caption.setText("Notice made &at:" if met else "Decided &at:")
        self.at.setPlaceholderText("now, or 14:05, or 20m ago")
        self.note_caption.setText("&Reference:" if met else "&Reason:")
        self.note.setPlaceholderText(
            "Submission or case number, portal receipt, who received it"
            if met
            else "Why this regime does not apply (required; counsel's reasoning)"
        )
        self.late.setText("")
        if met and c is not None and c.deadline_at is not None:
            try:
                at = self.at.value() or now
            except SitrepError:
                return
            if at > c.deadline_at:
                style = f"color: {warning_color(self).name()};"
                if self.late.styleSheet() != style:  # once a second: re-polishing only when it changes
                    self.late.setStyleSheet(style)
                self.late.setText(
                    f"⚠ {duration_text(at - c.deadline_at)} after the deadline: the record will say LATE."
                )

    def apply(self) -> str:
        rid = self.choice.currentData()
        if rid is None:
            raise SitrepError("There is no open regulatory clock to close.")
        view = self.ctx.sitrep.comms.close_clock(self.incident.id, rid, author=self.ctx.author, outcome=self.outcome(),
                                                 at=self.at.value(), note=self.note.text())  # fmt: skip
        self.result_value = view
        return f"{view.label}: {'notice made' if view.state is ClockState.MET else 'withdrawn'}."


# -- the panel -----------------------------------------------------------------------------------------
class RegulatoryPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.comms = ctx.sitrep.comms
        self.incident: IncidentView | None = None
        self.dialog: ServiceDialog | None = None
        self.model = RegulatoryClocksModel(ctx.sitrep.now, self.jurisdiction, self)
        self.indicator = RegulatoryIndicator(self.bring_forward, self)
        self._missed_seen: set[tuple[str, object]] = set()
        self._build()
        if ctx.shell is not None:
            ctx.shell.add_status_widget(self.indicator)  # the status bar takes it over
        else:  # standalone (tests): at the end of the panel's buttons
            self.button_row.addWidget(self.indicator)
        self._register_commands()
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.tick)
        self._soon = QTimer(self)  # a burst of change notices becomes one re-read
        self._soon.setSingleShot(True)
        self._soon.setInterval(100)
        self._soon.timeout.connect(self.reload)
        ctx.notifier.changed.connect(self._on_change)
        self.set_incident(ctx.selection.current)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.review = QLabel(self)
        self.review.setObjectName("regulatory-review")
        self.review.setWordWrap(True)
        rules = self._rules()
        if rules is not None:
            self.review.setText(
                f"⚖ Rules: {escape(rules.review_status)}. Deadlines and triggers are a starting point "
                "drawn from public summaries, not legal advice."
            )
        lay.addWidget(self.review)
        top = QHBoxLayout()
        self.path_label = QLabel(self)
        self.path_label.setObjectName("regulatory-path")
        self.path_label.setWordWrap(True)
        self.escalate_button = QPushButton("Apply &escalation path…", self)
        self.escalate_button.setObjectName("regulatory-escalate")
        self.escalate_button.clicked.connect(lambda: self.apply_escalation())
        top.addWidget(self.path_label, 1)
        top.addWidget(self.escalate_button)
        lay.addLayout(top)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        self.view = record_table(split, self.model, "regulatory-view", "Regulatory clocks")
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        fm = self.fontMetrics()
        for col, sample in (
            (COL_LABEL, "GDPR: notify the supervisory authority"), (COL_JURISDICTION, "EU (financial entities)"),
            (COL_LEFT, "OVERDUE 2d 23:59:59"), (COL_DUE_LOCAL, "Wed 18 Mar 17:30 CEST"),
            (COL_DUE_UTC, "Wed 18 Mar 17:30 UTC"), (COL_FROM, "Wed 18 Mar 17:30 CEST"),
        ):  # fmt: skip
            self.view.setColumnWidth(col, fm.horizontalAdvance(sample) + fm.averageCharWidth() * 3)
        self.view.setItemDelegateForColumn(COL_LEFT, CountdownDelegate(self.view))
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        self.view.activated.connect(lambda _i: self._act_on_selected())
        self.detail = QTextBrowser(split)
        self.detail.setObjectName("regulatory-detail")
        self.detail.setOpenLinks(False)
        split.addWidget(self.view)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        lay.addWidget(split, 1)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("&Start clock…", self)
        self.start_button.setObjectName("regulatory-start")
        self.start_button.setToolTip(
            "Record a clock's trigger (materiality decision, classification) and start it"
        )
        self.start_button.clicked.connect(lambda: self.start_clock())
        self.met_button = QPushButton("Notice &made…", self)
        self.met_button.setObjectName("regulatory-met")
        self.met_button.setToolTip("Close the clock as met, with the notice's reference")
        self.met_button.clicked.connect(lambda: self.close_clock("met"))
        self.withdraw_button = QPushButton("&Withdraw…", self)
        self.withdraw_button.setObjectName("regulatory-withdraw")
        self.withdraw_button.setToolTip("Counsel judged the regime does not apply (a reason is required)")
        self.withdraw_button.clicked.connect(lambda: self.close_clock("withdrawn"))
        self.empty = QuietLabel("", self, wrap=True)
        self.empty.setObjectName("regulatory-empty")
        for b in (self.start_button, self.met_button, self.withdraw_button):
            buttons.addWidget(b)
        buttons.addWidget(self.empty, 1)
        self.button_row = buttons
        lay.addLayout(buttons)
        chain_tab_order(
            self.escalate_button, self.view, self.start_button, self.met_button, self.withdraw_button
        )

    def _register_commands(self) -> None:
        def action(text: str, name: str, slot, tip: str) -> QAction:
            act = QAction(text, self)
            act.setObjectName(name)
            act.setToolTip(tip)
            act.triggered.connect(lambda _checked=False: slot())
            return act

        self.escalate_action = action("Apply escalation path…", "act-escalate", self.apply_escalation,
                                      "Bring in the incident type's groups and start its regulatory clocks")  # fmt: skip
        self.start_action = action("Start a regulatory clock…", "act-start-regulatory-clock", self.start_clock,
                                   "Record a trigger (materiality decision, classification) and start the clock")  # fmt: skip
        self.met_action = action("Regulatory notice made (close clock)…", "act-regulatory-met",
                                 lambda: self.close_clock("met"), "Close a regulatory clock as met, with its reference")  # fmt: skip
        self.withdraw_action = action("Withdraw a regulatory clock…", "act-regulatory-withdraw",
                                      lambda: self.close_clock("withdrawn"), "Counsel judged the regime does not apply")  # fmt: skip
        self.incident_actions = [
            self.escalate_action,
            self.start_action,
            self.met_action,
            self.withdraw_action,
        ]
        for act in self.incident_actions:
            if not self.ctx.add_command(act, "Incident"):
                self.addAction(act)

    def focus_target(self) -> QWidget:
        return self.view

    def bring_forward(self) -> None:
        if self.ctx.shell is None or not self.ctx.shell.show_panel("regulatory"):
            self.show()
            self.view.setFocus()

    # -- following the incident -----------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        for act in self.incident_actions:
            act.setEnabled(incident is not None)
        self.reload()
        if incident is None:
            self._tick.stop()
        elif not self._tick.isActive():
            self._tick.start()

    def _on_change(self, change: Change) -> None:
        if self.incident is None or change.incident_id not in (None, self.incident.id):
            return
        if change.topic in {Topic.COMMS, Topic.EXTERNAL, Topic.INCIDENT, Topic.STAKEHOLDERS}:
            self._soon.start()

    def _rules(self):
        """The regulatory rules, or None with the reason shown in the panel (a mistake in the user's
        regulatory.toml or escalation.toml must not take the console down)."""
        try:
            return self.comms.rules
        except SitrepError as err:
            self.review.setTextFormat(Qt.TextFormat.PlainText)
            self.review.setText(f"⚠ The regulatory rules cannot be read: {err.message}")
            self.review.setStyleSheet("color: #d13438;")
            return None

    def jurisdiction(self, clock: RegClockView) -> str:
        text = clock.rule.get("jurisdiction")
        rules = self._rules() if not text else None
        if rules is not None:  # clocks started before the rules said where they apply
            rule = rules.clocks.get(clock.rule_id)
            text = rule.jurisdiction if rule is not None else ""
        return text or "—"

    def reload(self) -> None:
        selected = self.selected()
        clocks: list[RegClockView] = []
        path = None
        people: list = []
        applied = False
        if self.incident is not None:
            try:
                clocks = self.comms.regulatory_clocks(self.incident.id)
                path, people, applied = self.comms.escalation(self.incident.id)
            except SitrepError as err:
                self.ctx.status_message(f"The regulatory clocks cannot be read: {err.message}", error=True)
                return
        self.model.set_clocks(clocks)
        if selected is not None and (row := self.model.row_of(selected.rule_id)) is not None:
            self.view.setCurrentIndex(self.model.index(row, 0))
        elif clocks:
            self.view.setCurrentIndex(self.model.index(0, 0))
        self._show_path(path, people, applied, clocks)
        self._selection_changed()
        self.tick()

    def _show_path(self, path, people, applied: bool, clocks: list[RegClockView]) -> None:
        inc = self.incident
        have = {c.rule_id for c in clocks}
        missing = [] if path is None else [r for r in path.clocks if r not in have]
        self.escalate_button.setVisible(path is not None and (not applied or bool(missing)))
        self.escalate_action.setEnabled(
            inc is not None and path is not None and (not applied or bool(missing))
        )
        if inc is None:
            self.path_label.setText("No incident is open.")
        elif path is None:
            self.path_label.setText(
                f"No escalation path for incident type '{escape(inc.incident_type)}'. "
                "A clock can still be started by hand (Start clock…)."
            )
        else:
            groups = ", ".join(group_label(g) for g in path.groups) or "nobody extra"
            who = f"{len(people)} in the registry" if people else "nobody in the registry yet"
            if not path.clocks:  # the service counts a path without clocks as applied: say what it is
                state, tail = "", " It starts no regulatory clocks."
            else:
                state, tail = (" (applied)" if applied else " (<b>not applied yet</b>)"), ""
            self.path_label.setText(
                f"Escalation path <b>{escape(path.label)}</b>{state}: bring in {escape(groups)} ({who}).{tail}"
            )
        if inc is not None and not clocks:
            self.empty.setText("No regulatory clocks on this incident.")
        else:
            self.empty.setText("")

    def selected(self) -> RegClockView | None:
        idx = self.view.currentIndex()
        return self.model.clock(idx.row()) if idx.isValid() else None

    def select(self, rule_id: str) -> None:
        row = self.model.row_of(rule_id)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row, 0))

    def _selection_changed(self) -> None:
        c = self.selected()
        has = self.incident is not None
        open_clocks = any(x.state in (ClockState.RUNNING, ClockState.AWAITING) for x in self.model.rows)
        have = {x.rule_id for x in self.model.rows}
        rules = self._rules()
        startable = rules is not None and (
            any(x.state is ClockState.AWAITING for x in self.model.rows)
            or any(rid not in have for rid in rules.clocks)
        )
        self.start_button.setEnabled(has and startable)
        self.start_action.setEnabled(has and startable)
        self.met_button.setEnabled(has and open_clocks)
        self.withdraw_button.setEnabled(has and open_clocks)
        self.met_action.setEnabled(has and open_clocks)
        self.withdraw_action.setEnabled(has and open_clocks)
        self._show_detail(c)

    def _show_detail(self, c: RegClockView | None) -> None:
        if c is None:
            self.detail.setHtml(
                "<p>Choose a clock to see its rule, trigger and outcome.</p>" if self.model.rows else ""
            )
            return
        r = c.rule
        rule = self.comms.rules.clocks.get(c.rule_id)
        describe = rule.describe() if rule is not None else ""
        rows = [
            f"<b>{escape(c.label)}</b>",
            f"{escape(r.get('regime', ''))} · {escape(self.jurisdiction(c))}",
            f"Notify: {escape(r.get('recipient', '?'))}",
            f"Deadline: {escape(describe)}",
        ]
        if c.trigger_at is not None:
            rows.append(
                f"Counts from {escape(both_times(c.trigger_at))}: {escape(r.get('trigger_label', ''))}"
            )
        if c.deadline_at is not None:
            rows.append(f"Due <b>{escape(both_times(c.deadline_at))}</b>")
        rows.append(f"Put on the incident by {escape(c.started_by)}")
        if c.state is ClockState.MET:
            rows.append(f"Notice made {escape(both_times(c.met_at))} by {escape(c.closed_by or '?')}")
        elif c.state is ClockState.WITHDRAWN:
            rows.append(f"Withdrawn by {escape(c.closed_by or '?')}")
        if c.note:
            label = (
                "Reason"
                if c.state is ClockState.WITHDRAWN
                else ("Reference" if c.state is ClockState.MET else "Note")
            )
            rows.append(f"{label}: {escape(c.note)}")
        if r.get("notes"):
            rows.append(f"<i>{escape(r['notes'])}</i>")
        rows.append(f"⚖ Rule {escape(r.get('review', REVIEW_NOTE))}.")
        self.detail.setHtml("<br>".join(rows))

    def tick(self) -> None:
        """Once a second: the countdowns, and the status bar's most urgent clock."""
        self.model.tick()
        now = self.ctx.sitrep.now()
        running = [c for c in self.model.rows if c.state is ClockState.RUNNING and c.deadline_at is not None]
        urgent = min(running, key=lambda c: c.deadline_at, default=None)
        self.indicator.show_clock(urgent, now, len(running))
        self._record_missed(running, now)
        colour = warning_color(self).name()
        style = f"color: {colour};"
        if self.review.styleSheet() != style:
            self.review.setStyleSheet(style)

    def _record_missed(self, running: list[RegClockView], now) -> None:
        """A deadline that passes while the console is open goes on the timeline once (the service
        skips what another console or the CLI already recorded)."""
        due = {(c.rule_id, c.deadline_at) for c in running if c.deadline_at < now} - self._missed_seen
        if not due or self.incident is None or self.ctx.sitrep.read_only:
            return
        self._missed_seen |= due
        try:
            missed = self.comms.record_overdue_clocks(self.incident.id)
        except SitrepError as err:
            self._missed_seen -= due  # try again at the next tick that finds it
            self.ctx.status_message(
                f"A missed regulatory deadline could not be recorded: {err.message}", error=True
            )
            return
        if missed:
            names = ", ".join(c.label for c in missed)
            self.ctx.status_message(f"{self.incident.key}: regulatory deadline passed: {names}.", error=True)

    # -- actions -----------------------------------------------------------------------------------
    def _need_incident(self) -> IncidentView | None:
        if self.incident is None:
            self.ctx.status_message("Open an incident first (Ctrl+I).", error=True)
        return self.incident

    def _open(self, make: Callable[[], ServiceDialog]) -> ServiceDialog | None:
        """Window-modal and non-blocking: the countdowns keep running behind an open dialog."""
        try:
            dialog = make()  # reads the incident's path and clocks: the store may refuse
        except SitrepError as err:
            self.ctx.status_message(err.message, error=True)
            return None
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._after_dialog)
        dialog.open()
        return dialog

    def _after_dialog(self) -> None:
        view = getattr(self.dialog, "result_value", None)
        self.reload()
        if isinstance(view, RegClockView):
            self.select(view.rule_id)

    def _parent_window(self) -> QWidget:
        return self.ctx.dialog_parent(self)

    def _act_on_selected(self) -> None:
        c = self.selected()
        if c is None:
            return
        if c.state is ClockState.AWAITING:
            self.start_clock()
        elif c.state is ClockState.RUNNING:
            self.close_clock("met")

    def apply_escalation(self) -> EscalationDialog | None:
        inc = self._need_incident()
        if inc is None:
            return None
        try:
            path = self.comms.rules.path_for(inc.incident_type)
        except SitrepError as err:
            self.ctx.status_message(err.message, error=True)
            return None
        if path is None:
            self.ctx.status_message(
                f"There is no escalation path for incident type '{inc.incident_type}'. "
                f"Known types: {', '.join(self.comms.rules.paths)}.",
                error=True,
            )
            return None
        return self._open(lambda: EscalationDialog(self.ctx, inc, self._parent_window()))

    def start_clock(self) -> StartClockDialog | None:
        inc = self._need_incident()
        if inc is None:
            return None
        c = self.selected()
        chosen = c.rule_id if c is not None and c.state is ClockState.AWAITING else None
        return self._open(
            lambda: StartClockDialog(self.ctx, inc, self.model.rows, chosen, self._parent_window())
        )

    def close_clock(self, outcome: str = "met") -> CloseClockDialog | None:
        inc = self._need_incident()
        if inc is None:
            return None
        if not any(c.state in (ClockState.RUNNING, ClockState.AWAITING) for c in self.model.rows):
            self.ctx.status_message(f"{inc.key} has no open regulatory clock.", error=True)
            return None
        c = self.selected()
        chosen = c.rule_id if c is not None else None
        return self._open(
            lambda: CloseClockDialog(self.ctx, inc, self.model.rows, chosen, outcome, self._parent_window())
        )

    def shutdown(self) -> None:
        self._tick.stop()
        self._soon.stop()


PANEL = PanelSpec(
    id="regulatory",
    title="Regulatory clocks",
    factory=RegulatoryPanel,
    area=Qt.DockWidgetArea.BottomDockWidgetArea,
    shortcut="Ctrl+Shift+G",
    # Hidden until wanted (the status bar shows the most urgent running clock meanwhile).
    visible_by_default=False,
)
