"""Severity accuracy: for each incident, the severity declared (initial), the severity it ended at (final)
and what the impact model proposed (first at declaration, and latest); the share that held, the moves up
and down, and how often the proposal was the commander's call. Definition text in resources/metrics.toml
([severity_accuracy]), overridable like the other metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models.entities import Incident, IncidentImpact, TimelineEntry
from models.enums import EntryKind
from resources import resource_path
from services.analytics.metrics_model import ANCHOR_MILESTONES, DEFINITIONS_FILE, MetricFilter, _read_toml
from services.errors import ValidationError
from services.record.catalog import UNKNOWN_SEVERITY, Catalog


@dataclass(frozen=True)
class AccuracyDefinition:
    label: str
    short: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class SeverityAccuracy:
    definition: AccuracyDefinition
    counted: int  # incidents with a known initial and final severity
    held: int  # final == initial
    raised: int  # final more severe than initial
    lowered: int
    mean_levels_moved: float | None  # mean |final - initial| in levels
    with_proposal: int  # incidents whose impact was recorded with a proposal
    final_matches_proposal: int  # final == the latest proposal
    initial_matches_first_proposal: int  # declared at what the model first proposed

    @staticmethod
    def share(part: int, whole: int) -> str:
        return f"{part / whole:.0%}" if whole else "—"

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.definition.label, "counted": self.counted, "held": self.held, "raised": self.raised,
                "lowered": self.lowered, "held_share": self.held / self.counted if self.counted else None,
                "mean_levels_moved": self.mean_levels_moved, "with_proposal": self.with_proposal,
                "final_matches_proposal": self.final_matches_proposal,
                "initial_matches_first_proposal": self.initial_matches_first_proposal}  # fmt: skip

    def text(self) -> str:
        d = self.definition
        if not self.counted:
            return f"{d.label} ({d.short}): nothing to measure — no incidents with a declared severity match the filter."
        moved = f"{self.mean_levels_moved:.2f}" if self.mean_levels_moved is not None else "—"
        lines = [f"{d.label} ({d.short}), {self.counted} incident(s): final = initial for {self.held} "
                 f"({self.share(self.held, self.counted)}); raised {self.raised}, lowered {self.lowered}; "
                 f"mean move {moved} level(s)."]  # fmt: skip
        if self.with_proposal:
            lines.append(f"  with impact recorded ({self.with_proposal}): final = proposal for "
                         f"{self.final_matches_proposal} ({self.share(self.final_matches_proposal, self.with_proposal)}); "
                         f"declared at the first proposal for {self.initial_matches_first_proposal} "
                         f"({self.share(self.initial_matches_first_proposal, self.with_proposal)}).")  # fmt: skip
        else:
            lines.append("  no incident has its impact recorded, so none is compared with a proposal.")
        return "\n".join(lines)


def load_accuracy_definition(config_dir: Path | None) -> AccuracyDefinition:
    raw = dict(_read_toml(resource_path(DEFINITIONS_FILE)).get("severity_accuracy", {}))
    user = Path(config_dir) / DEFINITIONS_FILE if config_dir is not None else None
    if user is not None and user.is_file():
        doc = _read_toml(user)
        extra = doc.get("severity_accuracy", {})
        if not isinstance(extra, dict):
            raise ValidationError(f"{user}: [severity_accuracy] must be a table.")
        raw.update(extra)
    return AccuracyDefinition(str(raw.get("label", "Severity accuracy")), str(raw.get("short", "SevAcc")),
                              str(raw.get("description", "")), raw.get("enabled", True) is not False)  # fmt: skip


def severity_accuracy(store, catalog: Catalog, flt: MetricFilter, config_dir: Path | None = None) -> SeverityAccuracy:
    definition = load_accuracy_definition(config_dir)
    declared_at: dict[str, str] = {}
    with store.read() as s:
        incidents = list(s.scalars(select(Incident)))
        # the severity each was declared at, from its declaration entry (seq 1)
        for incident_id, data in s.execute(
            select(TimelineEntry.incident_id, TimelineEntry.data).where(
                TimelineEntry.seq == 1, TimelineEntry.kind == EntryKind.STATUS_CHANGE.value)):  # fmt: skip
            if isinstance(data, dict) and data.get("severity"):
                declared_at[incident_id] = str(data["severity"])
        impacts = {row.incident_id: row for row in s.scalars(select(IncidentImpact))}
        wanted = [i for i in incidents if _counts(i, flt)]
        rank = {lv.id: lv.rank for lv in catalog.severities.values()}
        counted = held = raised = lowered = with_p = final_p = first_p = 0
        moved: list[int] = []
        for inc in wanted:
            initial, final = declared_at.get(inc.id), inc.severity
            if initial not in rank or final not in rank:
                continue
            counted += 1
            step = rank[initial] - rank[final]  # positive: final is more severe
            held += step == 0
            raised += step > 0
            lowered += step < 0
            moved.append(abs(step))
            impact = impacts.get(inc.id)
            if impact is not None and impact.proposed_severity:
                with_p += 1
                final_p += impact.proposed_severity == final
                first_p += impact.first_proposed_severity == initial
    mean = sum(moved) / len(moved) if moved else None
    return SeverityAccuracy(definition, counted, held, raised, lowered, mean, with_p, final_p, first_p)


def _counts(inc: Incident, flt: MetricFilter) -> bool:
    if inc.is_exercise and not flt.include_exercises:
        return False
    if inc.severity == UNKNOWN_SEVERITY:
        return False
    if flt.severities and inc.severity not in {s.upper() for s in flt.severities}:
        return False
    if flt.incident_types and inc.incident_type not in flt.incident_types:
        return False
    if flt.services and not set(flt.services) & set(inc.services or ()):
        return False
    happened = next((getattr(inc, m.column) for m in ANCHOR_MILESTONES if getattr(inc, m.column)), None)
    if flt.since and (happened is None or happened < flt.since):
        return False
    return not (flt.until and (happened is None or happened >= flt.until))
