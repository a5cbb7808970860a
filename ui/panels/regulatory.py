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
from html import escape

from PySide6.QtCore import (
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from models.enums import ClockState
from services.changes import Change, Topic
from services.comms.regulatory import REVIEW_NOTE
from services.comms.views import RegClockView
from services.errors import SitrepError
from services.record.views import IncidentView
from ui.dialogs.regulatory import CloseClockDialog, EscalationDialog, StartClockDialog
from ui.dialogs.stakeholders import group_label
from ui.fields import chain_tab_order, record_table
from ui.forms import QuietLabel, ServiceDialog
from ui.indicators import RegulatoryIndicator
from ui.item_models.regulatory import (
    COL_DUE_LOCAL,
    COL_DUE_UTC,
    COL_FROM,
    COL_JURISDICTION,
    COL_LABEL,
    COL_LEFT,
    TICK_MS,
    CountdownDelegate,
    RegulatoryClocksModel,
    both_times,
)
from ui.operations import read_or_say
from ui.panels import PanelSpec
from ui.theme import warning_color


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

    def _clocks_and_path(self, incident_id: str):
        return self.comms.regulatory_clocks(incident_id), self.comms.escalation(incident_id)

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
            ok, facts = read_or_say(self.ctx, self._clocks_and_path, self.incident.id,
                                    what="The regulatory clocks cannot be read")  # fmt: skip
            if not ok:
                return
            clocks, (path, people, applied) = facts
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
        ok, dialog = read_or_say(self.ctx, make)  # reads the incident's path and clocks: the store may refuse
        if not ok:
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
        ok, path = read_or_say(self.ctx, lambda: self.comms.rules.path_for(inc.incident_type))
        if not ok:
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
