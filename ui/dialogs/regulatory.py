"""The regulatory clock dialogs: apply the escalation path (with when the organisation became aware),
start a clock that waits for its trigger, close one as met or withdrawn."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import (
    QTimer,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from models.enums import ClockState, Milestone
from services.comms.views import RegClockView
from services.errors import SitrepError
from services.record.views import IncidentView
from ui.dialogs.stakeholders import group_label
from ui.fields import chain_tab_order
from ui.forms import QuietLabel, ServiceDialog, WhenEdit
from ui.item_models.regulatory import (
    TICK_MS,
    both_times,
    clock_reading,
    local_text,
)
from ui.theme import warning_color
from ui.timefmt import duration_text


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
