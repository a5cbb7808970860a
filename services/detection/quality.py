"""The alert-quality view: which sources and rules send alerts that miss the metadata standard, how
often each rule fires and how often triage found its alerts to be incidents or noise, which services'
incidents were found by people rather than alerts, and which critical services no rule covers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from models.entities import Alert, Incident, TriageWalk
from services.detection.metadata import ServiceMap

A = Alert.__table__
T = TriageWalk.__table__
I = Incident.__table__  # noqa: E741


@dataclass(frozen=True)
class RuleQuality:
    source: str
    rule: str
    alerts: int
    fired: int
    missing: tuple[str, ...]  # problems seen on its alerts
    incidents: int
    noise: int
    tickets: int

    @property
    def false_positive_rate(self) -> float | None:
        judged = self.incidents + self.noise
        return self.noise / judged if judged else None


@dataclass(frozen=True)
class QualityReport:
    rules: tuple[RuleQuality, ...]
    detection_gaps: tuple[tuple[str, int, int], ...]  # service, incidents found by people, incidents in all
    uncovered: tuple[str, ...]

    @property
    def with_missing_labels(self) -> tuple[RuleQuality, ...]:
        return tuple(r for r in self.rules if r.missing)


def quality_report(conn, services: ServiceMap) -> QualityReport:
    per_rule: dict[tuple[str, str], dict] = {}
    for r in conn.execute(select(A.c.source, A.c.rule, A.c.fire_count, A.c.problems)):
        entry = per_rule.setdefault((r.source, r.rule), {"alerts": 0, "fired": 0, "missing": set()})
        entry["alerts"] += 1
        entry["fired"] += r.fire_count
        entry["missing"].update(r.problems or ())
    verdicts: dict[str, dict[str, int]] = {}
    for w in conn.execute(select(T.c.rules, T.c.verdict)):
        for rule in w.rules or ():
            counts = verdicts.setdefault(rule, {"incident": 0, "noise": 0, "ticket": 0})
            counts[w.verdict] = counts.get(w.verdict, 0) + 1
    rules = tuple(
        RuleQuality(source, rule, e["alerts"], e["fired"], tuple(sorted(e["missing"])),
                    verdicts.get(rule, {}).get("incident", 0), verdicts.get(rule, {}).get("noise", 0),
                    verdicts.get(rule, {}).get("ticket", 0))  # fmt: skip
        for (source, rule), e in sorted(per_rule.items(), key=lambda kv: (-kv[1]["fired"], kv[0]))
    )
    with_alerts = {r[0] for r in conn.execute(select(A.c.incident_id).where(A.c.incident_id.is_not(None)).distinct())}
    gaps: dict[str, list[int]] = {}
    for inc in conn.execute(select(I.c.id, I.c.services).where(I.c.is_exercise.is_(False))):
        for svc in inc.services or ["(no service)"]:
            counts = gaps.setdefault(svc, [0, 0])
            counts[1] += 1
            if inc.id not in with_alerts:
                counts[0] += 1
    seen = {r[0] for r in conn.execute(select(A.c.service).where(A.c.service.is_not(None)).group_by(A.c.service))}
    uncovered = tuple(s for s in services.critical_services() if s not in seen)
    detection = tuple(sorted(((s, c[0], c[1]) for s, c in gaps.items() if c[0]), key=lambda t: (-t[1], t[0])))
    return QualityReport(rules, detection, uncovered)


def total_alerts(conn) -> int:
    return conn.execute(select(func.count()).select_from(A)).scalar() or 0
