"""Rotation panel (Ctrl+Alt+O): follow the sun on the open incident (each responder's local time and working day
on one time line, the next sensible handover of command and to whom), the rotation report across incidents
for a period, and rotation goals with a casting for the next exercise. Its status-bar chip reminds, without
a modal, that a holder's working day is about to end (or has)."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change, Topic
from services.exercises.scenario import load_scenarios
from services.exercises.workspace import build_vocabulary
from services.record.views import IncidentView
from services.rotation.goals import cast_exercise, goal_gaps
from ui.dialogs.roles import HandoverDialog
from ui.fatigue_notice import place
from ui.fields import ErrorLabel, record_table
from ui.item_models.rotation import CastingModel, RotationReportModel
from ui.operations import read_or_say
from ui.panels import PanelSpec
from ui.severity import badge_style
from ui.sun_strip import SunRow, SunStrip
from ui.timefmt import duration_text, viewer_time, viewer_zone

PERIODS = (("Last 30 days", 30), ("Last quarter", 91), ("Last two quarters", 182), ("Last year", 365))
TICK_MS = 60_000
CHIP_SOON = ("#fff4ce", "#3b2f00")
CHIP_OFF = ("#dde3f0", "#1d2a44")


class DayEndChip(QToolButton):
    """The status bar's reminder that a holder's working day ends soon (or is over); a click opens the plan."""

    def __init__(self, open_panel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("day-end-chip")
        self.setAutoRaise(True)
        self.setAccessibleName("Holders whose working day is ending")
        self.clicked.connect(open_panel)
        self.hide()

    def show_rows(self, rows, names: dict[str, str], now) -> None:
        soon = [r for r in rows if r[4]]
        over = [r for r in rows if not r[4]]
        if soon:
            person, role, key, ends, _ = soon[0]
            self.setText(f"☀ {person.name}'s day ends in {duration_text(ends - now)}: plan the "
                         f"{names.get(role, role)} handover ({key})")  # fmt: skip
            self.setStyleSheet(badge_style(CHIP_SOON))
        elif over:
            self.setText(f"☾ {len(over)} role holder{'s' if len(over) != 1 else ''} outside their working day")
            self.setStyleSheet(badge_style(CHIP_OFF, bold=False))
        else:
            self.hide()
            return
        self.setToolTip("\n".join(
            f"{p.name} ({place(p.timezone)}): {names.get(role, role)} on {key}; "
            + (f"day ends {viewer_time(ends, now)}" if working else "outside their working day")
            for p, role, key, ends, working in rows) + "\nClick for the follow-the-sun plan.")  # fmt: skip
        self.show()


class RotationPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident: IncidentView | None = None
        self.dialog: HandoverDialog | None = None
        self.plan = None
        self.chip = DayEndChip(self._bring_forward, self)
        self._build()
        if ctx.shell is not None:
            ctx.shell.add_status_widget(self.chip)
        else:
            self.sun_buttons.addWidget(self.chip)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.refresh)
        ctx.notifier.changed.connect(self._on_change)
        # The exercises area's natural door to the casting: the Exercise menu (and the palette).
        cast = QAction("Suggested casting for the next exercise (rotation goals)…", self)
        cast.setObjectName("rotation-casting")
        cast.triggered.connect(self.show_goals)
        ctx.add_command(cast, "Exercise")
        self.refresh_report()
        self.refresh_goals()
        self.refresh()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("rotation-tabs")
        lay.addWidget(self.tabs)
        self.error = ErrorLabel(self, name="rotation-error")
        lay.addWidget(self.error)

        sun = QWidget(self)
        sl = QVBoxLayout(sun)
        self.sun_title = QLabel(sun)
        self.sun_title.setObjectName("sun-title")
        self.sun_title.setWordWrap(True)
        self.strip = SunStrip(sun)
        legend = QLabel("<span style='background:#7cc47f'>&nbsp;&nbsp;&nbsp;&nbsp;</span> working hours &nbsp; "
                        "<span style='background:#d9dde3'>&nbsp;&nbsp;&nbsp;&nbsp;</span> off &nbsp; "
                        "<span style='background:#49536b'>&nbsp;&nbsp;&nbsp;&nbsp;</span> night (22-06) &nbsp; "
                        "<span style='color:#d13438'>│</span> now &nbsp; <span style='color:#b36b00'>┆</span> "
                        "proposed handover. Numbers in the bars are each person's own clock.", sun)  # fmt: skip
        legend.setWordWrap(True)
        self.plan_text = QLabel(sun)
        self.plan_text.setObjectName("sun-plan")
        self.plan_text.setWordWrap(True)
        self.plan_text.setTextFormat(Qt.TextFormat.RichText)
        self.plan_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sun_buttons = QHBoxLayout()
        self.hand_over_button = QPushButton("&Hand over command…", sun)
        self.hand_over_button.setObjectName("sun-hand-over")
        self.hand_over_button.clicked.connect(self.open_handover)
        self.sun_buttons.addWidget(self.hand_over_button)
        self.sun_buttons.addStretch(1)
        # What to do first (the handover and its button), then the picture: in a short dock the action
        # stays in view and the time line scrolls.
        sl.addWidget(self.sun_title)
        sl.addWidget(self.plan_text)
        sl.addLayout(self.sun_buttons)
        sl.addWidget(self.strip)
        sl.addWidget(legend)
        sl.addStretch(1)
        self.tabs.addTab(sun, "Follow the sun")

        report = QWidget(self)
        rl = QVBoxLayout(report)
        top = QHBoxLayout()
        self.period = QComboBox(report)
        self.period.setObjectName("rotation-period")
        for label, days in PERIODS:
            self.period.addItem(label, days)
        self.period.setCurrentIndex(2)  # two quarters: the window the rotation goals look at
        self.period.currentIndexChanged.connect(lambda *_: self.refresh_report())
        period_label = QLabel("&Period:", report)
        period_label.setBuddy(self.period)
        top.addWidget(period_label)
        top.addWidget(self.period)
        self.report_summary = QLabel(report)
        self.report_summary.setObjectName("rotation-summary")
        top.addWidget(self.report_summary, 1)
        rl.addLayout(top)
        self.report_model = RotationReportModel(self)
        self.report_view = record_table(report, self.report_model, "rotation-report", "Rotation report")
        hh = self.report_view.horizontalHeader()
        hh.setStretchLastSection(True)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        rl.addWidget(self.report_view, 1)
        self.key_people = QLabel(report)
        self.key_people.setObjectName("rotation-key-people")
        self.key_people.setWordWrap(True)
        self.key_people.setTextFormat(Qt.TextFormat.RichText)
        rl.addWidget(self.key_people)
        self.tabs.addTab(report, "Report")

        goals = QWidget(self)
        gl = QVBoxLayout(goals)
        self.goals_text = QLabel(goals)
        self.goals_text.setObjectName("rotation-goals")
        self.goals_text.setWordWrap(True)
        self.goals_text.setTextFormat(Qt.TextFormat.RichText)
        gl.addWidget(self.goals_text)
        row = QHBoxLayout()
        self.scenario = QComboBox(goals)
        self.scenario.setObjectName("rotation-scenario")
        self.scenario.currentIndexChanged.connect(lambda *_: self.refresh_casting())
        scenario_label = QLabel("Next &exercise:", goals)
        scenario_label.setBuddy(self.scenario)
        row.addWidget(scenario_label)
        row.addWidget(self.scenario, 1)
        gl.addLayout(row)
        self.casting_model = CastingModel(self)
        self.casting_view = record_table(goals, self.casting_model, "rotation-casting", "Suggested exercise casting")
        self.casting_view.horizontalHeader().setStretchLastSection(True)
        self.casting_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        gl.addWidget(self.casting_view, 1)
        self.tabs.addTab(goals, "Goals")

    def focus_target(self) -> QWidget:
        return self.tabs

    def show_goals(self) -> None:
        self.refresh_goals()
        if self.ctx.shell is not None:
            self.ctx.shell.show_panel("rotation")
        self.tabs.setCurrentIndex(2)

    def _bring_forward(self) -> None:
        self.tabs.setCurrentIndex(0)
        if self.ctx.shell is not None:
            self.ctx.shell.show_panel("rotation")

    # -- following the incident -----------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if change.topic in {Topic.ROLES, Topic.PEOPLE, Topic.EXTERNAL, Topic.INCIDENT}:
            self._pending.start()

    def refresh(self) -> None:
        rotation = self.ctx.sitrep.rotation
        names = rotation.role_names()
        now = self.ctx.sitrep.now()
        ok, rows = read_or_say(self.ctx, rotation.day_ending, say=self.error.show_error)
        if ok:
            self.chip.show_rows(rows, names, now)
        if self.incident is None:
            self.sun_title.setText("Open an incident to see its responders' days.")
            self.strip.set_plan([], now, now + timedelta(hours=24), now, None, viewer_zone())
            self.plan_text.setText("")
            self.hand_over_button.setEnabled(False)
            return
        ok, plan = read_or_say(self.ctx, rotation.handover_plan, self.incident.id, say=self.error.show_error)
        if not ok:
            return
        self.error.show_error(None)
        self.plan = plan
        start, end = now - timedelta(hours=2), now + timedelta(hours=22)
        rows = []
        for d in plan.days:
            held = plan.holders.get(d.person.handle, ())
            roles = ", ".join(names.get(r, r) for r in held) if held else "could take over"
            tip = (f"{d.person.name} (@{d.person.handle}), {d.person.timezone}: {d.local:%a %H:%M} now.\n"
                   f"Works {rotation.hours_of(d.person).text}; trained for "
                   f"{', '.join(names.get(r, r) for r in d.person.trained_roles) or 'no role recorded'}.")  # fmt: skip
            rows.append(SunRow(d.person.name, roles, d.local.tzinfo,
                               tuple(rotation.day_spans(d.person, start, end)), tip))  # fmt: skip
        self.strip.set_plan(rows, start, end, now, plan.handover_at, viewer_zone())
        self.sun_title.setText(f"<b>{self.incident.key}</b> · {escape(self.incident.title)}: who is in their day")
        self.plan_text.setText(self._plan_html(plan, names, now))
        self.hand_over_button.setEnabled(self.incident.status.is_open and "IC" in {r for v in plan.holders.values()
                                                                                  for r in v})  # fmt: skip
        to = plan.handover_to
        self.hand_over_button.setText(f"&Hand over command to {to.person.name}…" if to else "&Hand over command…")

    @staticmethod
    def _plan_html(plan, names: dict[str, str], now) -> str:
        lines = []
        if plan.handover_at is not None:
            when = "now" if plan.handover_at <= plan.at else f"at {viewer_time(plan.handover_at, now)} your time " \
                                                          f"(in {duration_text(plan.handover_at - now)})"  # fmt: skip
            to = plan.handover_to
            who = (f" to <b>{escape(to.person.name)}</b> ({escape(place(to.person.timezone))}, "
                   f"{escape(to.why(names, plan.handover_at))})" if to else
                   ": nobody trained for command is in their working day then")  # fmt: skip
            lines.append(f"Next handover of command {when}{who}.")
        else:
            lines.append("Nobody holds command on this incident.")
        for person, role, ends, working in plan.reminders:
            if not working:
                lines.append(f"☾ {escape(person.name)} ({escape(names.get(role, role))}) is outside their working day.")
            else:
                lines.append(f"☀ {escape(person.name)}'s day ends at {viewer_time(ends, now)} your time: plan the "
                             f"{escape(names.get(role, role))} handover.")  # fmt: skip
        lines.append("The handover itself takes the brief (status, hypotheses, last update, next actions).")
        return "<br>".join(lines)

    def open_handover(self) -> HandoverDialog | None:
        if self.incident is None or not self.incident.status.is_open:
            return None
        dialog = HandoverDialog(self.ctx, self.incident, "IC", self)
        if self.plan is not None and self.plan.handover_to is not None:
            dialog.responder.choose(self.plan.handover_to.person.handle)
        dialog.accepted.connect(self.refresh)
        self.dialog = dialog
        dialog.open()
        return dialog

    # -- report and goals ------------------------------------------------------------------------
    def refresh_report(self) -> None:
        rotation = self.ctx.sitrep.rotation
        now = self.ctx.sitrep.now()
        days = self.period.currentData()
        ok, rep = read_or_say(self.ctx, rotation.report, now - timedelta(days=days), now, say=self.error.show_error)
        if not ok:
            return
        self.report_model.role_names = rep.role_names
        self.report_model.set_rows(list(rep.people))
        self.report_summary.setText(f"{rep.incidents} incident(s) with roles held; {len(rep.people)} people")
        if rep.key_people:
            self.key_people.setText("<b>Key-person dependencies:</b> " + "; ".join(
                f"{escape(rep.role_names.get(k.role, k.role))}: {escape(k.person.name)} in {k.incidents} of {k.of} "
                f"incidents ({k.share:.0%})" for k in rep.key_people))  # fmt: skip
        else:
            self.key_people.setText("No key-person dependency: no role is held by one person in most incidents.")

    def refresh_goals(self) -> None:
        rotation = self.ctx.sitrep.rotation
        ok, gaps = read_or_say(self.ctx, goal_gaps, rotation, self.ctx.sitrep.now(), say=self.error.show_error)
        if not ok:
            return
        names = rotation.role_names()
        lines = []
        for role in rotation.rules.goal_roles:
            mine = [g for g in gaps if g.role == role]
            who = ", ".join(escape(g.person.name) + ("" if g.trained else " <i>(untrained)</i>") for g in mine)
            lines.append(f"<b>Not {escape(names.get(role, role))} in the last {rotation.rules.goal_days} days:</b> "
                         f"{who or 'nobody: everyone has held it'}")  # fmt: skip
        self.goals_text.setText("<br>".join(lines))
        self.scenario.blockSignals(True)
        self.scenario.clear()
        self.scenario.addItem("The goal roles (" + ", ".join(names.get(r, r) for r in rotation.rules.goal_roles) + ")",
                              list(rotation.rules.goal_roles))  # fmt: skip
        try:
            shelf = load_scenarios(self.ctx.paths.config, build_vocabulary(self.ctx.sitrep.catalog,
                                                                           self.ctx.sitrep.comms))  # fmt: skip
            for sc in shelf.scenarios.values():
                if sc.player_roles:
                    self.scenario.addItem(sc.title, list(sc.player_roles))
        except Exception as exc:  # noqa: BLE001 - a broken scenario folder must not take the panel down
            self.error.show_error(f"Scenarios could not be read: {exc}")
        self.scenario.blockSignals(False)
        self.refresh_casting()

    def refresh_casting(self) -> None:
        roles = self.scenario.currentData() or []
        rotation = self.ctx.sitrep.rotation
        ok, cast = read_or_say(self.ctx, cast_exercise, rotation, roles, self.ctx.sitrep.now(),
                               say=self.error.show_error)  # fmt: skip
        if ok:
            self.casting_model.role_names = rotation.role_names()
            self.casting_model.set_rows(cast)



PANEL = PanelSpec(
    id="rotation",
    title="Rotation",
    factory=RotationPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Ctrl+Alt+O",
    visible_by_default=False,
)
