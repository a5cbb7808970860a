"""Severity from customer impact: record an incident's impact (a timeline entry), propose a severity from
it (services/governance/impact_model.py), and hold the rule that a severity set against the proposal says
why. The commander decides; the proposal is advice with its reasons written out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.entities import Incident, IncidentImpact
from models.enums import EntryKind, Status
from services.changes import Topic
from services.errors import ValidationError
from services.governance.impact_model import ImpactInputs, ImpactModel, Proposal, load_impact_model
from services.record.catalog import Catalog
from services.record.incidents import IncidentService
from services.record.timeline import _clean_author, append_entry


@dataclass(frozen=True)
class ImpactView:
    incident_key: str
    severity: str
    inputs: dict[str, Any]
    proposed_severity: str | None
    explanation: str
    first_proposed_severity: str | None
    recorded_by: str | None
    updated_at: datetime | None

    @property
    def agrees(self) -> bool:
        return self.proposed_severity is None or self.proposed_severity == self.severity

    def as_dict(self) -> dict[str, Any]:
        return {"incident": self.incident_key, "severity": self.severity, "impact": self.inputs,
                "proposed_severity": self.proposed_severity, "explanation": self.explanation,
                "first_proposed_severity": self.first_proposed_severity, "recorded_by": self.recorded_by,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None}  # fmt: skip


def describe_inputs(inputs: ImpactInputs) -> str:
    """The impact in a line, as the timeline says it."""
    parts = []
    if inputs.affected_pct is not None:
        parts.append(f"{inputs.affected_pct:g}% of users affected")
    if inputs.error_rate_pct is not None:
        parts.append(f"error rate {inputs.error_rate_pct:g}%")
    if inputs.journeys:
        parts.append("journeys " + ", ".join(inputs.journeys))
    if inputs.core_journey is not None:
        parts.append("core journey" if inputs.core_journey else "not a core journey")
    if inputs.revenue_per_min is not None:
        parts.append(f"revenue {inputs.revenue_per_min:,.0f}/min")
    if inputs.data_exposure:
        parts.append(f"data exposure {inputs.data_exposure}")
    if inputs.regulatory is not None:
        parts.append("regulatory" if inputs.regulatory else "not regulatory")
    return "; ".join(parts) or "nothing known"


class ImpactService:
    def __init__(self, store, catalog: Catalog, incidents: IncidentService, now: Callable[[], datetime],
                 publish, config_dir: Path | None) -> None:  # fmt: skip
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        self._config_dir = config_dir
        self._model: ImpactModel | None = None
        self._incidents = incidents
        incidents.impact_rules = self  # declare and set_severity ask this service (one transaction each)

    @property
    def model(self) -> ImpactModel:
        """Read on first use, so a malformed impact.toml is said when impact is used, not at start-up."""
        if self._model is None:
            self._model = load_impact_model(self._catalog, self._config_dir)
        return self._model

    def reload(self) -> ImpactModel:
        self._model = None
        return self.model

    def propose(self, raw: dict[str, Any] | ImpactInputs | None) -> Proposal:
        inputs = raw if isinstance(raw, ImpactInputs) else ImpactInputs.of(raw)
        return self.model.propose(inputs)

    # -- on an incident ------------------------------------------------------------------
    def show(self, ref: str) -> ImpactView:
        with self._store.read() as s:
            inc = self._incidents._load(s, ref)
            row = _row(s, inc.id)
            if row is None:
                return ImpactView(inc.key, inc.severity, {}, None, Proposal(None).explanation, None, None, None)
            return ImpactView(inc.key, inc.severity, dict(row.inputs or {}), row.proposed_severity, row.explanation,
                              row.first_proposed_severity, row.recorded_by, row.updated_at)  # fmt: skip

    def record(self, ref: str, raw: dict[str, Any], *, author: str, replace: bool = False) -> ImpactView:
        """Record (or update) the impact on an open incident. The given inputs are merged over those
        recorded, unless `replace`; each change is one timeline entry with the new proposal."""
        author = _clean_author(author)
        given = ImpactInputs.of(raw)
        now = self._now()
        with self._store.transaction() as s:
            inc = self._incidents._load(s, ref)
            if not Status(inc.status).is_open:
                raise ValidationError(f"{inc.key} is {Status(inc.status).label}; reopen it to change its impact.")
            row = _row(s, inc.id)
            before = dict(row.inputs or {}) if row is not None else {}
            merged = given.as_dict() if replace else {**before, **given.as_dict()}
            if row is not None and merged == before:
                raise ValidationError(f"{inc.key}'s impact is already {describe_inputs(given)}.")
            self.write(s, inc, ImpactInputs.of(merged), author=author, now=now)
        self._publish(Topic.INCIDENT, inc.id, None)
        return self.show(ref)

    def write(self, s: Session, inc: Incident, inputs: ImpactInputs, *, author: str, now: datetime) -> Proposal:
        """In the caller's transaction: the row and its timeline entry."""
        proposal = self.model.propose(inputs)
        row = _row(s, inc.id)
        if row is None:
            row = IncidentImpact(incident_id=inc.id, first_proposed_severity=proposal.severity)
            s.add(row)
        row.inputs = inputs.as_dict()
        row.proposed_severity = proposal.severity
        row.explanation = proposal.explanation
        row.recorded_by = author
        row.updated_at = now
        inc.updated_at = now
        s.flush()
        against = proposal.severity is not None and proposal.severity != inc.severity
        body = f"Impact recorded: {describe_inputs(inputs)}. Proposed {proposal.explanation}" + (
            f" (severity is {inc.severity}; the commander decides)" if against else ""
        )
        append_entry(s, inc.id, EntryKind.IMPACT_CHANGE, body, author=author, now=now,
                     data={"impact": inputs.as_dict(), "proposed": proposal.severity,
                           "explanation": proposal.explanation},
                     hooks=self._store.entry_hooks)  # fmt: skip
        return proposal

    # -- the rule IncidentService asks about --------------------------------------------
    def check_declared(self, raw: dict[str, Any] | None, severity: str, reason: str | None) -> dict[str, Any]:
        """Before a declaration: the proposal for the impact given, refused when the chosen severity is
        not the proposal and no reason is given. What the declaration entry records of it."""
        if not raw:
            return {}
        proposal = self.propose(raw)
        return _against(proposal.severity, proposal.explanation, severity, reason, "Declaring", "severity_reason")

    def check_change(self, s: Session, inc: Incident, severity: str, reason: str | None) -> dict[str, Any]:
        row = _row(s, inc.id)
        if row is None or row.proposed_severity is None:
            return {}
        return _against(row.proposed_severity, row.explanation, severity, reason, f"Setting {inc.key} to", "reason")

    def write_declared(self, s: Session, inc: Incident, raw: dict[str, Any] | None, *, author: str,
                       now: datetime) -> None:  # fmt: skip
        if raw:
            self.write(s, inc, ImpactInputs.of(raw), author=author, now=now)


def _against(proposed: str | None, explanation: str, severity: str, reason: str | None, doing: str,
             field: str) -> dict[str, Any]:
    if proposed is None:
        return {}
    data: dict[str, Any] = {"proposed": proposed, "explanation": explanation}
    if proposed != severity:
        if not (reason or "").strip():
            raise ValidationError(
                f"{doing} {severity} goes against the impact model's proposal ({explanation}). "
                "Say why: the reason is recorded.",
                field=field,
            )
        data["against_proposal"] = True
        data["severity_reason"] = reason.strip()
    return data


def _row(s: Session, incident_id: str) -> IncidentImpact | None:
    return s.scalars(select(IncidentImpact).where(IncidentImpact.incident_id == incident_id)).first()
