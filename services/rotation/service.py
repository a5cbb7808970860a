"""Rotation, fatigue and follow-the-sun handovers, from the role record and the responder directory.

Who is fit to take a role now (trained, in their working day, not busy on another open incident, on
call where PagerDuty says so), who is past the hours a role allows, when each holder's day ends, and
who has not held the roles a team rotates through. Nothing here writes the record except a person's
working hours and training (`set_profile`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select

from models.entities import Incident, Person, RoleAssignment
from models.enums import Status
from models.types import as_utc
from services.changes import Topic
from services.errors import ValidationError
from services.record.catalog import Catalog
from services.record.incidents import IncidentService
from services.record.people import PeopleService
from services.record.views import PersonView
from services.rotation.hours import WorkingHours, local_time
from services.rotation.report import Held, RotationReport, Stretch, build_report, stretches
from services.rotation.rules import RotationRules, load_rules
from services.sync.oncall import OnCallReport


@dataclass(frozen=True)
class DayWindow:
    """Where a person's working day stands at an instant."""

    person: PersonView
    local: datetime
    working: bool
    shift_start: datetime | None  # UTC; the current shift, else the next one
    shift_end: datetime | None  # UTC; the current shift's end, None when off duty
    night: bool

    def left(self, at: datetime) -> timedelta | None:
        return self.shift_end - at if self.shift_end else None


@dataclass(frozen=True)
class Fatigue:
    """A holder past the limit of the role they hold."""

    role: str
    person: PersonView
    on_duty: Stretch
    limit: timedelta
    day: DayWindow

    @property
    def over(self) -> timedelta:
        return self.on_duty.length - self.limit


@dataclass(frozen=True)
class Candidate:
    person: PersonView
    day: DayWindow
    on_call: str | None  # "L1 Checkout escalation", when PagerDuty's answer names them
    holds_here: tuple[str, ...]  # roles they already hold on this incident
    free_now: bool  # in their working day and not busy elsewhere

    def why(self, role_names: dict[str, str], at: datetime) -> str:
        local = self.day.local.strftime("%H:%M")
        if self.day.working:
            left = self.day.left(at)
            parts = [f"{local} their time, {_hm(left)} of their day left"]
        else:
            parts = [f"{local} their time; day starts {self.day.shift_start.astimezone(self.day.local.tzinfo):%a %H:%M}"]
        if self.on_call:
            parts.append(f"on call ({self.on_call})")
        if self.holds_here:
            parts.append("already " + ", ".join(role_names.get(r, r) for r in self.holds_here) + " here")
        return "; ".join(parts)


@dataclass(frozen=True)
class HandoverPlan:
    """Follow-the-sun for one incident: each responder's day, and the next sensible handover."""

    at: datetime
    days: tuple[DayWindow, ...]  # the incident's holders first, then who could take over
    holders: dict[str, tuple[str, ...]]  # handle -> roles held on the incident
    handover_at: datetime | None  # when the commander's day ends (now, if it has)
    handover_to: Candidate | None  # the first trained person whose day covers that moment
    # (holder, role, day ends, still working): ending within the reminder, or over (ends = `at`)
    reminders: tuple[tuple[PersonView, str, datetime, bool], ...]


