"""Incidents: declaration, lifecycle, severity, major-incident flag, milestones and impact.

Every change writes its timeline entry in the same transaction as the change itself.

Longer than ~500 lines: each lifecycle change and its timeline entry are written in one transaction by one
service; the rules between them (reopen, de-escalate, milestones) are shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.entities import Incident
from models.enums import ALLOWED_TRANSITIONS, REOPEN_TARGETS, EntryKind, Milestone, Status
from models.types import as_utc, iso
from services.changes import Topic
from services.errors import InvalidTransition, NotFound, ValidationError
from services.record.catalog import UNKNOWN_SEVERITY, Catalog
from services.record.milestone_order import flagged_pairs_of, milestone_order_problem, still_flagged
from services.record.timeline import _clean_author, append_entry
from services.record.views import IncidentView
from services.text.limits import AFFECTED_USERS_MAX, SUMMARY_MAX, TITLE_MAX, check_text, count_problem
from services.text.time_range import check_live
from services.text.timetext import utc_text, utc_texts

# Status changes that stamp a milestone when it is not set yet.
_STATUS_MILESTONE = {
    Status.IDENTIFIED: Milestone.IDENTIFIED,
    Status.MITIGATED: Milestone.MITIGATED,
    Status.RESOLVED: Milestone.RESOLVED,
    Status.CLOSED: Milestone.CLOSED,
}

INCIDENT_TYPES = (
    "service_outage",
    "degraded_performance",
    "security",
    "ransomware",
    "data_breach",
    "data_loss",
    "vendor_outage",
    "change_failure",
    "other",
)


def parse_status(value: str | Status) -> Status:
    try:
        return Status(str(value).strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise ValidationError(f"Unknown status '{value}'. Use one of: {known}.", field="status") from None


def parse_milestone(value: str | Milestone) -> Milestone:
    try:
        return Milestone(str(value).strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        known = ", ".join(m.value for m in Milestone)
        raise ValidationError(
            f"Unknown milestone '{value}'. Use one of: {known}.", field="milestone"
        ) from None


class IncidentService:
    def __init__(self, store, catalog: Catalog, now: Callable[[], datetime], publish) -> None:
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        # An exercise's own store: whatever is declared in it is an exercise, whoever declares it.
        self.exercise_only = False
        # Checks a status change must pass, run in its transaction: (session, incident, target, author,
        # override_reason) -> None, raising to refuse (the resolution checklists register theirs).
        self.status_gates: list[Callable[..., None]] = []
        # The impact model's rule (services/governance/impact.py): a severity against its proposal says why.
        # Set by Sitrep; None leaves declaring and severity changes as they were.
        self.impact_rules: Any = None

    # -- reading -------------------------------------------------------------------------
    def get(self, ref: str) -> IncidentView:
        with self._store.read() as s:
            return IncidentView.of(self._load(s, ref))

    def list(
        self,
        *,
        statuses: Iterable[Status] | None = None,
        severities: Iterable[str] | None = None,
        service: str | None = None,
        open_only: bool = False,
        limit: int | None = None,
    ) -> list[IncidentView]:
        """Open incidents first, then by most recent declaration."""
        stmt = select(Incident)
        if statuses:
            stmt = stmt.where(Incident.status.in_([str(s) for s in statuses]))
        if open_only:
            stmt = stmt.where(Incident.status.not_in([Status.RESOLVED.value, Status.CLOSED.value]))
        if severities:
            stmt = stmt.where(Incident.severity.in_([self._catalog.severity(s).id for s in severities]))
        closed_last = Incident.status.in_([Status.RESOLVED.value, Status.CLOSED.value])
        stmt = stmt.order_by(closed_last, Incident.declared_at.desc(), Incident.number.desc())
        if limit and not service:
            stmt = stmt.limit(limit)
        with self._store.read() as s:
            rows = [IncidentView.of(i) for i in s.scalars(stmt)]
        if service:
            needle = service.strip().lower()
            rows = [r for r in rows if any(needle == sv.lower() for sv in r.services)]
        return rows[:limit] if limit else rows

    def _record(self, s: Session, inc: Incident, kind: EntryKind, body: str, **entry: Any) -> IncidentView:
        """Write the change's timeline entry in the change's own transaction; the incident as it now is."""
        inc.updated_at = entry["now"]
        append_entry(s, inc.id, kind, body, hooks=self._store.entry_hooks, **entry)
        return IncidentView.of(inc)

    @staticmethod
    def _load(session: Session, ref: str) -> Incident:
        """An incident by id, key (INC-0042) or number (42)."""
        ref = (ref or "").strip()
        stmt = select(Incident)
        if ref.upper().startswith("INC-"):
            stmt = stmt.where(Incident.key == ref.upper())
        elif ref.isdigit():
            stmt = stmt.where(Incident.number == int(ref))
        else:
            stmt = stmt.where(Incident.id == ref)
        inc = session.scalar(stmt)
        if inc is None:
            raise NotFound(f"No incident '{ref}'. `sitrep list` shows the incidents there are.")
        return inc

    # -- declaring -----------------------------------------------------------------------
    def declare(
        self,
        title: str,
        severity: str,
        *,
        author: str,
        summary: str = "",
        incident_type: str = "service_outage",
        services: Iterable[str] = (),
        is_major: bool | None = None,
        is_exercise: bool = False,
        affected_users: int | None = None,
        error_rate_pct: float | None = None,
        impact_started_at: datetime | None = None,
        detected_at: datetime | None = None,
        declared_at: datetime | None = None,
        impact: dict[str, Any] | None = None,
        severity_reason: str | None = None,
    ) -> IncidentView:
        """`impact`: the impact model's inputs known at declaration; a severity other than the one they
        propose needs `severity_reason`."""
        title = (title or "").strip()
        if not title:
            raise ValidationError(
                "An incident needs a title (e.g. 'Checkout: payments failing').", field="title"
            )
        if len(title) > TITLE_MAX:
            raise ValidationError(
                f"Keep the title under {TITLE_MAX} characters; put detail in the summary.", field="title"
            )
        check_text(title, field="title", label="The title", limit=TITLE_MAX, one_line=True)
        check_text(summary, field="summary", label="The summary", limit=SUMMARY_MAX)
        level = self._catalog.severity(severity)
        author = _clean_author(author)
        incident_type = (incident_type or "other").strip().lower()
        if incident_type not in INCIDENT_TYPES:
            raise ValidationError(
                f"Unknown incident type '{incident_type}'. Use one of: {', '.join(INCIDENT_TYPES)}.",
                field="incident_type",
            )
        _check_impact(affected_users, error_rate_pct)
        now = self._now()
        declared = as_utc(declared_at) if declared_at else now
        milestones = {
            Milestone.IMPACT_STARTED: as_utc(impact_started_at) if impact_started_at else None,
            Milestone.DETECTED: as_utc(detected_at) if detected_at else None,
            Milestone.DECLARED: declared,
        }
        for m, value in milestones.items():
            check_live(value, now, what=f"'{m.label}'", field=m.value, dated=False)
        problem = milestone_order_problem(milestones)
        if problem:
            raise ValidationError(problem, field="milestones")
        services = _clean_services(services)
        major = level.major if is_major is None else bool(is_major)
        is_exercise = bool(is_exercise) or self.exercise_only
        rules = self.impact_rules
        judged = rules.check_declared(impact, level.id, severity_reason) if rules and impact else {}
        with self._store.transaction() as s:
            number = (s.scalar(select(func.max(Incident.number))) or 0) + 1
            inc = Incident(
                number=number,
                key=f"INC-{number:04d}",
                title=title,
                summary=(summary or "").strip(),
                incident_type=incident_type,
                severity=level.id,
                status=Status.DECLARED.value,
                is_major=major,
                is_exercise=is_exercise,
                services=services,
                affected_users=affected_users,
                error_rate_pct=error_rate_pct,
                source="local",
                created_at=now,
                updated_at=now,
                impact_started_at=milestones[Milestone.IMPACT_STARTED],
                detected_at=milestones[Milestone.DETECTED],
                declared_at=declared,
            )
            s.add(inc)
            s.flush()
            body = (
                f"{'Major incident' if major else 'Incident'} declared at {level.id} ({level.label}): {title}"
            )
            if judged.get("against_proposal"):
                body += f". Against the proposed {judged['proposed']}: {judged['severity_reason']}"
            view = self._record(
                s,
                inc,
                EntryKind.STATUS_CHANGE,
                body,
                author=author,
                now=now,
                occurred_at=declared,
                data={
                    "action": "declared",
                    "to": Status.DECLARED.value,
                    "title": title,
                    "severity": level.id,
                    "major": major,
                    "exercise": is_exercise,
                    "services": services,
                    "milestones": {m.value: iso(v) for m, v in milestones.items() if v is not None},
                    **judged,
                },
            )
            if judged:
                rules.write_declared(s, inc, impact, author=author, now=now)
        self._publish(Topic.INCIDENT, view.id, None)
        return view

    # -- lifecycle -----------------------------------------------------------------------
    def set_status(
        self,
        ref: str,
        status: str | Status,
        *,
        author: str,
        reason: str | None = None,
        at: datetime | None = None,
        override_reason: str | None = None,
    ) -> IncidentView:
        """`override_reason`: the commander's reason for going past a checklist that blocks the step."""
        target = parse_status(status)
        author = _clean_author(author)
        reason = (reason or "").strip() or None
        now = self._now()
        when = as_utc(at) if at else now
        check_live(when, now, what="A status change", field="at")
        with self._store.transaction() as s:
            inc = self._load(s, ref)
            current = Status(inc.status)
            if target == current:
                raise InvalidTransition(f"{inc.key} is already {current.label}.")
            reopening = not current.is_open and target in REOPEN_TARGETS
            if reopening:
                if not reason:
                    raise InvalidTransition(
                        f"Reopening {inc.key} ({current.label} → {target.label}) needs a reason.",
                        field="reason",
                    )
            elif target not in ALLOWED_TRANSITIONS[current]:
                allowed = sorted(ALLOWED_TRANSITIONS[current], key=list(Status).index)
                if current is Status.RESOLVED or current is Status.CLOSED:
                    reopen = sorted(REOPEN_TARGETS, key=list(Status).index)  # a frozenset has no stable order
                    allowed_txt = ", ".join(s.label for s in allowed + reopen) + " (reopening needs a reason)"
                else:
                    allowed_txt = ", ".join(s.label for s in allowed)
                raise InvalidTransition(
                    f"{inc.key} cannot go from {current.label} to {target.label}. "
                    f"From {current.label} it can go to: {allowed_txt or 'nothing (it is closed; reopen it)'}."
                )
            for gate in self.status_gates:
                gate(s, inc, target, author, override_reason)
            stamped: dict[str, Any] = {}
            cleared: dict[str, Any] = {}
            if reopening:
                for m in (Milestone.RESOLVED, Milestone.CLOSED):
                    if getattr(inc, m.column) is not None:
                        cleared[m.value] = iso(getattr(inc, m.column))
                        setattr(inc, m.column, None)
            milestone = _STATUS_MILESTONE.get(target)
            if milestone and getattr(inc, milestone.column) is None:
                values = _milestones_of(inc)
                values[milestone] = when
                problem = milestone_order_problem(values, flagged_pairs_of(inc.flagged_pairs))
                if problem and target is Status.IDENTIFIED:
                    # Back to Identified after a fix that did not hold: the cause was known before it was
                    # mitigated, so the milestone stays unset rather than stamped out of order.
                    milestone = None
                elif problem:
                    raise InvalidTransition(
                        f"Cannot mark {inc.key} {target.label} at {utc_text(when)}: {problem}"
                    )
            if milestone and getattr(inc, milestone.column) is None:
                setattr(inc, milestone.column, when)
                stamped[milestone.value] = iso(when)
            inc.status = target.value
            verb = "reopened" if reopening else "changed"
            body = f"Status {verb}: {current.label} → {target.label}" + (
                f". Reason: {reason}" if reason else ""
            )
            data: dict[str, Any] = {"from": current.value, "to": target.value, "reason": reason}
            if stamped:
                data["milestones"] = stamped
            if cleared:
                data["cleared_milestones"] = cleared
            if reopening:
                data["action"] = "reopened"
            view = self._record(
                s,
                inc,
                EntryKind.STATUS_CHANGE,
                body,
                author=author,
                now=now,
                occurred_at=when,
                data=data,
            )
        self._publish(Topic.INCIDENT, view.id, None)
        return view

    def set_severity(
        self, ref: str, severity: str, *, author: str, reason: str | None = None
    ) -> IncidentView:
        level = self._catalog.severity(severity)
        author = _clean_author(author)
        reason = (reason or "").strip() or None
        now = self._now()
        with self._store.transaction() as s:
            inc = self._load(s, ref)
            before = inc.severity
            recorded = before != UNKNOWN_SEVERITY  # imported history may have none: this sets it
            old = self._catalog.severity(inc.severity) if recorded else level
            if recorded and old.id == level.id:
                raise InvalidTransition(f"{inc.key} is already {level.id}.")
            if not Status(inc.status).is_open:
                raise InvalidTransition(
                    f"{inc.key} is {Status(inc.status).label}; reopen it to change its severity."
                )
            lowering = recorded and level.rank > old.rank
            if lowering and not reason:
                raise ValidationError(
                    f"Lowering {inc.key} from {old.id} to {level.id} needs a reason.", field="reason"
                )
            judged = self.impact_rules.check_change(s, inc, level.id, reason) if self.impact_rules else {}
            inc.severity = level.id
            word = "lowered" if lowering else "raised" if recorded else "set"
            body = f"Severity {word}: {before} → {level.id} ({level.label})" + (
                f". Reason: {reason}" if reason else ""
            )
            if judged.get("against_proposal"):
                body += f" (against the proposed {judged['proposed']})"
            view = self._record(
                s,
                inc,
                EntryKind.SEVERITY_CHANGE,
                body,
                author=author,
                now=now,
                data={"from": before, "to": level.id, "reason": reason, **judged},
            )
        self._publish(Topic.INCIDENT, view.id, None)
        return view

    def set_major(self, ref: str, major: bool, *, author: str, reason: str | None = None) -> IncidentView:
        """Formal major-incident declaration, or its de-escalation (which needs a reason)."""
        author = _clean_author(author)
        reason = (reason or "").strip() or None
        now = self._now()
        with self._store.transaction() as s:
            inc = self._load(s, ref)
            if inc.is_major == major:
                raise InvalidTransition(f"{inc.key} is {'already' if major else 'not'} a major incident.")
            if not Status(inc.status).is_open:
                raise InvalidTransition(f"{inc.key} is {Status(inc.status).label}; reopen it first.")
            if not major and not reason:
                raise ValidationError("De-escalating a major incident needs a reason.", field="reason")
            inc.is_major = major
            body = ("Declared a major incident" if major else "De-escalated: no longer a major incident") + (
                f". Reason: {reason}" if reason else ""
            )
            view = self._record(
                s,
                inc,
                EntryKind.MAJOR_CHANGE,
                body,
                author=author,
                now=now,
                data={"major": major, "reason": reason},
            )
        self._publish(Topic.INCIDENT, view.id, None)
        return view

    def set_milestone(
        self,
        ref: str,
        milestone: str | Milestone,
        at: datetime | None,
        *,
        author: str,
        reason: str | None = None,
    ) -> IncidentView:
        """Set, move or clear a milestone. The ordering rule is checked against all the others."""
        m = parse_milestone(milestone)
        author = _clean_author(author)
        now = self._now()
        when = as_utc(at) if at else None
        check_live(when, now, what=f"'{m.label}'", field=m.value, dated=False)
        if when is None and m is Milestone.DECLARED:
            raise ValidationError("The declaration time cannot be cleared.", field=m.value)
        with self._store.transaction() as s:
            inc = self._load(s, ref)
            old = getattr(inc, m.column)
            if old == when:
                raise ValidationError(
                    f"'{m.label}' is already {utc_text(when) if when else 'unset'}.", field=m.value
                )
            values = _milestones_of(inc)
            values[m] = when
            flagged = flagged_pairs_of(inc.flagged_pairs)
            problem = milestone_order_problem(values, flagged)
            if problem:
                raise ValidationError(problem, field=m.value)
            setattr(inc, m.column, when)
            if flagged:
                inc.flagged_pairs = still_flagged(values, flagged)
            if when is None:
                body = f"Milestone cleared: {m.label} (was {utc_text(old)})"
            elif old is None:
                body = f"Milestone set: {m.label} at {utc_text(when)}"
            else:
                old_text, new_text = utc_texts(old, when)
                body = f"Milestone moved: {m.label} from {old_text} to {new_text}"
            reason = (reason or "").strip() or None
            if reason:
                body += f". Reason: {reason}"
            view = self._record(
                s,
                inc,
                EntryKind.MILESTONE_CHANGE,
                body,
                author=author,
                now=now,
                data={"milestone": m.value, "from": iso(old), "to": iso(when), "reason": reason},
            )
        self._publish(Topic.INCIDENT, view.id, None)
        return view

    def update_details(
        self,
        ref: str,
        *,
        author: str,
        title: str | None = None,
        summary: str | None = None,
        services: Iterable[str] | None = None,
        affected_users: int | None = None,
        error_rate_pct: float | None = None,
        clear_impact: bool = False,
    ) -> IncidentView:
        """Title, summary, impacted services and customer impact; each change is recorded."""
        author = _clean_author(author)
        _check_impact(affected_users, error_rate_pct)
        now = self._now()
        with self._store.transaction() as s:
            inc = self._load(s, ref)
            changes: dict[str, dict[str, Any]] = {}

            def change(attr: str, value: Any) -> None:
                if getattr(inc, attr) != value:
                    changes[attr] = {"from": getattr(inc, attr), "to": value}
                    setattr(inc, attr, value)

            if title is not None:
                if not title.strip():
                    raise ValidationError("The title cannot be empty.", field="title")
                check_text(title.strip(), field="title", label="The title", limit=TITLE_MAX, one_line=True)
                change("title", title.strip())
            if summary is not None:
                check_text(summary, field="summary", label="The summary", limit=SUMMARY_MAX)
                change("summary", summary.strip())
            if services is not None:
                change("services", _clean_services(services))
            if clear_impact:
                change("affected_users", None)
                change("error_rate_pct", None)
            if affected_users is not None:
                change("affected_users", affected_users)
            if error_rate_pct is not None:
                change("error_rate_pct", error_rate_pct)
            if not changes:
                raise ValidationError("Nothing changed.")
            parts = []
            for attr, ch in changes.items():
                label = attr.replace("_", " ")
                to = ", ".join(ch["to"]) if isinstance(ch["to"], list) else ch["to"]
                parts.append(f"{label} → {to if to not in (None, '') else '(none)'}")
            view = self._record(
                s,
                inc,
                EntryKind.IMPACT_CHANGE,
                "Details updated: " + "; ".join(parts),
                author=author,
                now=now,
                data={"changes": changes},
            )
        self._publish(Topic.INCIDENT, view.id, None)
        return view


