"""Changing an incident from its header: status, severity, major flag, milestones and details.

Each dialog offers only what the rules allow, asks for a reason where the rules require one,
and shows a refusal from the service next to the field it is about.

The header's five dialogs share one file (over 500 lines) because they share the reason field, the status
choices and the refusal-beside-the-field behaviour; each is a small class.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDateTimeEdit,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from models.enums import ALLOWED_TRANSITIONS, REOPEN_TARGETS, Milestone, Status
from services.errors import SitrepError, ValidationError
from services.record.catalog import UNKNOWN_SEVERITY
from services.record.milestone_order import flagged_pairs_of, pair_text
from services.record.owed import owed_at_resolve
from services.record.views import IncidentView
from services.resolution.checklists import RESOLVED_STEP
from ui.dialogs.flags import FlagsDialog
from ui.fields import ErrorLabel
from ui.forms import QuietLabel, ServiceDialog, WhenEdit
from ui.severity import SeverityMatrixView
from ui.timefmt import from_qdatetime, full_text, humanise_times, to_qdatetime, utc_text

STATUS_MEANING = {
    Status.INVESTIGATING: "Looking for the cause; the impact goes on.",
    Status.IDENTIFIED: "The cause is known; a fix or mitigation is being worked on.",
    Status.MITIGATED: "The impact has stopped or is contained; the cause may remain. Stamps 'Mitigated'.",
    Status.RESOLVED: "Service is back to normal. Stamps 'Resolved'; the update clock stops.",
    Status.CLOSED: "Follow-up is done and the record is closed; roles can no longer change.",
}
STATUS_MNEMONIC = {
    Status.INVESTIGATING: "&Investigating",
    Status.IDENTIFIED: "I&dentified",
    Status.MITIGATED: "&Mitigated",
    Status.RESOLVED: "&Resolved",
    Status.CLOSED: "C&losed",  # Alt+C is Cancel
}
# The move a commander makes most often from each status: preselected.
NATURAL_NEXT = {
    Status.DECLARED: Status.INVESTIGATING,
    Status.INVESTIGATING: Status.IDENTIFIED,
    Status.IDENTIFIED: Status.MITIGATED,
    Status.MITIGATED: Status.RESOLVED,
    Status.RESOLVED: Status.CLOSED,
    Status.CLOSED: Status.INVESTIGATING,
}


def next_statuses(current: Status) -> list[tuple[Status, bool]]:
    """(status, is_reopen) the rules allow from `current`, in lifecycle order."""
    order = list(Status)
    out = [(s, False) for s in sorted(ALLOWED_TRANSITIONS[current], key=order.index)]
    if not current.is_open:
        out += [(s, True) for s in sorted(REOPEN_TARGETS, key=order.index)]
    return out


def _reason_edit(parent: QWidget, name: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setAccessibleName("Reason")
    edit.setClearButtonEnabled(True)
    return edit


class StatusDialog(ServiceDialog):
    ok_text = "Change status"

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Change the status of {incident.key}", parent)
        self.setObjectName("dialog-status")
        self.incident = incident
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"<b>{incident.key}</b> is <b>{incident.status.label}</b>. Move it to:", self))
        self.group = QButtonGroup(self)
        self.radios: dict[Status, QRadioButton] = {}
        self.reopens: set[Status] = set()
        choices_box = QVBoxLayout()
        choices_box.setSpacing(0)
        lay.addLayout(choices_box)
        for status, reopen in next_statuses(incident.status):
            text = STATUS_MNEMONIC[status] + ("  (reopen)" if reopen else "")
            radio = QRadioButton(text, self)
            radio.setObjectName(f"status-{status.value}")
            radio.setToolTip(STATUS_MEANING[status])
            self.group.addButton(radio)
            self.radios[status] = radio
            if reopen:
                self.reopens.add(status)
            meaning = QuietLabel(STATUS_MEANING[status], self)
            meaning.setContentsMargins(24, 0, 0, 6)
            choices_box.addWidget(radio)
            choices_box.addWidget(meaning)
        default = NATURAL_NEXT.get(incident.status)
        (self.radios.get(default) or next(iter(self.radios.values()))).setChecked(True)

        form = QFormLayout()
        self.reason_label = QLabel("Rea&son:", self)
        self.reason = _reason_edit(self, "status-reason")
        self.reason_label.setBuddy(self.reason)
        form.addRow(self.reason_label, self.reason)
        form.addRow("", self.field_error("reason", focus=self.reason))
        self.when = WhenEdit(ctx.sitrep.now, "at", self)
        self.when.setObjectName("status-at")
        self.when.setAccessibleName("When it happened")
        when_label = QLabel("&When:", self)
        when_label.setBuddy(self.when)
        form.addRow(when_label, self.when)
        form.addRow("", self.when.preview)
        form.addRow("", self.field_error("at", focus=self.when))
        # Resolving says first what the incident still owes; going on takes a reason.
        self.owed = owed_at_resolve(ctx.sitrep, incident.id) if Status.RESOLVED in self.radios else []
        self.owed_label = QLabel(self)
        self.owed_label.setObjectName("status-owed")
        self.owed_label.setWordWrap(True)
        self.owed_label.setTextFormat(Qt.TextFormat.RichText)
        self.owed_label.setStyleSheet("background: #fff4ce; color: #5c4400; padding: 6px; border: 1px solid #c19c00;")
        self._show_owed()
        self.owed_label.hide()
        lay.addWidget(self.owed_label)
        # A kill switch left off is offered back here, at the end (issue 16).
        self.flags_button = QPushButton("Switch &flags on again…", self)
        self.flags_button.setObjectName("status-flags")
        self.flags_button.clicked.connect(self._open_flags)
        self.flags_button.hide()
        lay.addWidget(self.flags_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addLayout(form)
        # Open required checklist items that block Resolved: named here before the service refuses.
        self.checklist_gate = QuietLabel("", self)
        self.checklist_gate.setObjectName("status-checklist-gate")
        self.checklist_gate.setWordWrap(True)
        lay.addWidget(self.checklist_gate)
        self.override = QCheckBox("Go past the open checklist items (incident commander; the reason is "
                                  "recorded as an &override)", self)  # fmt: skip
        self.override.setObjectName("status-checklist-override")
        lay.addWidget(self.override)
        self.blocking = ctx.sitrep.checklists.open_required(incident.id, RESOLVED_STEP)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.group.buttonToggled.connect(self._update_reason_label)
        self._update_reason_label()
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    def _show_owed(self) -> None:
        self.owed_label.setText(
            "<b>⚠ Still owed before this incident is closed:</b><ul>"
            + "".join(f"<li>{escape(o.text)}</li>" for o in self.owed)
            + "</ul>Resolve anyway only with a reason (it is written on the timeline)."
        )

    def _open_flags(self) -> None:
        dialog = FlagsDialog(self.ctx, self.incident, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._owed_again)
        self.flags_dialog = dialog
        dialog.open()

    def _owed_again(self, *_args) -> None:
        self.owed = owed_at_resolve(self.ctx.sitrep, self.incident.id)
        self._show_owed()
        self._update_reason_label()

    def selected(self) -> Status | None:
        for status, radio in self.radios.items():
            if radio.isChecked():
                return status
        return None

    def choose(self, status: Status) -> None:
        self.radios[status].setChecked(True)

    def _update_reason_label(self, *_args) -> None:
        target = self.selected()
        warn = target is Status.RESOLVED and bool(self.owed)
        self.owed_label.setVisible(warn)
        self.flags_button.setVisible(warn and any(o.kind == "flag" for o in self.owed))
        self.ok_button.setText("Resolve anyway" if warn else self.ok_text)
        if target in self.reopens:
            self.reason_label.setText("Rea&son (required to reopen):")
        elif warn:
            self.reason_label.setText("Rea&son (required):")
        else:
            self.reason_label.setText("Rea&son (optional):")
        gated = target is Status.RESOLVED and bool(self.blocking)
        self.checklist_gate.setText("Resolved is blocked by open checklist items: "
                                    + "; ".join(f"{c}: {i}" for c, i in self.blocking) if gated else "")  # fmt: skip
        self.checklist_gate.setVisible(gated)
        self.override.setVisible(gated)
        self.adjustSize()

    def apply(self) -> str:
        target = self.selected()
        if target is None:
            raise ValidationError("Choose the new status.")
        override = self.reason.text() if not self.override.isHidden() and self.override.isChecked() else None
        if not self.override.isHidden() and self.override.isChecked() and not self.reason.text().strip():
            raise ValidationError("Say why you go past the open checklist items (the reason).", field="reason")
        if target is Status.RESOLVED and self.owed and not self.reason.text().strip():
            raise ValidationError("Say why the incident is resolved with these still owed (or deal with them "
                                  "first).", field="reason")  # fmt: skip
        view = self.ctx.sitrep.incidents.set_status(
            self.incident.id, target, author=self.ctx.author, reason=self.reason.text(), at=self.when.value(),
            override_reason=override,
        )
        self.result_value = view
        return f"{view.key} is now {view.status.label}."


class SeverityDialog(ServiceDialog):
    ok_text = "Change severity"

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Change the severity of {incident.key}", parent)
        self.setObjectName("dialog-severity")
        self.incident = incident
        self.catalog = ctx.sitrep.catalog
        lay = QVBoxLayout(self)
        intro = QLabel(
            f"<b>{incident.key}</b> is <b>{incident.severity}</b>. Choose its new level; the definitions "
            "are beside each one. When unsure between two levels, pick the higher.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.matrix = SeverityMatrixView(self.catalog, self)
        self.matrix.matrix.set_current(incident.severity)
        lay.addWidget(self.matrix, 1)
        lay.addWidget(self.field_error("severity", focus=self.matrix))
        self.major_hint = QuietLabel("", self)
        lay.addWidget(self.major_hint)
        form = QFormLayout()
        self.reason_label = QLabel("&Reason:", self)
        self.reason = _reason_edit(self, "severity-reason")
        self.reason_label.setBuddy(self.reason)
        form.addRow(self.reason_label, self.reason)
        form.addRow("", self.field_error("reason", focus=self.reason))
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.matrix.level_chosen.connect(self._level_chosen)
        try:  # what the recorded impact proposes: a level against it takes a reason (services/governance/impact.py)
            self.proposed = ctx.sitrep.impact.show(incident.id).proposed_severity
        except SitrepError:
            self.proposed = None
        if incident.severity != UNKNOWN_SEVERITY:  # imported history may have none: nothing to start from
            self.matrix.choose(incident.severity)
            self._level_chosen(incident.severity)
        self.resize(self.fontMetrics().averageCharWidth() * 150, self.fontMetrics().height() * 40)

    def _level_chosen(self, level_id: str) -> None:
        new = self.catalog.severity(level_id)
        known = self.incident.severity != UNKNOWN_SEVERITY
        old = self.catalog.severity(self.incident.severity) if known else new
        if new.rank > old.rank:
            self.reason_label.setText(f"&Reason (required: lowering {old.id} → {new.id}):")
        elif self.proposed and new.id != self.proposed:
            self.reason_label.setText(f"&Reason (required: the impact proposes {self.proposed}):")
        else:
            self.reason_label.setText("&Reason (optional):")
        if new.major and not self.incident.is_major:
            self.major_hint.setText(
                f"{new.id} is a major-incident level. To run it as a major incident, also use "
                "Incident ▸ Declare major incident."
            )
        elif not new.major and self.incident.is_major:
            self.major_hint.setText(
                f"{self.incident.key} stays a major incident until you de-escalate it (Incident ▸ De-escalate)."
            )
        else:
            self.major_hint.setText("")
        self.major_hint.setVisible(bool(self.major_hint.text()))

    def apply(self) -> str:
        level = self.matrix.chosen()
        if level is None:
            raise ValidationError("Choose a severity level in the matrix.", field="severity")
        view = self.ctx.sitrep.incidents.set_severity(
            self.incident.id, level, author=self.ctx.author, reason=self.reason.text()
        )
        self.result_value = view
        return f"{view.key} is now {view.severity}."


class MajorDialog(ServiceDialog):
    """Declare a formal major incident, or de-escalate one (which needs a reason)."""

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        self.declaring = not incident.is_major
        self.ok_text = "Declare major incident" if self.declaring else "De-escalate"
        title = (
            f"Declare {incident.key} a major incident" if self.declaring else f"De-escalate {incident.key}"
        )
        super().__init__(ctx, title, parent)
        self.setObjectName("dialog-major")
        self.incident = incident
        lay = QVBoxLayout(self)
        if self.declaring:
            text = (
                f"Run <b>{incident.key}</b> as a major incident: the full command structure, the "
                "stakeholder notices and a post-mortem follow. The timeline records who declared it."
            )
            label = "&Reason (optional):"
        else:
            text = (
                f"<b>{incident.key}</b> will no longer be run as a major incident. Say why: the "
                "post-mortem will ask."
            )
            label = "&Reason (required):"
        intro = QLabel(text, self)
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.reason = _reason_edit(self, "major-reason")
        reason_label = QLabel(label, self)
        reason_label.setBuddy(self.reason)
        form.addRow(reason_label, self.reason)
        form.addRow("", self.field_error("reason", focus=self.reason))
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    def apply(self) -> str:
        view = self.ctx.sitrep.incidents.set_major(
            self.incident.id, self.declaring, author=self.ctx.author, reason=self.reason.text()
        )
        self.result_value = view
        return f"{view.key} is {'now' if view.is_major else 'no longer'} a major incident."


# MILESTONE_ORDER as the chains a person reads (a test checks they say the same thing).
ORDER_CHAINS: tuple[tuple[Milestone, ...], ...] = (
    (
        Milestone.IMPACT_STARTED,
        Milestone.DETECTED,
        Milestone.ACKNOWLEDGED,
        Milestone.IDENTIFIED,
        Milestone.MITIGATED,
        Milestone.RESOLVED,
        Milestone.CLOSED,
    ),
    (Milestone.DETECTED, Milestone.DECLARED, Milestone.RESOLVED),
    (Milestone.DECLARED, Milestone.IC_ASSIGNED),
    (Milestone.DECLARED, Milestone.BRIDGE_OPENED),
)


def order_rule_text() -> str:
    chains = ["  ≤  ".join(m.label for m in chain) for chain in ORDER_CHAINS]
    return "Order rule (when both are set):\n" + "\n".join(chains)


class MilestoneRow:
    """One milestone: set or not, when (viewer's zone), UTC beside it, and the service's refusal."""

    def __init__(self, dialog: MilestoneDialog, grid: QGridLayout, row: int, m: Milestone, value) -> None:
        self.milestone = m
        self.original: datetime | None = value
        self.dirty = False
        self.is_set = QCheckBox(m.label, dialog)
        self.is_set.setObjectName(f"set-{m.value}")
        self.is_set.setToolTip(f"Tick to set '{m.label}'; untick to clear it")
        self.editor = QDateTimeEdit(dialog)
        self.editor.setObjectName(f"edit-{m.value}")
        self.editor.setAccessibleName(f"{m.label} time")
        self.editor.setDisplayFormat("ddd yyyy-MM-dd HH:mm:ss")
        self.editor.setCalendarPopup(True)
        self.now_button = QPushButton("Now", dialog)
        self.now_button.setObjectName(f"now-{m.value}")
        self.now_button.setAccessibleName(f"Set {m.label} to now")
        self.now_button.setAutoDefault(False)
        self.utc = QuietLabel("", dialog, wrap=False)
        self.error = ErrorLabel(dialog, name=f"error-{m.value}")
        self.error.setMinimumWidth(dialog.fontMetrics().averageCharWidth() * 40)
        self._now = dialog.ctx.sitrep.now
        self.editor.setDateTime(to_qdatetime(value or self._now()))
        self.editor.setMaximumDateTime(to_qdatetime(self._now()).addDays(1))
        self.is_set.setChecked(value is not None)
        if m is Milestone.DECLARED:
            self.is_set.setEnabled(False)  # the declaration time can be moved but never cleared
        self._sync()
        grid.addWidget(self.is_set, row, 0)
        grid.addWidget(self.editor, row, 1)
        grid.addWidget(self.now_button, row, 2)
        grid.addWidget(self.utc, row, 3)
        grid.addWidget(self.error, row, 4)
        self.is_set.toggled.connect(self._set_toggled)
        self.editor.dateTimeChanged.connect(self._edited)
        self.now_button.clicked.connect(self.set_now)

    def _set_toggled(self, checked: bool) -> None:
        if checked and self.original is None:
            self.editor.setDateTime(to_qdatetime(self._now()))
        self.dirty = True
        self._sync()

    def _edited(self, _value: QDateTime) -> None:
        self.dirty = True
        self._sync()

    def set_now(self) -> None:
        self.is_set.setChecked(True)
        self.editor.setDateTime(to_qdatetime(self._now()))

    def set_value(self, value: datetime | None) -> None:
        self.is_set.setChecked(value is not None)
        if value is not None:
            self.editor.setDateTime(to_qdatetime(value))

    def _sync(self) -> None:
        on = self.is_set.isChecked()
        self.editor.setEnabled(on)
        value = self.value()
        self.utc.setText(utc_text(value) if value else "not set")
        self.editor.setToolTip(f"{full_text(value)}\n{utc_text(value)}" if value else "")

    def value(self) -> datetime | None:
        if not self.is_set.isChecked():
            return None
        return from_qdatetime(self.editor.dateTime()).replace(microsecond=0)

    def changed(self) -> bool:
        if not self.dirty:
            return False
        new = self.value()
        if new is None or self.original is None:
            return new != self.original
        return new != self.original.replace(microsecond=0)

    def saved(self, value: datetime | None) -> None:
        self.original = value
        self.dirty = False


class MilestoneDialog(ServiceDialog):
    ok_text = "Save milestones"

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Milestones of {incident.key}", parent)
        self.setObjectName("dialog-milestones")
        self.incident = incident
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Times are in your time zone (UTC beside each). Tick a milestone to set it, untick to clear it.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        rule = QuietLabel(order_rule_text(), self)
        lay.addWidget(rule)
        if incident.flagged_pairs:
            pairs = flagged_pairs_of(incident.flagged_pairs)
            flagged = QLabel(
                "Imported with times that contradict each other: "
                + "; ".join(pair_text(p, incident.milestones) for p in sorted(pairs, key=str))
                + ". Metrics that use these pairs leave this incident out; correct a time to clear its flag.",
                self,
            )
            flagged.setObjectName("milestones-flagged")
            flagged.setWordWrap(True)
            lay.addWidget(flagged)
        grid = QGridLayout()
        grid.setColumnStretch(4, 1)
        self.rows: dict[Milestone, MilestoneRow] = {}
        for i, m in enumerate(Milestone):
            self.rows[m] = MilestoneRow(self, grid, i, m, incident.milestone(m))
        lay.addLayout(grid)
        form = QFormLayout()
        self.reason = _reason_edit(self, "milestone-reason")
        reason_label = QLabel("&Reason (optional):", self)
        reason_label.setBuddy(self.reason)
        form.addRow(reason_label, self.reason)
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.applied: list[Milestone] = []

    def submit(self) -> bool:
        """Apply every changed milestone. Moving several at once may only be valid in one order, so
        refused ones are retried after the others; what is still refused stays open with the
        service's explanation beside it."""
        self.clear_errors()
        for row in self.rows.values():
            row.error.show_error(None)
        pending = [r for r in self.rows.values() if r.changed()]
        if not pending:
            self.accept()
            return True
        errors: dict[Milestone, SitrepError] = {}
        progress = True
        while pending and progress:
            progress = False
            errors.clear()
            for row in list(pending):
                try:
                    self.result_value = self.ctx.sitrep.incidents.set_milestone(
                        self.incident.id,
                        row.milestone,
                        row.value(),
                        author=self.ctx.author,
                        reason=self.reason.text(),
                    )
                except ValidationError as err:
                    errors[row.milestone] = err
                    continue
                except SitrepError as err:  # the store itself: nothing more will work
                    self.show_error(err)
                    return False
                row.saved(row.value())
                self.applied.append(row.milestone)
                pending.remove(row)
                progress = True
        if errors:
            for m, err in errors.items():
                self.rows[m].error.show_error(humanise_times(err.message, self.ctx.sitrep.now()))
            first = next(iter(errors))
            self.rows[first].editor.setFocus(Qt.FocusReason.OtherFocusReason)
            if self.applied:
                saved = ", ".join(m.label for m in self.applied)
                self.general_error.show_error(f"Saved: {saved}. The others were refused; see beside each.")
            return False
        self.ctx.status_message(f"Milestones of {self.incident.key} saved.")
        self.accept()
        return True


def _number_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class DetailsDialog(ServiceDialog):
    ok_text = "Save details"

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Details of {incident.key}", parent)
        self.setObjectName("dialog-details")
        self.incident = incident
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.title_edit = QLineEdit(incident.title, self)
        self.title_edit.setObjectName("details-title")
        self.summary = QPlainTextEdit(incident.summary, self)
        self.summary.setObjectName("details-summary")
        self.summary.setTabChangesFocus(True)
        self.summary.setMinimumHeight(self.fontMetrics().height() * 5)
        self.services = QLineEdit(", ".join(incident.services), self)
        self.services.setObjectName("details-services")
        self.services.setPlaceholderText("checkout, payments-api (comma separated)")
        self.affected = QLineEdit(_number_text(incident.affected_users), self)
        self.affected.setObjectName("details-affected")
        self.affected.setPlaceholderText("unknown")
        self.error_rate = QLineEdit(_number_text(incident.error_rate_pct), self)
        self.error_rate.setObjectName("details-error-rate")
        self.error_rate.setPlaceholderText("unknown (percent, e.g. 12.5)")
        for label, widget, fields in (
            ("&Title:", self.title_edit, ("title",)),
            ("S&ummary:", self.summary, ("summary",)),
            ("&Services:", self.services, ("services",)),
            ("&Affected users:", self.affected, ("affected_users",)),
            ("&Error rate (%):", self.error_rate, ("error_rate_pct",)),
        ):
            lbl = QLabel(label, self)
            lbl.setBuddy(widget)
            form.addRow(lbl, widget)
            form.addRow("", self.field_error(*fields, focus=widget))
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)

    def apply(self) -> str | None:
        inc = self.incident
        affected_text = self.affected.text().strip().replace(",", "").replace("_", "")
        rate_text = self.error_rate.text().strip().rstrip("%").strip()
        affected: int | None = None
        rate: float | None = None
        if affected_text:
            if not affected_text.isdigit():
                raise ValidationError(
                    "Affected users is a whole number (leave it empty if unknown).", field="affected_users"
                )
            affected = int(affected_text)
        if rate_text:
            try:
                rate = float(rate_text)
            except ValueError:
                raise ValidationError(
                    "The error rate is a percentage such as 12.5 (leave it empty if unknown).",
                    field="error_rate_pct",
                ) from None
        services = [s.strip() for s in self.services.text().split(",") if s.strip()]
        title = self.title_edit.text()
        summary = self.summary.toPlainText()
        clearing = (affected is None and inc.affected_users is not None) or (
            rate is None and inc.error_rate_pct is not None
        )
        kwargs: dict = {}
        if title.strip() != inc.title:
            kwargs["title"] = title
        if summary.strip() != inc.summary:
            kwargs["summary"] = summary
        if services != list(inc.services):
            kwargs["services"] = services
        if clearing:
            # The service clears both figures together; whatever is kept is set again with it.
            kwargs["clear_impact"] = True
            if affected is not None:
                kwargs["affected_users"] = affected
            if rate is not None:
                kwargs["error_rate_pct"] = rate
        else:
            if affected != inc.affected_users:
                kwargs["affected_users"] = affected
            if rate != inc.error_rate_pct:
                kwargs["error_rate_pct"] = rate
        if not kwargs:
            return None
        view = self.ctx.sitrep.incidents.update_details(inc.id, author=self.ctx.author, **kwargs)
        self.result_value = view
        return f"Details of {view.key} saved."
