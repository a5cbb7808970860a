"""Plain, immutable rows handed to the GUI and the CLI. Never live ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from models.enums import Milestone, Status

if TYPE_CHECKING:  # only named in annotations: the read lane uses these rows without importing the ORM
    from models.entities import Incident, Person, RoleAssignment


class EntryRow(NamedTuple):
    id: str
    incident_id: str
    seq: int
    kind: str
    body: str
    rationale: str | None
    author: str
    source: str
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any] | None
    supersedes_id: str | None
    prev_hash: str
    hash: str


ENTRY_COLUMNS = EntryRow._fields


@dataclass(frozen=True)
class IncidentView:
    id: str
    key: str
    number: int
    title: str
    summary: str
    incident_type: str
    severity: str
    status: Status
    is_major: bool
    is_exercise: bool
    services: tuple[str, ...]
    affected_users: int | None
    error_rate_pct: float | None
    source: str
    created_at: datetime
    updated_at: datetime
    milestones: dict[Milestone, datetime | None] = field(default_factory=dict)
    # [earlier, later] milestone names an imported history contradicts (see Incident.flagged_pairs)
    flagged_pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, inc: Incident) -> IncidentView:
        return cls(
            id=inc.id,
            key=inc.key,
            number=inc.number,
            title=inc.title,
            summary=inc.summary,
            incident_type=inc.incident_type,
            severity=inc.severity,
            status=Status(inc.status),
            is_major=inc.is_major,
            is_exercise=inc.is_exercise,
            services=tuple(inc.services or ()),
            affected_users=inc.affected_users,
            error_rate_pct=inc.error_rate_pct,
            source=inc.source,
            created_at=inc.created_at,
            updated_at=inc.updated_at,
            milestones={m: getattr(inc, m.column) for m in Milestone},
            flagged_pairs=tuple((p[0], p[1]) for p in inc.flagged_pairs or ()),
        )

    def milestone(self, m: Milestone) -> datetime | None:
        return self.milestones.get(m)

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True)
class PersonView:
    id: str
    name: str
    handle: str
    email: str | None
    phone: str | None
    timezone: str
    working_hours: str | None = None  # as typed, in `timezone`; None: the rotation default
    trained_roles: tuple[str, ...] = ()

    @classmethod
    def of(cls, p: Person) -> PersonView:
        return cls(
            p.id, p.name, p.handle, p.email, p.phone, p.timezone, p.working_hours, tuple(p.trained_roles or ())
        )


@dataclass(frozen=True)
class RoleHolding:
    id: str
    incident_id: str
    role: str
    person: PersonView
    started_at: datetime
    ended_at: datetime | None
    assigned_by: str
    handover_brief: dict[str, Any] | None
    checklist_done: tuple[int, ...]

    @classmethod
    def of(cls, ra: RoleAssignment, person: Person) -> RoleHolding:
        return cls(
            ra.id,
            ra.incident_id,
            ra.role,
            PersonView.of(person),
            ra.started_at,
            ra.ended_at,
            ra.assigned_by,
            ra.handover_brief,
            tuple(ra.checklist_done or ()),
        )