def _milestones_of(inc: Incident) -> dict[Milestone, datetime | None]:
    return {m: getattr(inc, m.column) for m in Milestone}


def _clean_services(services: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in services or ():
        name = str(name).strip()
        if name and name not in out:
            out.append(name)
    return out


def _check_impact(affected_users: int | None, error_rate_pct: float | None) -> None:
    if affected_users is not None and count_problem(affected_users, limit=AFFECTED_USERS_MAX):
        raise ValidationError(
            f"Affected users must be a whole number, zero or more (at most {AFFECTED_USERS_MAX:,}).", field="affected_users"
        )
    if error_rate_pct is not None and not (0 <= float(error_rate_pct) <= 100):
        raise ValidationError("The error rate is a percentage between 0 and 100.", field="error_rate_pct")


# -- what a backend's action means here ----------------------------------------------------
# Someone acknowledging the page in PagerDuty is a fact about this incident: it is when a responder
# took it (the MTTA milestone), and an incident nobody had started on is now being investigated.
# An "identified" update posted on the status page says the cause is known: the Identified milestone,
# and an incident still being investigated is now Identified.
# A resolve done elsewhere is NOT applied: resolving is the commander's call, made here.
_EFFECT_MILESTONE = {"acknowledged": Milestone.ACKNOWLEDGED, "identified": Milestone.IDENTIFIED}
_EFFECT_STATUS = {
    "acknowledged": (frozenset({Status.DECLARED}), Status.INVESTIGATING),
    "identified": (frozenset({Status.DECLARED, Status.INVESTIGATING}), Status.IDENTIFIED),
}
REMOTE_EFFECTS = frozenset(_EFFECT_MILESTONE)


def apply_remote_effects(
    db,
    incident_id: str,
    effects: Iterable[str],
    *,
    at: datetime,
    now: datetime,
    author: str,
    caused_by: dict[str, Any],
    hooks,
) -> list:
    """Apply what a pulled backend event means to the incident, in the caller's transaction.

    Each change writes its own timeline entry marked `caused_by`, so the backend it came from is not
    sent it back, while the other backends still are (a Jira ticket still moves to In Progress).
    Returns the entries written; an effect that no longer applies (milestone already set, status
    already moved on, an order the milestones would break) is skipped.
    """
    wanted = [e for e in _EFFECT_MILESTONE if e in set(effects)]
    if not wanted:
        return []
    t = Incident.__table__
    author = _clean_author(author)
    label = caused_by.get("label") or caused_by.get("backend") or "a backend"
    source = str(caused_by.get("backend") or "sitrep")
    written = []
    at = min(as_utc(at), now)

    def write(kind: EntryKind, body: str, data: dict[str, Any]) -> None:
        written.append(append_entry(db, incident_id, kind, body, author=author, now=now, occurred_at=at,
                                    source=source, data={**data, "caused_by": caused_by}, hooks=hooks))  # fmt: skip

    for effect in wanted:
        row = db.execute(select(t).where(t.c.id == incident_id)).mappings().first()
        if row is None:
            return written
        m = _EFFECT_MILESTONE[effect]
        values = {x: row[x.column] for x in Milestone}
        if values[m] is None:
            values[m] = at
            if milestone_order_problem(values, flagged_pairs_of(row["flagged_pairs"])) is None:
                db.execute(t.update().where(t.c.id == incident_id).values({m.column: at, "updated_at": now}))
                write(EntryKind.MILESTONE_CHANGE, f"Milestone set: {m.label} at {utc_text(at)} ({effect} in {label})",
                      {"milestone": m.value, "from": None, "to": iso(at), "reason": None})  # fmt: skip
        before, after = _EFFECT_STATUS[effect]
        current = Status(row["status"])
        if current in before:
            db.execute(
                t.update()
                .where(t.c.id == incident_id, t.c.status == current.value)
                .values(status=after.value, updated_at=now)
            )
            write(EntryKind.STATUS_CHANGE, f"Status changed: {current.label} → {after.label} ({effect} in {label})",
                  {"from": current.value, "to": after.value, "reason": None})  # fmt: skip
    return written
