"""Declare incident… (Ctrl+N): the few facts a commander has in the first minute, and the severity
matrix beside them so the level is picked with its definition and obligations in view."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError, ValidationError
from services.record.incidents import INCIDENT_TYPES
from ui.dialogs.impact import ImpactFields, proposal_text
from ui.forms import QuietLabel, ServiceDialog, WhenEdit
from ui.severity import SeverityMatrixView

TYPE_LABELS = {
    "service_outage": "Service outage",
    "degraded_performance": "Degraded performance",
    "security": "Security incident",
    "data_breach": "Data breach (data exposed)",
    "data_loss": "Data loss or corruption",
    "vendor_outage": "Vendor or provider outage",
    "change_failure": "Failed change or release",
    "other": "Other",
}


class DeclareDialog(ServiceDialog):
    ok_text = "&Declare"

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Declare incident", parent)
        self.setObjectName("dialog-declare")
        self.declared = None
        self._major_touched = False
        now = ctx.sitrep.now

        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("declare-title")
        self.title_edit.setPlaceholderText("What is broken, for whom (e.g. Checkout: card payments failing)")
        self.title_edit.setAccessibleName("Title")
        self.type_combo = QComboBox(self)
        self.type_combo.setObjectName("declare-type")
        self.type_combo.setAccessibleName("Incident type")
        for t in INCIDENT_TYPES:
            self.type_combo.addItem(TYPE_LABELS.get(t, t.replace("_", " ").capitalize()), t)
        self.services = QLineEdit(self)
        self.services.setObjectName("declare-services")
        self.services.setPlaceholderText("checkout, payments-api (comma separated)")
        self.services.setAccessibleName("Affected services")
        self.summary = QPlainTextEdit(self)
        self.summary.setObjectName("declare-summary")
        self.summary.setPlaceholderText("What we know so far: symptoms, who noticed, since when")
        self.summary.setTabChangesFocus(True)
        self.summary.setAccessibleName("Summary")
        # Five lines show (more scroll): the first minute's summary is a few sentences, and a box
        # as tall as the severity matrix beside it pushed the times and flags out of sight.
        lines = self.fontMetrics().lineSpacing()
        frame = 2 * (self.summary.frameWidth() + int(self.summary.document().documentMargin())) + 2
        self.summary.setFixedHeight(lines * 5 + frame)
        self.impact_started = WhenEdit(now, "impact_started", self, placeholder="unknown")
        self.impact_started.setObjectName("declare-impact-started")
        self.impact_started.setAccessibleName("Impact started")
        self.detected = WhenEdit(now, "detected", self, placeholder="unknown")
        self.detected.setObjectName("declare-detected")
        self.detected.setAccessibleName("Detected")
        self.exercise = QCheckBox("This is an e&xercise (a drill, not a real outage)", self)
        self.exercise.setObjectName("declare-exercise")
        if ctx.sitrep.in_exercise:  # an exercise's own store: everything declared here is an exercise
            self.exercise.setChecked(True)
            self.exercise.setEnabled(False)
            self.exercise.setToolTip("This console is a tabletop exercise's store: every incident in it is an exercise.")
        self.major = QCheckBox("Run as a &major incident", self)
        self.major.setObjectName("declare-major")
        self.major.clicked.connect(self._major_clicked)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        def row(text: str, widget: QWidget, *fields: str, extra: QWidget | None = None) -> None:
            label = QLabel(text, self)
            label.setBuddy(widget)
            form.addRow(label, widget)
            if extra is not None:
                form.addRow("", extra)
            if fields:
                form.addRow("", self.field_error(*fields, focus=widget))

        row("&Title:", self.title_edit, "title")
        row("T&ype:", self.type_combo, "incident_type")
        row("Ser&vices:", self.services, "services")
        row("S&ummary:", self.summary, "summary")
        row("&Impact started:", self.impact_started, "impact_started", extra=self.impact_started.preview)
        row("D&etected:", self.detected, "detected", "milestones", extra=self.detected.preview)
        hint = QuietLabel("Times: 09:40 (your time zone), 25m ago, or ISO. Empty if unknown.", self)
        form.addRow("", hint)
        form.addRow("", self.exercise)
        form.addRow("", self.major)
        self.impact = ImpactFields(self)
        self.impact.changed.connect(self.update_proposal)
        form.addRow(self.impact)
        form.addRow(self.field_error("affected_pct", "error_rate_pct", "revenue_per_min", "data_exposure",
                                     focus=self.impact.affected))  # fmt: skip

        self.matrix = SeverityMatrixView(ctx.sitrep.catalog, self)
        self.matrix.level_chosen.connect(self._level_chosen)
        severity_label = QLabel(
            "&Severity: pick the level whose criteria match (↑/↓). When unsure between two, pick the higher.",
            self,
        )
        severity_label.setWordWrap(True)
        severity_label.setBuddy(self.matrix)
        self.chosen_label = QLabel("No level chosen yet.", self)
        self.chosen_label.setObjectName("declare-chosen")
        right = QVBoxLayout()
        right.addWidget(severity_label)
        right.addWidget(self.matrix, 1)
        right.addWidget(self.chosen_label)
        right.addWidget(self.field_error("severity", focus=self.matrix))
        # What the impact proposes, beside the level chosen; a choice against it takes a reason.
        self.proposal_label = QLabel(self)
        self.proposal_label.setObjectName("declare-proposal")
        self.proposal_label.setWordWrap(True)
        self.use_proposal = QPushButton("Use pro&posal", self)
        self.use_proposal.setObjectName("declare-use-proposal")
        self.use_proposal.clicked.connect(self._use_proposal)
        proposal_row = QHBoxLayout()
        proposal_row.addWidget(self.proposal_label, 1)
        proposal_row.addWidget(self.use_proposal)
        right.addLayout(proposal_row)
        self.reason = QLineEdit(self)
        self.reason.setObjectName("declare-severity-reason")
        self.reason.setPlaceholderText("Why this level and not the proposed one (recorded on the timeline)")
        self.reason.setAccessibleName("Reason for a severity other than the proposal")
        self.reason_label = QLabel("W&hy not the proposal:", self)
        self.reason_label.setBuddy(self.reason)
        reason_row = QHBoxLayout()
        reason_row.addWidget(self.reason_label)
        reason_row.addWidget(self.reason, 1)
        right.addLayout(reason_row)
        right.addWidget(self.field_error("severity_reason", focus=self.reason))
        self.proposal = None

        left_box = QWidget(self)
        left = QVBoxLayout(left_box)
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(form)
        left.addStretch(1)  # the fields stay together at the top; spare height is the matrix's
        columns = QHBoxLayout()
        columns.addWidget(left_box, 1)
        columns.addLayout(right, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(columns, 1)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)

        self.setTabOrder(self.title_edit, self.type_combo)
        self.setTabOrder(self.type_combo, self.services)
        self.setTabOrder(self.services, self.summary)
        self.setTabOrder(self.summary, self.impact_started)
        self.setTabOrder(self.impact_started, self.detected)
        self.setTabOrder(self.detected, self.exercise)
        self.setTabOrder(self.exercise, self.major)
        self.setTabOrder(self.major, self.impact.affected)
        self.setTabOrder(self.impact.affected, self.impact.error_rate)
        self.setTabOrder(self.impact.error_rate, self.impact.journeys)
        self.setTabOrder(self.impact.journeys, self.impact.revenue)
        self.setTabOrder(self.impact.revenue, self.impact.exposure)
        self.setTabOrder(self.impact.exposure, self.impact.regulatory)
        self.setTabOrder(self.impact.regulatory, self.matrix)
        self.setTabOrder(self.matrix, self.use_proposal)
        self.setTabOrder(self.use_proposal, self.reason)
        self.update_proposal()
        self._size_to_screen()
        self.title_edit.setFocus()

    def _size_to_screen(self) -> None:
        em = self.fontMetrics().averageCharWidth()
        want_w, want_h = em * 190, self.fontMetrics().height() * 58  # the whole matrix, where it fits
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            want_w = min(want_w, int(avail.width() * 0.95))
            want_h = min(want_h, int(avail.height() * 0.92))
        self.resize(want_w, want_h)

    def _major_clicked(self) -> None:
        self._major_touched = True

    def _level_chosen(self, level_id: str) -> None:
        level = self.ctx.sitrep.catalog.severity(level_id)
        self.chosen_label.setText(f"Chosen: <b>{level.id} ({level.label})</b>: {level.description}")
        self.chosen_label.setWordWrap(True)
        if not self._major_touched:
            self.major.setChecked(level.major)
        self.update_proposal()

    def update_proposal(self) -> None:
        """The proposal as the impact now reads; the reason is asked for only when the choice differs."""
        try:
            self.proposal, problem = self.ctx.sitrep.impact.propose(self.impact.values()), ""
        except SitrepError as err:
            self.proposal, problem = None, err.message
        text, against = proposal_text(self.proposal, self.matrix.chosen(), problem)
        self.proposal_label.setText(text)
        self.use_proposal.setEnabled(self.proposal is not None and self.proposal.severity is not None
                                     and self.proposal.severity != self.matrix.chosen())  # fmt: skip
        self.reason.setEnabled(against)
        self.reason_label.setEnabled(against)

    def _use_proposal(self) -> None:
        if self.proposal is not None and self.proposal.severity:
            self.matrix.choose(self.proposal.severity)

    def choose_severity(self, level_id: str) -> None:
        self.matrix.choose(level_id)

    def apply(self) -> str:
        severity = self.matrix.chosen()
        if severity is None:
            if not self.title_edit.text().strip():  # the first field first, as the service would
                raise ValidationError(
                    "An incident needs a title (e.g. 'Checkout: payments failing').", field="title"
                )
            raise ValidationError(
                "Choose a severity in the matrix. When unsure between two levels, pick the higher.",
                field="severity",
            )
        view = self.ctx.sitrep.incidents.declare(
            self.title_edit.text(),
            severity,
            author=self.ctx.author,
            summary=self.summary.toPlainText(),
            incident_type=self.type_combo.currentData(),
            services=[s.strip() for s in self.services.text().split(",") if s.strip()],
            is_major=self.major.isChecked(),
            is_exercise=self.exercise.isChecked(),
            impact_started_at=self.impact_started.value(),
            detected_at=self.detected.value(),
            impact=self.impact.values() or None,
            severity_reason=self.reason.text() if self.reason.isEnabled() else None,
        )
        self.declared = self.result_value = view
        if not self.ctx.open_incident(view.id):
            self.ctx.selection.set(view)
        return f"Declared {view.key} ({view.severity}): {view.title}"
