"""The practices the record can answer: each measure reads the store (one period of it) and says how many
cases it counted, how many met the practice, and which records are the evidence (incident keys, review
and action-item keys, runbooks, exercise folders), so a reader can open each one and check.

Exercise incidents are left out of every incident measure (an exercise is practice, not performance);
they count as practice in `exercises_held`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models.entities import (
    ActionItem,
    CommsLogEntry,
    Incident,
    PostIncidentReview,
    RegulatoryClock,
    RoleAssignment,
)
from models.types import as_utc
from services.exercises.workspace import Workspace
from services.runbooks.usage import usage as runbook_usage


@dataclass(frozen=True)
class Evidence:
    ref: str  # what a reader opens: an incident key, ACT-0007, a runbook, an exercise folder
    ok: bool
    note: str


@dataclass(frozen=True)
class Finding:
    counted: int  # cases looked at (for a count measure: the count itself)
    met: int
    value: float | None  # the share met (0-1), or the count; None when there was nothing to count
    summary: str  # one line for a person: "7 of 9 SEV1 had a commander within 5 min"
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)


@dataclass
class RecordWindow:
    """What the measures read, loaded once per assessment: the period's incidents and what hangs off them."""

    sitrep: Any
    data_dir: Any
    config_dir: Any
    now: datetime
    since: datetime
    _cache: dict[str, Any] = field(default_factory=dict)

    def _once(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def incidents(self) -> list[Incident]:
        def load():
            with self.sitrep.store.read() as s:
                rows = list(s.scalars(select(Incident).where(Incident.is_exercise.is_(False))))
                s.expunge_all()
            return [i for i in rows if _start(i) is not None and _start(i) >= self.since]

        return self._once("incidents", load)

    def by_id(self) -> dict[str, Incident]:
        return self._once("by_id", lambda: {i.id: i for i in self.incidents()})

    def table(self, model) -> list[Any]:
        def load():
            ids = self.by_id()
            with self.sitrep.store.read() as s:
                rows = [r for r in s.scalars(select(model)) if r.incident_id in ids]
                s.expunge_all()
            return rows

        return self._once(model.__tablename__, load)


def _start(inc: Incident) -> datetime | None:
    for value in (inc.declared_at, inc.detected_at, inc.impact_started_at, inc.created_at):
        if value is not None:
            return as_utc(value)
    return None


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (as_utc(b) - as_utc(a)).total_seconds() / 60


def _share(checks: list[Evidence], what: str, left_out: int = 0, lacking: str = "") -> Finding:
    met = sum(1 for e in checks if e.ok)
    n = len(checks)
    note = f"; {left_out} imported incident(s) left out: their source recorded no {lacking}" if left_out else ""
    if not n:
        return Finding(0, 0, None, f"no {what} in the period to count{note}")
    return Finding(n, met, met / n, f"{met} of {n} {what}{note}", tuple(sorted(checks, key=lambda e: (e.ok, e.ref))))


def _imported(inc: Incident) -> bool:
    """History from another tool: it never passed through Sitrep's roles, comms or reviews."""
    return inc.source != "local"


def _sev(p: dict[str, Any]) -> tuple[str, ...]:
    return tuple(p.get("severities") or ())


def _of_severities(w: RecordWindow, p: dict[str, Any]) -> list[Incident]:
    sevs = _sev(p)
    return [i for i in w.incidents() if not sevs or i.severity in sevs]


def _sev_text(p: dict[str, Any]) -> str:
    return "/".join(_sev(p)) + " incidents" if _sev(p) else "incidents"


def commander_in_time(w: RecordWindow, p: dict[str, Any]) -> Finding:
    checks, left_out = [], 0
    for inc in _of_severities(w, p):
        level = w.sitrep.catalog.severities.get(inc.severity)
        if level is None or level.commander_within_min is None or inc.declared_at is None:
            continue
        if inc.ic_assigned_at is None and _imported(inc):
            left_out += 1
            continue
        took = _minutes(inc.declared_at, inc.ic_assigned_at)
        limit = level.commander_within_min
        if took is None:
            checks.append(Evidence(inc.key, False, f"no commander on record (clock {limit} min)"))
        else:
            checks.append(Evidence(inc.key, took <= limit, f"commander after {took:.0f} min (clock {limit} min)"))
    return _share(checks, f"{_sev_text(p)} had a commander within the matrix's clock", left_out, "commander time")


def first_update_in_time(w: RecordWindow, p: dict[str, Any]) -> Finding:
    audiences = w.sitrep.comms.settings.audiences
    first: dict[str, datetime] = {}
    for row in w.table(CommsLogEntry):
        aud = audiences.get(row.audience)
        if row.direction != "outbound" or row.kind != "message" or aud is None or not aud.external:
            continue
        when = as_utc(row.occurred_at)
        if row.incident_id not in first or when < first[row.incident_id]:
            first[row.incident_id] = when
    checks, left_out = [], 0
    for inc in _of_severities(w, p):
        level = w.sitrep.catalog.severities.get(inc.severity)
        if level is None or level.first_external_update_min is None or inc.declared_at is None:
            continue
        if _imported(inc) and inc.id not in first:
            left_out += 1
            continue
        limit = level.first_external_update_min
        took = _minutes(inc.declared_at, first.get(inc.id))
        if took is None:
            checks.append(Evidence(inc.key, False, f"no external message on record (clock {limit} min)"))
        else:
            checks.append(Evidence(inc.key, took <= limit, f"first external message after {took:.0f} min "
                                                           f"(clock {limit} min)"))  # fmt: skip
    return _share(checks, f"{_sev_text(p)} sent the first external update within the matrix's clock", left_out,
                  "messages")


def declared_promptly(w: RecordWindow, p: dict[str, Any]) -> Finding:
    limit = float(p.get("minutes", 60))
    checks = []
    for inc in _of_severities(w, p):
        took = _minutes(inc.detected_at, inc.declared_at)
        if took is None:
            continue
        checks.append(Evidence(inc.key, took <= limit, f"declared {took:.0f} min after detection"))
    return _share(checks, f"{_sev_text(p)} were declared within {limit:g} min of detection")


def roles_filled(w: RecordWindow, p: dict[str, Any]) -> Finding:
    wanted = tuple(p.get("roles") or ("IC",))
    held: dict[str, set[str]] = defaultdict(set)
    for ra in w.table(RoleAssignment):
        held[ra.incident_id].add(ra.role)
    checks, left_out = [], 0
    for inc in _of_severities(w, p):
        if inc.declared_at is None:  # never formally declared: nobody was assigned
            continue
        if _imported(inc) and not held[inc.id]:
            left_out += 1
            continue
        missing = [r for r in wanted if r not in held[inc.id]]
        checks.append(Evidence(inc.key, not missing, "all of " + ", ".join(wanted) if not missing
                               else "no " + ", ".join(missing)))  # fmt: skip
    return _share(checks, f"{_sev_text(p)} had {', '.join(wanted)} assigned", left_out, "roles")


def handover_recorded(w: RecordWindow, p: dict[str, Any]) -> Finding:
    hours = float(p.get("hours", 4))
    briefs: dict[str, int] = defaultdict(int)
    for ra in w.table(RoleAssignment):
        if ra.role == "IC" and ra.handover_brief:
            briefs[ra.incident_id] += 1
    checks, left_out = [], 0
    for inc in _of_severities(w, p):
        if _imported(inc):
            left_out += 1
            continue
        end = inc.resolved_at or (None if inc.declared_at is None else w.now)
        length = _minutes(inc.declared_at, end)
        if length is None or length < hours * 60:
            continue
        n = briefs.get(inc.id, 0)
        checks.append(Evidence(inc.key, n > 0, f"{length / 60:.1f} h long, {n} command handover(s) with a brief"))
    return _share(checks, f"{_sev_text(p)} longer than {hours:g} h handed command over with a brief", left_out,
                  "command handovers")


def mitigated_within(w: RecordWindow, p: dict[str, Any]) -> Finding:
    hours = float(p.get("hours", 4))
    checks = []
    for inc in _of_severities(w, p):
        start = inc.impact_started_at or inc.detected_at
        end = inc.mitigated_at or inc.resolved_at
        took = _minutes(start, end)
        if start is None:
            continue
        if took is None:
            open_for = _minutes(start, w.now) or 0
            if open_for > hours * 60:
                checks.append(Evidence(inc.key, False, f"not mitigated after {open_for / 60:.1f} h"))
            continue
        checks.append(Evidence(inc.key, took <= hours * 60, f"mitigated after {took / 60:.1f} h"))
    return _share(checks, f"{_sev_text(p)} were mitigated within {hours:g} h")


def reviews_opened(w: RecordWindow, p: dict[str, Any]) -> Finding:
    reviewed = {r.incident_id for r in w.table(PostIncidentReview)}
    checks = []
    for i in _of_severities(w, p):
        if i.resolved_at is None:
            continue
        if i.id in reviewed:
            checks.append(Evidence(i.key, True, "review on record"))
        elif _imported(i) and i.closed_at is not None:  # imported: Closed is the postmortem published
            checks.append(Evidence(i.key, True, "postmortem closed in its source"))
        else:
            checks.append(Evidence(i.key, False, "no review"))
    return _share(checks, f"resolved {_sev_text(p)} have a post-incident review")


def _reviews(w: RecordWindow) -> list[tuple[PostIncidentReview, Incident]]:
    by_id = w.by_id()
    return [(r, by_id[r.incident_id]) for r in w.table(PostIncidentReview)]


def _review_clock(w: RecordWindow, stamp: str, limit: timedelta, done: str, not_done: str) -> list[Evidence]:
    """Each review by when its `stamp` (meeting held, published) came after it opened; one still without it
    counts as missed once `limit` has passed, and not at all before (neither met nor missed yet)."""
    checks = []
    for r, inc in _reviews(w):
        opened = as_utc(r.opened_at)
        at = getattr(r, stamp)
        if at is None:
            if w.now - opened > limit:
                checks.append(Evidence(inc.key, False, f"{not_done}, {(w.now - opened).days} day(s) on"))
            continue
        took = as_utc(at) - opened
        shown = f"{took.total_seconds() / 3600:.0f} h" if limit < timedelta(days=3) else f"{took.total_seconds() / 86400:.1f} day(s)"
        checks.append(Evidence(inc.key, took <= limit, f"{done} after {shown}"))
    return checks


def review_meeting_within(w: RecordWindow, p: dict[str, Any]) -> Finding:
    hours = float(p.get("hours", 48))
    checks = _review_clock(w, "meeting_held_at", timedelta(hours=hours), "meeting held", "no meeting held")
    return _share(checks, f"review meetings held within {hours:g} h")


def review_published_within(w: RecordWindow, p: dict[str, Any]) -> Finding:
    days = float(p.get("days", 7))
    checks = _review_clock(w, "published_at", timedelta(days=days), "published", "not published")
    reviewed = {r.incident_id for r in w.table(PostIncidentReview)}
    for inc in w.incidents():  # imported history: Closed is the postmortem published, counted from resolved
        if _imported(inc) and inc.id not in reviewed and inc.closed_at is not None and inc.resolved_at is not None:
            took = _minutes(inc.resolved_at, inc.closed_at) or 0
            checks.append(Evidence(inc.key, took <= days * 1440, f"postmortem closed {took / 1440:.1f} day(s) "
                                                                  "after resolution (in its source)"))  # fmt: skip
    return _share(checks, f"reviews published within {days:g} days")


def actions_on_time(w: RecordWindow, p: dict[str, Any]) -> Finding:
    today = w.now.date()
    checks = []
    for a in w.table(ActionItem):
        if not a.due_on or a.status == "wont_do":
            continue
        due = date.fromisoformat(a.due_on)
        if a.status == "done" and a.done_at is not None:
            done = as_utc(a.done_at).date()
            checks.append(Evidence(a.key, done <= due, f"done {done}, due {due}"))
        elif due < today:
            checks.append(Evidence(a.key, False, f"open, due {due} ({(today - due).days} day(s) late)"))
    return _share(checks, "action items with a due date that have come were done by it")


def actions_owned(w: RecordWindow, p: dict[str, Any]) -> Finding:
    checks = []
    for a in w.table(ActionItem):
        if a.status == "wont_do":
            continue
        missing = [name for name, v in (("owner", a.owner), ("due date", a.due_on)) if not v]
        checks.append(Evidence(a.key, not missing, "owner and due date" if not missing else "no " + " or ".join(missing)))
    return _share(checks, "action items have an owner and a due date")


def regulatory_met(w: RecordWindow, p: dict[str, Any]) -> Finding:
    by_id = w.by_id()
    checks = []
    for c in w.table(RegulatoryClock):
        key = by_id[c.incident_id].key
        if c.met_at is not None and c.deadline_at is not None:
            ok = as_utc(c.met_at) <= as_utc(c.deadline_at)
            checks.append(Evidence(key, ok, f"{c.label}: {'met' if ok else 'met late'}"))
        elif c.deadline_at is not None and as_utc(c.deadline_at) < w.now and c.state == "running":
            checks.append(Evidence(key, False, f"{c.label}: {c.state}, deadline passed"))
    return _share(checks, "regulatory clocks were met by their deadline")


def exercises_held(w: RecordWindow, p: dict[str, Any]) -> Finding:
    days = int(p.get("days", 183))
    since = w.now - timedelta(days=days)
    found = []
    if w.data_dir is not None:
        for folder in Workspace(w.data_dir, w.config_dir).folders():
            held = _parse(folder.created_at)
            if held is not None and held >= since:
                state = "ended" if folder.ended_at else "running"
                found.append(Evidence(f"exercise {folder.name}", True, f"{folder.title}, {held:%Y-%m-%d} ({state})"))
    with w.sitrep.store.read() as s:
        drills = list(s.execute(select(Incident.key, Incident.title, Incident.declared_at, Incident.detected_at)
                                .where(Incident.is_exercise.is_(True))))  # fmt: skip
    for key, title, declared, detected in drills:
        held = as_utc(declared or detected) if (declared or detected) else None
        if held is not None and held >= since:
            found.append(Evidence(key, True, f"drill: {title}, {held:%Y-%m-%d}"))
    n = len(found)
    return Finding(n, n, n, f"{n} exercise(s) or drill(s) in the last {days} days", tuple(found))


def runbooks_drilled(w: RecordWindow, p: dict[str, Any]) -> Finding:
    checks = []
    for u in runbook_usage(w.sitrep.runbooks, w.now):
        last = f"last drilled {u.last_drilled:%Y-%m-%d}" if u.last_drilled else "never drilled"
        checks.append(Evidence(f"runbook {u.runbook.slug}", not u.drill_overdue, last))
    return _share(checks, "runbooks were drilled within their drill interval")


def _parse(text: str | None) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MEASURES: dict[str, Callable[[RecordWindow, dict[str, Any]], Finding]] = {
    f.__name__: f
    for f in (commander_in_time, first_update_in_time, declared_promptly, roles_filled, handover_recorded,
              mitigated_within, reviews_opened, review_meeting_within, review_published_within, actions_on_time,
              actions_owned, regulatory_met, exercises_held, runbooks_drilled)  # fmt: skip
}
