"""Escalation paths and regulatory clocks: the groups an incident type brings in, and the notification
deadlines regimes set (rules are data, marked as needing review by counsel).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from models.entities import (
    Incident,
    RegulatoryClock,
    TimelineEntry,
)
from models.enums import ClockState, EntryKind
from models.types import as_utc, iso
from services.changes import Topic
from services.comms.core import CommsCore, acting_name
from services.comms.views import RegClockView, StakeholderView
from services.errors import NotFound, ValidationError
from services.record.timeline import append_entry
from services.text.timetext import utc_text


def _awareness(clock: RegulatoryClock | None, inc: Incident) -> datetime | None:
    """When the organisation became aware, for a backstop deadline: as recorded when the escalation
    path was applied, else the incident's detection (or declaration)."""
    aware = ((clock.rule or {}) if clock is not None else {}).get("aware_at")
    return datetime.fromisoformat(aware) if aware else (inc.detected_at or inc.declared_at)


def _regulatory_clock(session, incident_id: str, rule_id: str) -> RegulatoryClock | None:
    """The incident's clock for one regulatory rule, if it has been created."""
    stmt = select(RegulatoryClock).where(
        RegulatoryClock.incident_id == incident_id, RegulatoryClock.rule_id == rule_id
    )
    return session.execute(stmt).scalars().first()


