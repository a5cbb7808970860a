"""How each runbook is used: in incidents and in drills, success, time per step, skipped and failed steps,
incidents of its services where it was not used; when it was last drilled and reviewed; what needs attention.

Drills have no incident, so nothing here reaches the incident metrics; here they count as uses of the runbook.
"""

from __future__ import annotations

import statistics
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from models.entities import Incident, RunbookRun, RunbookStepEvent
from services.runbooks.document import Runbook
from services.runbooks.service import DONE, FAILED, PASSED, SKIPPED, RunbookService

_RESULTS = (PASSED, FAILED, DONE, "chosen")


@dataclass(frozen=True)
class StepUsage:
    number: int
    title: str
    runs: int
    skipped: int
    failed: int
    median_s: float | None


@dataclass(frozen=True)
class RunbookUsage:
    runbook: Runbook
    incident_uses: int
    drills: int
    completed: int
    finished: int
    last_drilled: datetime | None
    last_reviewed: datetime | None
    drill_overdue: bool
    review_overdue: bool
    incidents_not_used: tuple[str, ...]  # incident keys of its services and types where it was not run
    open_findings: tuple[str, ...]
    steps: tuple[StepUsage, ...]

    @property
    def success_rate(self) -> float | None:
        return self.completed / self.finished if self.finished else None

    @property
    def flags(self) -> tuple[str, ...]:
        out = []
        if self.drill_overdue:
            out.append("drill overdue" if self.last_drilled else "never drilled")
        if self.review_overdue:
            out.append("review overdue")
        if self.open_findings:
            out.append(f"{len(self.open_findings)} open finding(s)")
        if self.incidents_not_used:
            out.append(f"not used in {len(self.incidents_not_used)} incident(s)")
        rate = self.success_rate
        if rate is not None and rate < 0.8:
            out.append(f"success {rate:.0%}")
        return tuple(out)

    @property
    def attention(self) -> tuple:
        """Sort key, most in need of attention first: findings, overdue drill, review, failures, gaps."""
        rate = self.success_rate if self.success_rate is not None else 1.0
        return (-len(self.open_findings), not self.drill_overdue, not self.review_overdue, rate,
                -len(self.incidents_not_used), self.runbook.title.lower())  # fmt: skip


def last_reviewed(path: Path) -> datetime | None:
    """The file's last commit in git (the review is an edit or a re-commit); outside git its modification."""
    try:
        done = subprocess.run(["git", "-C", str(path.parent), "log", "-1", "--format=%cI", "--", path.name],
                              capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
        if done.returncode == 0 and done.stdout.strip():
            return datetime.fromisoformat(done.stdout.strip()).astimezone(UTC)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        pass
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def usage(service: RunbookService, now: datetime) -> list[RunbookUsage]:
    """Every runbook in the library, most in need of attention first."""
    runbooks = service.library.runbooks()
    with service._store.read() as s:
        runs = list(s.scalars(select(RunbookRun)))
        events = list(s.scalars(select(RunbookStepEvent).order_by(RunbookStepEvent.id)))
        incidents = list(s.execute(select(Incident.id, Incident.number, Incident.services, Incident.incident_type,
                                          Incident.is_exercise)))  # fmt: skip
    by_run = defaultdict(list)
    for ev in events:
        by_run[ev.run_id].append(ev)
    out = [_one(service, rb, [r for r in runs if r.runbook == rb.slug], by_run, incidents, now) for rb in runbooks]
    return sorted(out, key=lambda u: u.attention)


def _one(service, rb: Runbook, runs, by_run, incidents, now: datetime) -> RunbookUsage:
    drills = [r for r in runs if r.incident_id is None]
    used_in = {r.incident_id for r in runs if r.incident_id}
    finished = [r for r in runs if r.outcome in ("completed", "failed", "abandoned")]
    last_drill = max((r.started_at for r in drills), default=None)
    reviewed = last_reviewed(rb.path)
    not_used = tuple(
        f"INC-{number:04d}" for inc_id, number, services, itype, exercise in incidents
        if not exercise and inc_id not in used_in and any(rb.applies_to(x, itype) for x in (services or []))
    )  # fmt: skip
    per_step: dict[int, dict] = {s.number: {"runs": 0, "skipped": 0, "failed": 0, "times": []} for s in rb.steps}
    for run in runs:
        started: dict[int, datetime] = {}
        for ev in by_run.get(run.id, []):
            if ev.step not in per_step:
                continue
            row = per_step[ev.step]
            if ev.event == "started" and not (ev.data or {}).get("dry_run"):
                started[ev.step] = ev.at
            elif ev.event in _RESULTS:
                row["runs"] += 1
                row["failed"] += ev.event == FAILED
                if ev.step in started:
                    row["times"].append((ev.at - started.pop(ev.step)).total_seconds())
            elif ev.event == SKIPPED:
                row["skipped"] += 1
    steps = tuple(
        StepUsage(s.number, s.title, per_step[s.number]["runs"], per_step[s.number]["skipped"],
                  per_step[s.number]["failed"],
                  statistics.median(per_step[s.number]["times"]) if per_step[s.number]["times"] else None)
        for s in rb.steps
    )  # fmt: skip
    return RunbookUsage(
        runbook=rb, incident_uses=len(runs) - len(drills), drills=len(drills),
        completed=sum(r.outcome == "completed" for r in finished), finished=len(finished),
        last_drilled=last_drill, last_reviewed=reviewed,
        drill_overdue=last_drill is None or now - last_drill > rb.drill_interval,
        review_overdue=reviewed is None or now - reviewed > rb.review_interval,
        incidents_not_used=not_used,
        open_findings=tuple(text for text, _by, _at in service.open_findings(rb)),
        steps=steps,
    )  # fmt: skip


def most_skipped_or_failed(u: RunbookUsage, top: int = 3) -> list[str]:
    counts = Counter({f"step {s.number} '{s.title}'": s.skipped + s.failed for s in u.steps})
    return [f"{name} ({n})" for name, n in counts.most_common(top) if n]
