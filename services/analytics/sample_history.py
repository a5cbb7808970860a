"""A made-up but realistic incident history, for demos, charts and benchmarks.

Incidents arrive at random over the period, land on one to three services, and take lognormal times to
detect, acknowledge, mitigate and resolve (heavier for the worse severities, and slowly getting better over
the period, as a team that learns would). Some records are incomplete the way real ones are: impact start
unknown, no acknowledgement recorded, still open. A few are drills.

`write_csv` writes them in the column layout `sitrep import-history` reads without a mapping.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from models.enums import Milestone
from models.types import iso

SERVICES = (
    ("checkout", 14),
    ("payments", 12),
    ("api-gateway", 12),
    ("search", 9),
    ("auth", 9),
    ("orders", 8),
    ("catalog", 7),
    ("notifications", 6),
    ("cdn", 5),
    ("data-pipeline", 5),
    ("mobile-backend", 4),
    ("billing", 4),
)
SEVERITIES = (("SEV1", 4), ("SEV2", 14), ("SEV3", 40), ("SEV4", 30), ("SEV5", 12))
TYPES = (
    ("service_outage", 30),
    ("degraded_performance", 35),
    ("change_failure", 15),
    ("vendor_outage", 8),
    ("security", 4),
    ("data_loss", 2),
    ("other", 6),
)
SYMPTOMS = (
    "elevated 5xx error rate",
    "p99 latency above SLO",
    "requests timing out",
    "login failures for some users",
    "stale data served",
    "queue backlog growing",
    "certificate expired on an edge node",
    "database connection pool exhausted",
    "bad deploy rolled back",
    "third-party provider degraded",
    "memory leak after release",
    "DNS resolution failures",
    "webhooks delayed",
    "partial outage in one region",
)
# Median minutes for each step, by severity: the worse the severity, the faster people move but the longer the
# repair takes.
_MEDIANS = {
    "SEV1": {"detect": 4, "ack": 2, "mitigate": 45, "resolve": 90},
    "SEV2": {"detect": 7, "ack": 4, "mitigate": 55, "resolve": 120},
    "SEV3": {"detect": 15, "ack": 8, "mitigate": 70, "resolve": 180},
    "SEV4": {"detect": 30, "ack": 20, "mitigate": 120, "resolve": 300},
    "SEV5": {"detect": 60, "ack": 45, "mitigate": 240, "resolve": 600},
}
CSV_COLUMNS = (
    "ref",
    "title",
    "services",
    "severity",
    "type",
    "affected_users",
    "exercise",
    *(m.value for m in Milestone if m not in (Milestone.IC_ASSIGNED, Milestone.BRIDGE_OPENED)),
)


@dataclass(frozen=True)
class SampleIncident:
    ref: str
    title: str
    services: tuple[str, ...]
    severity: str
    incident_type: str
    affected_users: int | None
    is_exercise: bool
    milestones: dict[Milestone, datetime | None]


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _lognormal_minutes(rng: random.Random, median: float, sigma: float = 0.8) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def generate(
    count: int,
    *,
    seed: int = 7,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[SampleIncident]:
    """`count` incidents spread over [start, end), oldest first. The same seed gives the same history."""
    rng = random.Random(seed)
    # The cause-identified times come from their own stream, so adding them left every other value as it was.
    cause_rng = random.Random(f"{seed}:identified")
    end = end or datetime(2026, 3, 1, tzinfo=UTC)
    start = start or end - timedelta(days=730)
    span = (end - start).total_seconds()
    times = sorted(rng.random() * span for _ in range(count))
    out: list[SampleIncident] = []
    for n, offset in enumerate(times, start=1):
        began = start + timedelta(seconds=offset)
        progress = offset / span  # 0 at the start of the period, 1 at its end
        learning = 1.0 - 0.35 * progress  # the team gets about a third faster over the period
        severity = _pick(rng, SEVERITIES)
        med = _MEDIANS[severity]
        k = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        services: list[str] = []
        while len(services) < k:
            s = _pick(rng, SERVICES)
            if s not in services:
                services.append(s)
        detected = began + timedelta(minutes=_lognormal_minutes(rng, med["detect"] * learning))
        acked = detected + timedelta(minutes=_lognormal_minutes(rng, med["ack"] * learning, 0.9))
        declared = detected + timedelta(minutes=_lognormal_minutes(rng, med["ack"] * 1.5 * learning, 0.6))
        mitigated = max(began + timedelta(minutes=_lognormal_minutes(rng, med["mitigate"] * learning)), acked)
        resolved = mitigated + timedelta(
            minutes=_lognormal_minutes(rng, (med["resolve"] - med["mitigate"]) * learning)
        )
        resolved = max(resolved, declared)
        closed = resolved + timedelta(days=rng.uniform(1, 12)) if rng.random() < 0.6 else None
        # Many post-mortems never say when the cause was found; when they do, it lies between ack and mitigation.
        identified = (
            acked + (mitigated - acked) * cause_rng.uniform(0.2, 0.9) if cause_rng.random() < 0.75 else None
        )
        milestones: dict[Milestone, datetime | None] = {m: None for m in Milestone}
        milestones.update(
            {
                Milestone.IMPACT_STARTED: began,
                Milestone.DETECTED: detected,
                Milestone.DECLARED: declared,
                Milestone.ACKNOWLEDGED: acked,
                Milestone.IDENTIFIED: identified,
                Milestone.MITIGATED: mitigated,
                Milestone.RESOLVED: resolved,
                Milestone.CLOSED: closed,
            }
        )
        # Real records are incomplete.
        if rng.random() < 0.08:
            milestones[Milestone.IMPACT_STARTED] = None
        if rng.random() < 0.06:
            milestones[Milestone.ACKNOWLEDGED] = None
        if progress > 0.995 or rng.random() < 0.01:  # still open
            for m in (Milestone.IDENTIFIED, Milestone.MITIGATED, Milestone.RESOLVED, Milestone.CLOSED):
                milestones[m] = None
        if any(v is not None and v >= end for v in milestones.values()):
            for m in (Milestone.IDENTIFIED, Milestone.MITIGATED, Milestone.RESOLVED, Milestone.CLOSED):
                milestones[m] = None
        users = None
        if rng.random() < 0.7:
            users = int(_lognormal_minutes(rng, {"SEV1": 40000, "SEV2": 8000}.get(severity, 600), 1.2)) + 1
        out.append(
            SampleIncident(
                ref=f"SAMPLE-{seed}-{n:06d}",
                title=f"{services[0].replace('-', ' ').title()}: {rng.choice(SYMPTOMS)}",
                services=tuple(services),
                severity=severity,
                incident_type=_pick(rng, TYPES),
                affected_users=users,
                is_exercise=rng.random() < 0.03,
                milestones=milestones,
            )
        )
    return out


def csv_rows(incidents: Iterable[SampleIncident]) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for inc in incidents:
        ms = {m.value: iso(v) or "" for m, v in inc.milestones.items()}
        yield [
            inc.ref,
            inc.title,
            ";".join(inc.services),
            inc.severity,
            inc.incident_type,
            "" if inc.affected_users is None else str(inc.affected_users),
            "yes" if inc.is_exercise else "no",
            *(ms[c] for c in CSV_COLUMNS[7:]),
        ]


def write_csv(incidents: Iterable[SampleIncident], path: Path) -> Path:
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(csv_rows(incidents))
    return Path(path)