def _hm(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


class RotationService:
    def __init__(self, store, catalog: Catalog, now: Callable[[], datetime], publish,
                 config_dir: Path | None = None) -> None:  # fmt: skip
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        self._config_dir = config_dir
        self._rules: RotationRules | None = None

    @property
    def rules(self) -> RotationRules:
        if self._rules is None:
            self._rules = load_rules(self._config_dir, tuple(self._catalog.roles))
        return self._rules

    def role_names(self) -> dict[str, str]:
        return {r.id: r.name for r in self._catalog.roles.values()}

    # -- the directory's rotation fields ----------------------------------------------------------
    def set_profile(self, handle: str, *, working_hours: str | None = None,
                    trained_roles: list[str] | None = None) -> PersonView:  # fmt: skip
        """Set a responder's working hours ("" clears them: the default applies) and role training."""
        with self._store.transaction() as s:
            person = PeopleService._get(s, handle)
            if working_hours is not None:
                text = working_hours.strip()
                person.working_hours = WorkingHours.parse(text).text if text else None
            if trained_roles is not None:
                roles = []
                for r in trained_roles:
                    if not r.strip():
                        continue
                    roles.append(self._catalog.role(r).id)  # NotFound lists the known roles
                person.trained_roles = sorted(set(roles), key=list(self._catalog.roles).index)
            view = PersonView.of(person)
        self._publish(Topic.PEOPLE, None, None)
        return view

    def hours_of(self, person: PersonView) -> WorkingHours:
        if person.working_hours:
            try:
                return WorkingHours.parse(person.working_hours)
            except ValidationError:  # stored before it was checked (an old import): the default, not a crash
                pass
        return self.rules.default_hours

    def day_of(self, person: PersonView, at: datetime) -> DayWindow:
        local = local_time(at, person.timezone)
        wh = self.hours_of(person)
        shift = wh.shift_containing(local)
        night = self.rules.night.contains(local)
        if shift:
            return DayWindow(person, local, True, as_utc(shift[0]), as_utc(shift[1]), night)
        return DayWindow(person, local, False, as_utc(wh.next_shift_start(local)), None, night)

    def day_spans(self, person: PersonView, start: datetime, end: datetime,
                  step: timedelta = timedelta(minutes=15)) -> list[tuple[datetime, datetime, str]]:  # fmt: skip
        """[start, end) cut into 'work', 'night' and 'off' spans for `person`, in UTC: one row of the
        follow-the-sun time line."""
        wh, z = self.hours_of(person), local_time(start, person.timezone).tzinfo
        out: list[tuple[datetime, datetime, str]] = []
        t = start
        while t < end:
            nxt = min(t + step, end)
            local = (t + (nxt - t) / 2).astimezone(z)
            kind = "work" if wh.shift_containing(local) else "night" if self.rules.night.contains(local) else "off"
            if out and out[-1][2] == kind:
                out[-1] = (out[-1][0], nxt, kind)
            else:
                out.append((t, nxt, kind))
            t = nxt
        return out

    # -- reading holdings -----------------------------------------------------------------------
    def _held(self, s, since: datetime | None, until: datetime, *, exercises: bool = False) -> list[Held]:
        stmt = (
            select(RoleAssignment, Person, Incident)
            .join(Person, Person.id == RoleAssignment.person_id)
            .join(Incident, Incident.id == RoleAssignment.incident_id)
            .where(RoleAssignment.started_at < until)
        )
        if since is not None:
            stmt = stmt.where(or_(RoleAssignment.ended_at.is_(None), RoleAssignment.ended_at > since))
        if not exercises:
            stmt = stmt.where(Incident.is_exercise.is_(False))
        out = []
        for ra, person, inc in s.execute(stmt).all():
            is_open = Status(inc.status).is_open
            end = ra.ended_at
            if end is None and not is_open:  # a role nobody released when the incident ended
                end = inc.resolved_at or inc.closed_at or inc.updated_at
            ongoing = end is None or end > until
            end = min(end or until, until)
            start = max(ra.started_at, since) if since else ra.started_at
            if end > start:
                out.append(Held(PersonView.of(person), ra.role, inc.id, inc.key, is_open, start, end, ongoing))
        return out

    def held_between(self, since: datetime, until: datetime, *, exercises: bool = False) -> list[Held]:
        with self._store.read() as s:
            return self._held(s, as_utc(since), as_utc(until), exercises=exercises)

    def people(self) -> list[PersonView]:
        with self._store.read() as s:
            return [PersonView.of(p) for p in s.scalars(select(Person).order_by(Person.name))]

    def report(self, since: datetime, until: datetime | None = None) -> RotationReport:
        until = as_utc(until) if until else self._now()
        since = as_utc(since)
        if since >= until:
            raise ValidationError("The period's start must be before its end.", field="since")
        with self._store.read() as s:
            held = self._held(s, since, until)
        return build_report(held, since, until, self.rules, self.role_names())

    def on_duty(self, handle: str, at: datetime | None = None) -> Stretch | None:
        """The person's current stretch on duty (every role, every incident), or None when off."""
        at = at or self._now()
        with self._store.read() as s:
            held = [h for h in self._held(s, at - timedelta(days=3), at) if h.person.handle == handle]
        current = [st for st in stretches(held, self.rules.rest) if at - st.end < timedelta(seconds=1)]
        return current[-1] if current else None

    # -- fatigue on one incident -----------------------------------------------------------------
    def fatigue(self, incident: str) -> list[Fatigue]:
        """The incident's holders past their role's limit, counting their whole stretch on duty."""
        at = self._now()
        with self._store.read() as s:
            inc = IncidentService._load(s, incident)
            held = self._held(s, at - timedelta(days=3), at)
        out = []
        for h in [h for h in held if h.incident_id == inc.id and h.ongoing]:
            mine = [x for x in held if x.person.handle == h.person.handle]
            now_on = [st for st in stretches(mine, self.rules.rest) if st.end >= at]
            limit = self.rules.limit_for(h.role)
            if now_on and now_on[-1].length > limit:
                out.append(Fatigue(h.role, h.person, now_on[-1], limit, self.day_of(h.person, at)))
        order = list(self._catalog.roles)
        return sorted(out, key=lambda f: order.index(f.role) if f.role in order else len(order))

    def candidates(self, incident: str, role: str, *, on_call: OnCallReport | None = None,
                   at: datetime | None = None) -> list[Candidate]:  # fmt: skip
        """Who could take `role` over: trained for it, not its holder. Free now (in their day, not holding a
        role on another open incident) first; on call before not; more of their day left first."""
        definition = self._catalog.role(role)
        at = at or self._now()
        with self._store.read() as s:
            inc = IncidentService._load(s, incident)
            people = [PersonView.of(p) for p in s.scalars(select(Person).order_by(Person.name))]
            held = [h for h in self._held(s, at - timedelta(days=3), at) if h.ongoing]
        here: dict[str, list[str]] = {}
        elsewhere: set[str] = set()
        for h in held:
            if h.incident_id == inc.id:
                here.setdefault(h.person.handle, []).append(h.role)
            elif h.incident_open:
                elsewhere.add(h.person.handle)
        paged = {}
        for sug in on_call.suggestions if on_call else ():
            if sug.person is not None:
                paged.setdefault(sug.person.handle, f"L{sug.escalation_level} {sug.escalation_policy}")
        out = []
        for p in people:
            if definition.id not in p.trained_roles or definition.id in here.get(p.handle, ()):
                continue
            if p.handle in elsewhere:
                continue
            day = self.day_of(p, at)
            out.append(Candidate(p, day, paged.get(p.handle), tuple(here.get(p.handle, ())), day.working))

        def rank(c: Candidate):
            left = c.day.left(at) or timedelta(0)
            return (not c.free_now, bool(c.holds_here), c.on_call is None, -left, c.day.shift_start, c.person.name)

        return sorted(out, key=rank)

    # -- follow the sun ----------------------------------------------------------------------
    def handover_plan(self, incident: str, *, on_call: OnCallReport | None = None) -> HandoverPlan:
        at = self._now()
        with self._store.read() as s:
            inc = IncidentService._load(s, incident)
            held = [h for h in self._held(s, at - timedelta(days=3), at) if h.ongoing and h.incident_id == inc.id]
        holders: dict[str, list[str]] = {}
        people: dict[str, PersonView] = {}
        for h in held:
            holders.setdefault(h.person.handle, []).append(h.role)
            people[h.person.handle] = h.person
        days = [self.day_of(p, at) for p in people.values()]
        lead = next((h for h in held if h.role == "IC"), None)
        handover_at = None
        handover_to = None
        reminders = []
        for d in days:
            for role in holders[d.person.handle]:
                end = d.shift_end
                if end is None:
                    reminders.append((d.person, role, at, False))
                elif end - at <= self.rules.reminder:
                    reminders.append((d.person, role, end, True))
        if lead is not None:
            day = next(d for d in days if d.person.handle == lead.person.handle)
            handover_at = day.shift_end or at
            handover_at = max(handover_at - self.rules.reminder / 3, at)  # a handover is done before the day ends
            working = [c for c in self.candidates(inc.id, "IC", on_call=on_call, at=handover_at) if c.day.working]
            # Someone with two hours of their day left, else whoever has the most (the plan says how much).
            handover_to = next((c for c in working if c.day.shift_end - handover_at >= timedelta(hours=2)),
                               max(working, key=lambda c: c.day.shift_end, default=None))  # fmt: skip
        others = [self.day_of(c.person, at) for c in self.candidates(inc.id, "IC", on_call=on_call, at=at)[:6]
                  if c.person.handle not in people]  # fmt: skip
        reminders.sort(key=lambda r: (not r[3], r[2]))
        return HandoverPlan(at, tuple(days + others), {k: tuple(v) for k, v in holders.items()}, handover_at,
                            handover_to, tuple(reminders))  # fmt: skip

    def day_ending(self, at: datetime | None = None) -> list[tuple[PersonView, str, str, datetime, bool]]:
        """Holders on open incidents whose working day ends within the reminder, or who are outside it:
        (person, role, incident key, day ends (now when already over), still working), soonest first."""
        at = at or self._now()
        with self._store.read() as s:
            held = [h for h in self._held(s, at - timedelta(days=3), at) if h.ongoing and h.incident_open]
        out = []
        for h in held:
            day = self.day_of(h.person, at)
            ends = day.shift_end or at
            if ends - at <= self.rules.reminder:
                out.append((h.person, h.role, h.incident_key, ends, day.working))
        return sorted(out, key=lambda r: (not r[4], r[3]))
