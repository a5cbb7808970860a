"""Rotation figures from role holdings: hours per person per role, night hours in the person's own zone,
the longest unbroken stretch, and key-person dependencies. Pure: holdings in, frozen rows out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.record.views import PersonView
from services.rotation.rules import RotationRules


@dataclass(frozen=True)
class Held:
    """One holding, clipped to what is being measured; `end` is never None (an open one ends now)."""

    person: PersonView
    role: str
    incident_id: str
    incident_key: str
    incident_open: bool
    start: datetime
    end: datetime
    ongoing: bool  # still held now


@dataclass(frozen=True)
class Stretch:
    start: datetime
    end: datetime
    roles: tuple[str, ...]
    incidents: tuple[str, ...]

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def stretches(held: list[Held], rest: timedelta) -> list[Stretch]:
    """One person's holdings joined into stretches on duty: overlaps and breaks shorter than `rest` join."""
    out: list[Stretch] = []
    cur: list[Held] = []
    end = None
    for h in sorted(held, key=lambda h: h.start):
        if cur and h.start - end >= rest:
            out.append(_stretch(cur, end))
            cur = []
        if not cur:
            end = h.end
        cur.append(h)
        end = max(end, h.end)
    if cur:
        out.append(_stretch(cur, end))
    return out


def _stretch(held: list[Held], end: datetime) -> Stretch:
    roles = tuple(dict.fromkeys(h.role for h in held))
    keys = tuple(dict.fromkeys(h.incident_key for h in held))
    return Stretch(held[0].start, end, roles, keys)


@dataclass(frozen=True)
class RoleHours:
    role: str
    hours: float
    night_hours: float
    incidents: int


@dataclass(frozen=True)
class PersonRotation:
    person: PersonView
    roles: tuple[RoleHours, ...]
    hours: float
    night_hours: float
    longest: Stretch | None
    incidents: int

    def as_dict(self) -> dict:
        lg = self.longest
        return {
            "handle": self.person.handle,
            "name": self.person.name,
            "timezone": self.person.timezone,
            "hours": round(self.hours, 2),
            "night_hours": round(self.night_hours, 2),
            "incidents": self.incidents,
            "longest_stretch_hours": round(lg.length.total_seconds() / 3600, 2) if lg else 0,
            "longest_stretch": {"start": lg.start.isoformat(), "end": lg.end.isoformat(), "roles": list(lg.roles),
                                "incidents": list(lg.incidents)} if lg else None,  # fmt: skip
            "roles": [{"role": r.role, "hours": round(r.hours, 2), "night_hours": round(r.night_hours, 2),
                       "incidents": r.incidents} for r in self.roles],  # fmt: skip
        }


@dataclass(frozen=True)
class KeyPerson:
    role: str
    person: PersonView
    incidents: int  # incidents of the period in which they held the role
    of: int  # incidents of the period in which anyone held it

    @property
    def share(self) -> float:
        return self.incidents / self.of if self.of else 0.0

    def as_dict(self) -> dict:
        return {"role": self.role, "handle": self.person.handle, "name": self.person.name,
                "incidents": self.incidents, "of": self.of, "share": round(self.share, 3)}  # fmt: skip


@dataclass(frozen=True)
class RotationReport:
    since: datetime
    until: datetime
    incidents: int
    people: tuple[PersonRotation, ...]  # most hours first
    key_people: tuple[KeyPerson, ...]  # highest share first
    role_names: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "incidents": self.incidents,
            "people": [p.as_dict() for p in self.people],
            "key_people": [k.as_dict() for k in self.key_people],
        }


def build_report(held: list[Held], since: datetime, until: datetime, rules: RotationRules,
                 role_names: dict[str, str]) -> RotationReport:  # fmt: skip
    by_person: dict[str, list[Held]] = defaultdict(list)
    for h in held:
        by_person[h.person.handle].append(h)
    people = []
    for group in by_person.values():
        person = group[0].person
        roles: dict[str, list[Held]] = defaultdict(list)
        for h in group:
            roles[h.role].append(h)
        rows = []
        for role, hs in roles.items():
            hours = sum((h.end - h.start).total_seconds() for h in hs) / 3600
            night = sum(rules.night.hours_within(h.start, h.end, person.timezone) for h in hs)
            rows.append(RoleHours(role, hours, night, len({h.incident_id for h in hs})))
        rows.sort(key=lambda r: -r.hours)
        longest = max(stretches(group, rules.rest), key=lambda s: s.length, default=None)
        people.append(PersonRotation(person, tuple(rows), sum(r.hours for r in rows),
                                     sum(r.night_hours for r in rows), longest,
                                     len({h.incident_id for h in group})))  # fmt: skip
    people.sort(key=lambda p: (-p.hours, p.person.name))
    staffed: dict[str, set[str]] = defaultdict(set)
    holder_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    persons = {}
    for h in held:
        staffed[h.role].add(h.incident_id)
        holder_of[(h.role, h.person.handle)].add(h.incident_id)
        persons[h.person.handle] = h.person
    keys = []
    for (role, handle), incs in holder_of.items():
        of = len(staffed[role])
        # Three incidents is the least from which "most of them" says something about a team.
        if of >= 3 and len(incs) / of > rules.key_person_share:
            keys.append(KeyPerson(role, persons[handle], len(incs), of))
    keys.sort(key=lambda k: (-k.share, -k.incidents, k.role))
    incidents = len({h.incident_id for h in held})
    return RotationReport(since, until, incidents, tuple(people), tuple(keys), role_names)
