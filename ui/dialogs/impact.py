"""Customer impact in the console: the impact model's inputs as a small form (used by the declare dialog and
by Record impact…), the severity they propose with its reasons, updated as they are typed."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError
from services.governance.impact_model import EXPOSURES, Proposal
from services.record.views import IncidentView
from ui.forms import QuietLabel, ServiceDialog

UNKNOWN = "unknown"


def _spin(parent: QWidget, name: str, maximum: float, suffix: str, accessible: str) -> QDoubleSpinBox:
    """A number that may be unknown: its minimum (-1) shows as "unknown"."""
    box = QDoubleSpinBox(parent)
    box.setObjectName(name)
    box.setRange(-1, maximum)
    box.setDecimals(1)
    box.setSingleStep(1)
    box.setSpecialValueText(UNKNOWN)
    box.setValue(-1)
    box.setSuffix(suffix)
    box.setAccessibleName(accessible)
    box.setKeyboardTracking(True)
    return box


class ImpactFields(QGroupBox):
    """The impact model's inputs. `changed` fires on every edit; `values()` is what the services take."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, title: str = "Customer impact (proposes a severity)") -> None:
        super().__init__(title, parent)
        self.setObjectName("impact-fields")
        self.affected = _spin(self, "impact-affected", 100, " %", "Share of users or tenants affected, percent")
        self.error_rate = _spin(self, "impact-error-rate", 100, " %", "User-facing error rate, percent")
        self.revenue = _spin(self, "impact-revenue", 1e9, "", "Revenue lost or at risk per minute")
        self.revenue.setDecimals(0)
        self.revenue.setSingleStep(100)
        self.journeys = QLineEdit(self)
        self.journeys.setObjectName("impact-journeys")
        self.journeys.setPlaceholderText("checkout, login (comma separated)")
        self.journeys.setAccessibleName("Affected user journeys")
        self.exposure = QComboBox(self)
        self.exposure.setObjectName("impact-exposure")
        self.exposure.setAccessibleName("Data exposure")
        self.exposure.addItem(UNKNOWN, None)
        for e in EXPOSURES:
            self.exposure.addItem(e, e)
        self.regulatory = QCheckBox("A re&gulator may have to be told", self)
        self.regulatory.setObjectName("impact-regulatory")
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(3)

        def label(text: str, buddy: QWidget) -> QLabel:
            lab = QLabel(text, self)
            lab.setBuddy(buddy)
            return lab

        grid.addWidget(label("&Affected:", self.affected), 0, 0)
        grid.addWidget(self.affected, 0, 1)
        grid.addWidget(label("Error &rate:", self.error_rate), 0, 2)
        grid.addWidget(self.error_rate, 0, 3)
        grid.addWidget(label("&Journeys:", self.journeys), 1, 0)
        grid.addWidget(self.journeys, 1, 1, 1, 3)
        grid.addWidget(label("Reve&nue/min:", self.revenue), 2, 0)
        grid.addWidget(self.revenue, 2, 1)
        grid.addWidget(label("Data exp&osed:", self.exposure), 2, 2)
        grid.addWidget(self.exposure, 2, 3)
        grid.addWidget(self.regulatory, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        for box in (self.affected, self.error_rate, self.revenue):
            box.valueChanged.connect(self.changed)
        self.journeys.textChanged.connect(self.changed)
        self.exposure.currentIndexChanged.connect(self.changed)
        self.regulatory.toggled.connect(self.changed)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, box in (("affected_pct", self.affected), ("error_rate_pct", self.error_rate),
                         ("revenue_per_min", self.revenue)):  # fmt: skip
            if box.value() >= 0:
                out[key] = box.value()
        journeys = [j.strip() for j in self.journeys.text().split(",") if j.strip()]
        if journeys:
            out["journeys"] = journeys
        if self.exposure.currentData():
            out["data_exposure"] = self.exposure.currentData()
        if self.regulatory.isChecked():
            out["regulatory"] = True
        return out

    def set_values(self, inputs: dict[str, Any]) -> None:
        self.affected.setValue(float(inputs.get("affected_pct", -1)))
        self.error_rate.setValue(float(inputs.get("error_rate_pct", -1)))
        self.revenue.setValue(float(inputs.get("revenue_per_min", -1)))
        self.journeys.setText(", ".join(inputs.get("journeys", ())))
        index = self.exposure.findData(inputs.get("data_exposure"))
        self.exposure.setCurrentIndex(max(index, 0))
        self.regulatory.setChecked(bool(inputs.get("regulatory")))


def proposal_text(proposal: Proposal | None, chosen: str | None, problem: str = "",
                  against_words: str = "say why below (it is recorded)") -> tuple[str, bool]:  # fmt: skip
    """What the proposal line says (rich text), and whether the choice goes against it."""
    if problem:
        return f"No proposal: {html.escape(problem)}", False
    if proposal is None or proposal.severity is None:
        return "Proposed: nothing yet. Fill in the impact and the model proposes a level.", False
    against = chosen is not None and chosen != proposal.severity
    reasons = "; ".join((*proposal.reasons, *proposal.context))
    text = f"Proposed <b>{proposal.severity}</b>: {html.escape(reasons)}"
    if against:
        text += f"<br><b>{html.escape(chosen)} is not the proposal</b>: {against_words}."
    return text, against


class ImpactDialog(ServiceDialog):
    """Record impact… on the open incident: a timeline entry with the new proposal."""

    ok_text = "&Record"

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Customer impact: {incident.key}", parent)
        self.setObjectName("dialog-impact")
        self.incident = incident
        self.fields = ImpactFields(self, "What customers suffer now")
        self.proposal = QLabel(self)
        self.proposal.setObjectName("impact-proposal")
        self.proposal.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.fields)
        lay.addWidget(self.proposal)
        lay.addWidget(self.field_error("affected_pct", "error_rate_pct", "revenue_per_min", "data_exposure",
                                       focus=self.fields.affected))  # fmt: skip
        lay.addWidget(QuietLabel(f"The severity stays {incident.severity} until you change it; the proposal "
                                 "is advice with its reasons.", self))  # fmt: skip
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        try:
            self.fields.set_values(ctx.sitrep.impact.show(incident.id).inputs)
        except SitrepError as err:
            self.general_error.show_error(err.message)
        self.fields.changed.connect(self.update_proposal)
        self.update_proposal()
        self.fields.affected.setFocus()

    def update_proposal(self) -> None:
        try:
            proposal, problem = self.ctx.sitrep.impact.propose(self.fields.values()), ""
        except SitrepError as err:
            proposal, problem = None, err.message
        self.proposal.setText(proposal_text(proposal, self.incident.severity, problem,
                                            "the commander decides (Incident ▸ Change severity…)")[0])

    def apply(self) -> str:
        view = self.ctx.sitrep.impact.record(self.incident.id, self.fields.values(), author=self.ctx.author,
                                             replace=True)  # fmt: skip
        self.result_value = self.ctx.sitrep.incidents.get(self.incident.id)
        return f"Impact recorded on {view.incident_key}: proposed {view.explanation}"
