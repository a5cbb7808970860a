"""The role board's fatigue notice: a holder past their role's limit (counted over their whole stretch on
duty, every incident), and who could take over now: trained for the role, in their working day, not busy
on another open incident, on call first where PagerDuty's answer names them. Not a modal: a band above
the board, with a button that opens the ordinary Hand over dialog for the first suggestion."""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from services.errors import SitrepError
from services.record.views import IncidentView
from services.rotation.service import Candidate, Fatigue
from services.sync.oncall import OnCallReport, on_call_inputs
from ui.operations import read_or_say
from ui.sync_support import sync_bridge
from ui.timefmt import duration_text

ON_CALL_MAX_AGE_S = 600  # PagerDuty is asked again for this incident at most every ten minutes
_STYLE = ("QFrame#fatigue-notice { background-color: #fff4ce; border: 1px solid #c19c00; border-radius: 4px; }"
          "QFrame#fatigue-notice QLabel { color: #3b2f00; background: transparent; }")  # fmt: skip


def place(tz: str) -> str:
    """'Australia/Sydney' -> 'Sydney'; 'America/Argentina/Buenos_Aires' -> 'Buenos Aires'."""
    return tz.rsplit("/", 1)[-1].replace("_", " ")



class FatigueNotice(QFrame):
    def __init__(self, ctx, hand_over: Callable[[str, str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("fatigue-notice")
        self.setStyleSheet(_STYLE)
        self.setAccessibleName("Fatigue warning")
        self._hand_over = hand_over
        self.incident: IncidentView | None = None
        self.warnings: list[Fatigue] = []
        self.suggestions: dict[str, list[Candidate]] = {}
        self.on_call: OnCallReport | None = None
        self._on_call_for: tuple[str, float] | None = None  # (incident id, monotonic time asked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        self.text = QLabel(self)
        self.text.setObjectName("fatigue-text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setMinimumHeight(1)  # not the wrapped height: see minimumSizeHint
        lay.addWidget(self.text)
        row = QHBoxLayout()
        self.take_over = QPushButton(self)
        self.take_over.setObjectName("fatigue-hand-over")
        self.take_over.clicked.connect(self._take_over)
        self.plan = QPushButton("Follow the &sun…", self)
        self.plan.setObjectName("fatigue-plan")
        self.plan.setToolTip("Each responder's working day on one time line, and the next handover point")
        self.plan.clicked.connect(self._show_plan)
        row.addWidget(self.take_over)
        row.addWidget(self.plan)
        row.addStretch(1)
        lay.addLayout(row)
        self.hide()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """The buttons: in a window too short for the whole notice, the board keeps its table and the window
        does not grow past the screen; the buttons still name the relief and the tooltip holds the text."""
        return QSize(super().minimumSizeHint().width(), self.take_over.sizeHint().height() + 16)

    def show_for(self, incident: IncidentView | None) -> None:
        """Read who is past their limit on `incident` and who could relieve them; hide when nobody is."""
        if incident is None or not incident.status.is_open:
            self.incident, self.warnings = incident, []
            self.hide()
            return
        if self.incident is None or self.incident.id != incident.id:
            self.on_call = None
        self.incident = incident
        rotation = self.ctx.sitrep.rotation
        ok, warnings = read_or_say(self.ctx, rotation.fatigue, incident.id)
        if not ok or not warnings:
            self.warnings = []
            self.hide()
            return
        self.warnings = warnings
        self.suggestions = {}
        for f in warnings:
            ok, cands = read_or_say(self.ctx, rotation.candidates, incident.id, f.role, on_call=self.on_call)
            self.suggestions[f.role] = cands if ok else []
        self._render()
        self.show()
        self._ask_on_call()

    def first_suggestion(self, role: str) -> Candidate | None:
        free = [c for c in self.suggestions.get(role, []) if c.free_now]
        return free[0] if free else None

    def _render(self) -> None:
        names = self.ctx.sitrep.rotation.role_names()
        now = self.ctx.sitrep.now()
        parts = []
        for f in self.warnings:
            role = names.get(f.role, f.role)
            across = f" across {', '.join(f.on_duty.incidents)}" if len(f.on_duty.incidents) > 1 else ""
            where = f"{f.day.local:%H:%M} in {place(f.person.timezone)}" + (", night there" if f.day.night else "")
            parts.append(
                f"<b>⚠ {escape(f.person.name)} has been on duty {duration_text(f.on_duty.length)}</b>{escape(across)}: "
                f"past the {duration_text(f.limit)} limit for {escape(role)}. It is {where}."
            )
            free = [c for c in self.suggestions.get(f.role, []) if c.free_now][:3]
            if free:
                parts.append("Could take over now: " + "; ".join(
                    f"<b>{escape(c.person.name)}</b> ({escape(place(c.person.timezone))}, {escape(c.why(names, now))})"
                    for c in free))  # fmt: skip
            else:
                later = self.suggestions.get(f.role, [])[:2]
                parts.append(f"Nobody trained for {escape(role)} is in their working day and free now"
                             + ("; next: " + "; ".join(f"{escape(c.person.name)} ({escape(c.why(names, now))})"
                                                       for c in later) if later else "."))  # fmt: skip
        if self.on_call is not None:
            when = self.on_call.as_of.astimezone().strftime("%H:%M")
            parts.append(f"<i>On call from PagerDuty as of {when}" + (" (remembered)" if self.on_call.from_cache
                                                                       else "") + ".</i>")  # fmt: skip
        self.text.setText("<br>".join(parts))
        self.setToolTip(QTextDocumentFragment.fromHtml("<br>".join(parts)).toPlainText())
        first = self.warnings[0]
        sug = self.first_suggestion(first.role)
        self.take_over.setVisible(sug is not None)
        if sug is not None:
            self.take_over.setText(f"&Hand over to {sug.person.name}…")
            self.take_over.setToolTip(f"Open the handover (with its brief) of {names.get(first.role, first.role)} "
                                      f"to {sug.person.name}")  # fmt: skip

    def _take_over(self) -> None:
        if not self.warnings:
            return
        role = self.warnings[0].role
        sug = self.first_suggestion(role)
        if sug is not None:
            self._hand_over(role, sug.person.handle)

    def _show_plan(self) -> None:
        if self.ctx.shell is not None:
            self.ctx.shell.show_panel("rotation")

    # -- PagerDuty's answer, off the GUI thread ---------------------------------------------------
    def _ask_on_call(self) -> None:
        sync = self.ctx.sitrep.sync
        if self.incident is None or sync.on_call_problem() is not None:
            return
        asked = self._on_call_for
        if asked and asked[0] == self.incident.id and time.monotonic() - asked[1] < ON_CALL_MAX_AGE_S:
            return
        try:
            inputs = on_call_inputs(self.ctx.sitrep, self.incident.id)
        except SitrepError:
            return
        self._on_call_for = (self.incident.id, time.monotonic())
        incident_id = self.incident.id
        sync_bridge(self.ctx).tasks.run(lambda: sync.on_call_suggestions(**inputs),
                                        lambda report: self._answered(incident_id, report),
                                        lambda *_: None, owner=self)  # fmt: skip

    def _answered(self, incident_id: str, report: OnCallReport) -> None:
        if self.incident is None or self.incident.id != incident_id:
            return
        self.on_call = report
        self.show_for(self.incident)
