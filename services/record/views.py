"""Plain, immutable rows handed to the GUI and the CLI. Never live ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.record.rows import ENTRY_COLUMNS, EntryRow, IncidentView

if TYPE_CHECKING:
    from models.entities import Person, RoleAssignment

__all__ = ["ENTRY_COLUMNS", "EntryRow", "IncidentView", "PersonView", "RoleHolding"]


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