class RegulatoryClocks(CommsCore):
    def regulatory_clocks(self, incident_ref: str) -> list[RegClockView]:
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            views = self._clock_views(s, inc.id)
        order = {ClockState.RUNNING: 0, ClockState.AWAITING: 1, ClockState.MET: 2, ClockState.WITHDRAWN: 3}
        return sorted(
            views,
            key=lambda v: (
                order[v.state],
                v.deadline_at or datetime.max.replace(tzinfo=as_utc(self._now()).tzinfo),
            ),
        )

    def escalation(self, incident_ref: str) -> tuple[Any, list[StakeholderView], bool]:
        """(the escalation path for the incident's type or None, who it brings in, whether it was applied)."""
        inc = self._incident_view(incident_ref)
        path = self.rules.path_for(inc.incident_type)
        if path is None:
            return None, [], False
        people = [sv for sv in self.stakeholders() if sv.group in path.groups]
        with self._store.read_connection() as c:
            applied = (
                c.execute(
                    select(func.count()).where(RegulatoryClock.__table__.c.incident_id == inc.id)
                ).scalar_one()
                > 0
            )
        return path, people, applied or not path.clocks

    def apply_escalation(
        self, incident_ref: str, *, author: str, aware_at: datetime | None = None
    ) -> list[RegClockView]:
        """Bring in the incident type's escalation path: record who must be involved and put its
        regulatory clocks on the incident (those that count from awareness start now; the others wait
        for their trigger). Applying it again adds only what is missing."""
        author = acting_name(author)
        now = self._now()
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            path = self.rules.path_for(inc.incident_type)
            if path is None:
                raise ValidationError(f"There is no escalation path for incident type '{inc.incident_type}'. "
                                      f"Known types: {', '.join(self.rules.paths)}.")  # fmt: skip
            aware = as_utc(aware_at) if aware_at else (inc.detected_at or inc.declared_at or now)
            if aware > now:
                raise ValidationError("Awareness cannot be in the future.", field="aware_at")
            have = set(
                s.execute(
                    select(RegulatoryClock.rule_id).where(RegulatoryClock.incident_id == inc.id)
                ).scalars()
            )
            started = []
            for rid in path.clocks:
                if rid in have:
                    continue
                rule = self.rules.rule(rid)
                clock = RegulatoryClock(incident_id=inc.id, rule_id=rid, label=rule.label,
                                        rule={**rule.as_dict(), "aware_at": iso(aware)}, started_by=author,
                                        created_at=now, updated_at=now, note="")  # fmt: skip
                if rule.starts_on_awareness:
                    clock.state, clock.trigger_at, clock.deadline_at = (
                        ClockState.RUNNING.value,
                        aware,
                        rule.deadline(aware),
                    )
                else:
                    clock.state = ClockState.AWAITING.value
                s.add(clock)
                started.append(rule)
            groups = ", ".join(path.groups) or "nobody extra"
            running = [r.label for r in started if r.starts_on_awareness]
            waiting = [r.label for r in started if not r.starts_on_awareness]
            body = f"Escalation path '{path.label}' applied: bring in {groups}."
            if running:
                body += (
                    f" Regulatory clocks started from awareness at {utc_text(aware)}: {', '.join(running)}."
                )
            if waiting:
                body += f" Waiting for their trigger: {', '.join(waiting)}."
            body += f" (Rules {self.rules.review_status}.)"
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now,
                         data={"sync": False, "escalation": path.incident_type, "clocks": [r.id for r in started]},
                         hooks=self._store.entry_hooks)  # fmt: skip
            iid = inc.id
        self._publish(Topic.COMMS, iid, None)
        self._publish(Topic.TIMELINE, iid, None)
        return self.regulatory_clocks(iid)

    def start_clock(self, incident_ref: str, rule_id: str, *, author: str, at: datetime | None = None,
                    note: str = "") -> RegClockView:  # fmt: skip
        """Record a clock's trigger (e.g. the materiality decision) and start its countdown."""
        author = acting_name(author)
        now = self._now()
        at = as_utc(at) if at else now
        if at > now:
            raise ValidationError("A trigger cannot be in the future.", field="at")
        rule = self.rules.rule(rule_id)
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            clock = _regulatory_clock(s, inc.id, rule_id)
            if clock is None:
                clock = RegulatoryClock(incident_id=inc.id, rule_id=rule_id, label=rule.label, rule=rule.as_dict(),
                                        started_by=author, created_at=now, updated_at=now, note="", state=ClockState.AWAITING.value)  # fmt: skip
                s.add(clock)
            if clock.state != ClockState.AWAITING.value:
                raise ValidationError(f"{rule.label} is already {ClockState(clock.state).label.lower()}.")
            clock.state, clock.trigger_at, clock.deadline_at = (
                ClockState.RUNNING.value,
                at,
                rule.deadline(at, _awareness(clock, inc)),
            )
            clock.updated_at, clock.note = now, note.strip()
            append_entry(s, inc.id, EntryKind.SYSTEM,
                         f"{rule.label}: {rule.trigger_label} at {utc_text(at)}; due {utc_text(clock.deadline_at)} ({rule.describe()}).",
                         author=author, now=now, data={"sync": False, "regulatory_clock": rule_id, "action": "started"},
                         hooks=self._store.entry_hooks)  # fmt: skip
            view = next(v for v in self._clock_views(s, inc.id) if v.rule_id == rule_id)
        self._publish(Topic.COMMS, view.incident_id, None)
        return view

    def clock_deadline(self, incident_ref: str, rule_id: str, at: datetime | None = None) -> datetime:
        """The deadline `start_clock` would set if the trigger happened at `at` (now if None): for a
        form that shows the due time while it is being filled in. Nothing is written."""
        at = as_utc(at) if at else self._now()
        rule = self.rules.rule(rule_id)
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            return rule.deadline(at, _awareness(_regulatory_clock(s, inc.id, rule_id), inc))

    def record_overdue_clocks(self, incident_ref: str, *, author: str = "sitrep") -> list[RegClockView]:
        """Write one clock-breach entry for each running regulatory clock whose deadline has passed with
        no notice recorded: the record shows when a regulator's deadline was missed, not only a red
        countdown on someone's screen. Once per clock and deadline, whoever checks first."""
        now = self._now()
        missed: list[RegClockView] = []
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            overdue = [v for v in self._clock_views(s, inc.id)
                       if v.state is ClockState.RUNNING and v.deadline_at is not None and v.deadline_at < now]  # fmt: skip
            if not overdue:
                return []
            recorded = {
                (d.get("regulatory_clock"), d.get("due_at"))
                for (d,) in s.execute(
                    select(TimelineEntry.data).where(
                        TimelineEntry.incident_id == inc.id,
                        TimelineEntry.kind == EntryKind.CLOCK_BREACH.value,
                    )
                )
                if d
            }
            for v in overdue:
                due = iso(v.deadline_at)
                if (v.rule_id, due) in recorded:
                    continue
                body = (f"Regulatory deadline passed: {v.label} was due {utc_text(v.deadline_at)} and no notice "
                        f"is recorded. (Rules {self.rules.review_status}.)")  # fmt: skip
                append_entry(s, inc.id, EntryKind.CLOCK_BREACH, body, author=acting_name(author), now=now,
                             occurred_at=v.deadline_at,
                             data={"sync": False, "regulatory_clock": v.rule_id, "action": "overdue", "due_at": due},
                             hooks=self._store.entry_hooks)  # fmt: skip
                missed.append(v)
        if missed:
            self._publish(Topic.TIMELINE, inc.id, None)
        return missed

    def close_clock(self, incident_ref: str, rule_id: str, *, author: str, outcome: str = "met",
                    at: datetime | None = None, note: str = "") -> RegClockView:  # fmt: skip
        """The notice was made (met), or counsel judged the regime does not apply (withdrawn, with a note)."""
        author = acting_name(author)
        now = self._now()
        at = as_utc(at) if at else now
        if outcome not in ("met", "withdrawn"):
            raise ValidationError("A clock closes as met or withdrawn.")
        if at > now:
            raise ValidationError("A notice cannot be dated in the future.", field="at")
        if outcome == "withdrawn" and not note.strip():
            raise ValidationError("Say why this regime does not apply (counsel's call).", field="note")
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            clock = _regulatory_clock(s, inc.id, rule_id)
            if clock is None:
                raise NotFound(f"{inc.key} has no regulatory clock '{rule_id}'.")
            if clock.state in (ClockState.MET.value, ClockState.WITHDRAWN.value):
                raise ValidationError(f"{clock.label} is already {clock.state}.")
            clock.state = ClockState.MET.value if outcome == "met" else ClockState.WITHDRAWN.value
            clock.met_at, clock.closed_by, clock.updated_at = (at if outcome == "met" else None), author, now
            clock.note = note.strip()
            late = outcome == "met" and clock.deadline_at is not None and at > clock.deadline_at
            body = f"{clock.label}: {'notice made' if outcome == 'met' else 'withdrawn'} at {utc_text(at)}"
            body += " (LATE)" if late else ""
            body += f". {note.strip()}" if note.strip() else "."
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now,
                         data={"sync": False, "regulatory_clock": rule_id, "action": outcome}, hooks=self._store.entry_hooks)  # fmt: skip
            view = next(v for v in self._clock_views(s, inc.id) if v.rule_id == rule_id)
        self._publish(Topic.COMMS, view.incident_id, None)
        return view
