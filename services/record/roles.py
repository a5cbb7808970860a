"""Incident roles: assign, hand over (with a brief), release, and who held what when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.entities import Incident, Person, RoleAssignment
from models.enums import EntryKind, Milestone, Status
from models.types import as_utc, iso
from services.changes import Topic
from services.errors import InvalidTransition, ValidationError
from services.record.catalog import Catalog
from services.record.incidents import IncidentService
from services.record.milestone_order import flagged_pairs_of, milestone_order_problem
from services.record.people import PeopleService
from services.record.timeline import _clean_author, append_entry
from services.record.views import RoleHolding
from services.text.time_range import check_live

# What an outgoing holder must pass on. Keys are stored; labels are what people see.
HANDOVER_FIELDS: dict[str, str] = {
    "status": "Current status and impact",
    "hypotheses": "Open hypotheses (ruled in / ruled out)",
    "last_update": "Last external update and what was promised",
    "next_actions": "Next actions, owners and timers",
}


class RoleService:
    def __init__(self, store, catalog: Catalog, now: Callable[[], datetime], publish) -> None:
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish

    def _open_incident(self, s, ref: str) -> Incident:
        inc = IncidentService._load(s, ref)
        if inc.status == Status.CLOSED.value:
            raise InvalidTransition(f"{inc.key} is closed; its roles can no longer change.")
        return inc

    @staticmethod
    def _current(s, incident_id: str, role: str) -> RoleAssignment | None:
        return s.scalar(
            select(RoleAssignment).where(
                RoleAssignment.incident_id == incident_id,
                RoleAssignment.role == role,
                RoleAssignment.ended_at.is_(None),
            )
        )

    def _record_role_change(
        self, s, inc: Incident, body: str, *, author: str, now: datetime, when: datetime, data: dict[str, Any]
    ) -> None:
        """The role change's timeline entry, dated when it happened, in the change's own transaction."""
        inc.updated_at = now
        append_entry(
            s,
            inc.id,
            EntryKind.ROLE_CHANGE,
            body,
            author=author,
            now=now,
            occurred_at=when,
            data=data,
            hooks=self._store.entry_hooks,
        )

    def _when(self, at: datetime | None, now: datetime) -> datetime:
        when = as_utc(at) if at else now
        check_live(when, now, what="A role change", field="at")
        return when

    def assign(
        self, ref: str, role: str, handle: str, *, author: str, at: datetime | None = None
    ) -> RoleHolding:
        definition = self._catalog.role(role)
        author = _clean_author(author)
        now = self._now()
        when = self._when(at, now)
        with self._store.transaction() as s:
            inc = self._open_incident(s, ref)
            person = PeopleService._get(s, handle)
            holder = self._current(s, inc.id, definition.id)
            if holder is not None:
                current = s.get(Person, holder.person_id)
                if holder.person_id == person.id:
                    raise InvalidTransition(f"{person.name} already holds {definition.name} on {inc.key}.")
                raise InvalidTransition(
                    f"{current.name} holds {definition.name} on {inc.key}. Hand it over (with a brief) or release it first."
                )
            if when < inc.declared_at:
                raise ValidationError(
                    "A role cannot be assigned before the incident was declared.", field="at"
                )
            ra = RoleAssignment(
                incident_id=inc.id,
                role=definition.id,
                person_id=person.id,
                started_at=when,
                assigned_by=author,
                checklist_done=[],
            )
            s.add(ra)
            s.flush()
            data: dict[str, Any] = {"action": "assigned", "role": definition.id, "person": person.handle}
            if definition.id == "IC" and inc.ic_assigned_at is None:
                values = {m: getattr(inc, m.column) for m in Milestone}
                values[Milestone.IC_ASSIGNED] = when
                if milestone_order_problem(values, flagged_pairs_of(inc.flagged_pairs)) is None:
                    inc.ic_assigned_at = when
                    data["milestones"] = {Milestone.IC_ASSIGNED.value: iso(when)}
            self._record_role_change(
                s,
                inc,
                f"{person.name} (@{person.handle}) assigned as {definition.name}",
                author=author,
                now=now,
                when=when,
                data=data,
            )
            view = RoleHolding.of(ra, person)
        self._publish(Topic.ROLES, view.incident_id, None)
        return view

    def hand_over(
        self,
        ref: str,
        role: str,
        incoming_handle: str,
        brief: dict[str, str],
        *,
        author: str,
        at: datetime | None = None,
    ) -> RoleHolding:
        """Transfer a role; the outgoing holder's brief is required and kept with the incoming holding."""
        definition = self._catalog.role(role)
        author = _clean_author(author)
        # A field left empty in a form may arrive as None; it is as missing as an empty string.
        clean = {k: str((brief or {}).get(k) or "").strip() for k in HANDOVER_FIELDS}
        missing = [HANDOVER_FIELDS[k] for k, v in clean.items() if not v]
        if missing:
            raise ValidationError("The handover brief is missing: " + "; ".join(missing) + ".", field="brief")
        now = self._now()
        when = self._when(at, now)
        with self._store.transaction() as s:
            inc = self._open_incident(s, ref)
            incoming = PeopleService._get(s, incoming_handle)
            holder = self._current(s, inc.id, definition.id)
            if holder is None:
                raise InvalidTransition(f"Nobody holds {definition.name} on {inc.key}; assign it instead.")
            if holder.person_id == incoming.id:
                raise InvalidTransition(f"{incoming.name} already holds {definition.name}.")
            if when < holder.started_at:
                raise ValidationError(
                    "A handover cannot be dated before the outgoing holder took the role.", field="at"
                )
            outgoing = s.get(Person, holder.person_id)
            holder.ended_at = when
            ra = RoleAssignment(
                incident_id=inc.id,
                role=definition.id,
                person_id=incoming.id,
                started_at=when,
                assigned_by=author,
                handover_brief={**clean, "from": outgoing.handle},
                checklist_done=[],
            )
            s.add(ra)
            s.flush()
            body = (
                f"{definition.name} handed over from {outgoing.name} (@{outgoing.handle}) "
                f"to {incoming.name} (@{incoming.handle})"
            )
            self._record_role_change(
                s,
                inc,
                body,
                author=author,
                now=now,
                when=when,
                data={
                    "action": "handover",
                    "role": definition.id,
                    "from": outgoing.handle,
                    "to": incoming.handle,
                    "brief": clean,
                },
            )
            view = RoleHolding.of(ra, incoming)
        self._publish(Topic.ROLES, view.incident_id, None)
        return view

    def release(
        self, ref: str, role: str, *, author: str, reason: str | None = None, at: datetime | None = None
    ) -> None:
        definition = self._catalog.role(role)
        author = _clean_author(author)
        now = self._now()
        when = self._when(at, now)
        with self._store.transaction() as s:
            inc = self._open_incident(s, ref)
            holder = self._current(s, inc.id, definition.id)
            if holder is None:
                raise InvalidTransition(f"Nobody holds {definition.name} on {inc.key}.")
            if when < holder.started_at:
                raise ValidationError("A release cannot be dated before the role was taken.", field="at")
            person = s.get(Person, holder.person_id)
            holder.ended_at = when
            reason = (reason or "").strip() or None
            body = f"{person.name} (@{person.handle}) released from {definition.name}" + (
                f". Reason: {reason}" if reason else ""
            )
            self._record_role_change(
                s,
                inc,
                body,
                author=author,
                now=now,
                when=when,
                data={"action": "released", "role": definition.id, "person": person.handle, "reason": reason},
            )
            incident_id = inc.id
        self._publish(Topic.ROLES, incident_id, None)

    def tick_checklist(self, ref: str, role: str, item: int, done: bool, *, author: str) -> RoleHolding:
        """Mark a first-10-minutes checklist item done (or not) for the current holder."""
        definition = self._catalog.role(role)
        author = _clean_author(author)
        if not 0 <= item < len(definition.checklist):
            raise ValidationError(f"{definition.name} has no checklist item {item + 1}.")
        now = self._now()
        with self._store.transaction() as s:
            inc = self._open_incident(s, ref)
            holder = self._current(s, inc.id, definition.id)
            if holder is None:
                raise InvalidTransition(f"Nobody holds {definition.name} on {inc.key}.")
            current = set(holder.checklist_done or ())
            if (item in current) == done:
                person = s.get(Person, holder.person_id)
                return RoleHolding.of(holder, person)
            current.add(item) if done else current.discard(item)
            holder.checklist_done = sorted(current)
            text = definition.checklist[item]
            append_entry(
                s,
                inc.id,
                EntryKind.ACTION,
                f"{definition.short} checklist {'done' if done else 'reopened'}: {text}",
                author=author,
                now=now,
                data={"action": "checklist", "role": definition.id, "item": item, "done": done},
                hooks=self._store.entry_hooks,
            )
            person = s.get(Person, holder.person_id)
            view = RoleHolding.of(holder, person)
        self._publish(Topic.ROLES, view.incident_id, None)
        return view

    # -- reading -------------------------------------------------------------------------
    def holders(self, ref: str) -> list[RoleHolding]:
        """Current holders, in catalog order."""
        order = list(self._catalog.roles)
        with self._store.read() as s:
            inc = IncidentService._load(s, ref)
            rows = s.execute(
                select(RoleAssignment, Person)
                .join(Person, Person.id == RoleAssignment.person_id)
                .where(RoleAssignment.incident_id == inc.id, RoleAssignment.ended_at.is_(None))
            ).all()
            out = [RoleHolding.of(ra, p) for ra, p in rows]
        return sorted(out, key=lambda h: order.index(h.role) if h.role in order else len(order))

    def history(self, ref: str) -> list[RoleHolding]:
        with self._store.read() as s:
            inc = IncidentService._load(s, ref)
            rows = s.execute(
                select(RoleAssignment, Person)
                .join(Person, Person.id == RoleAssignment.person_id)
                .where(RoleAssignment.incident_id == inc.id)
                .order_by(RoleAssignment.started_at, RoleAssignment.role)
            ).all()
            return [RoleHolding.of(ra, p) for ra, p in rows]

    def who_held(self, ref: str, role: str, at: datetime) -> RoleHolding | None:
        """Who held a role at an instant (a holding covers [started_at, ended_at))."""
        definition = self._catalog.role(role)
        at = as_utc(at)
        for h in self.history(ref):
            if h.role == definition.id and h.started_at <= at and (h.ended_at is None or at < h.ended_at):
                return h
        return None

    def held_by(self, handle: str) -> list[tuple[str, RoleHolding]]:
        """Every holding a person has had, with the incident key."""
        with self._store.read() as s:
            person = PeopleService._get(s, handle)
            rows = s.execute(
                select(RoleAssignment, Incident.key)
                .join(Incident, Incident.id == RoleAssignment.incident_id)
                .where(RoleAssignment.person_id == person.id)
                .order_by(RoleAssignment.started_at)
            ).all()
            return [(key, RoleHolding.of(ra, person)) for ra, key in rows]
