"""The two rows the console's first paint reads (an incident, a timeline entry), in a module of their own.

The read lane (services/storage/read_lane.py) builds them before anything else of Sitrep is imported, so they
are written out by hand: `dataclasses` and the code it generates for each class cost ~10 ms of the start
before the first paint (docs/performance.md). IncidentView behaves as the frozen dataclass it was: made by
keyword or position, compared field by field, immutable, unhashable while it holds its milestones' dict.
services/record/views.py re-exports both with the other views.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from models.enums import Milestone, Status

if TYPE_CHECKING:  # only named in annotations: the read lane uses these rows without importing the ORM
    from models.entities import Incident


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

_NO_MILESTONES: Any = object()  # "not given": each view gets a dict of its own


class IncidentView:
    """One incident as the GUI and the CLI see it: plain values, never a live ORM object."""

    __slots__ = (
        "id",
        "key",
        "number",
        "title",
        "summary",
        "incident_type",
        "severity",
        "status",
        "is_major",
        "is_exercise",
        "services",
        "affected_users",
        "error_rate_pct",
        "source",
        "created_at",
        "updated_at",
        "milestones",
        # [earlier, later] milestone names an imported history contradicts (see Incident.flagged_pairs)
        "flagged_pairs",
    )
    __match_args__ = __slots__

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
    milestones: dict[Milestone, datetime | None]
    flagged_pairs: tuple[tuple[str, str], ...]

    def __init__(
        self,
        id: str,  # noqa: A002 - the field's name
        key: str,
        number: int,
        title: str,
        summary: str,
        incident_type: str,
        severity: str,
        status: Status,
        is_major: bool,
        is_exercise: bool,
        services: tuple[str, ...],
        affected_users: int | None,
        error_rate_pct: float | None,
        source: str,
        created_at: datetime,
        updated_at: datetime,
        milestones: dict[Milestone, datetime | None] = _NO_MILESTONES,
        flagged_pairs: tuple[tuple[str, str], ...] = (),
    ) -> None:
        put = object.__setattr__
        put(self, "id", id)
        put(self, "key", key)
        put(self, "number", number)
        put(self, "title", title)
        put(self, "summary", summary)
        put(self, "incident_type", incident_type)
        put(self, "severity", severity)
        put(self, "status", status)
        put(self, "is_major", is_major)
        put(self, "is_exercise", is_exercise)
        put(self, "services", services)
        put(self, "affected_users", affected_users)
        put(self, "error_rate_pct", error_rate_pct)
        put(self, "source", source)
        put(self, "created_at", created_at)
        put(self, "updated_at", updated_at)
        put(self, "milestones", {} if milestones is _NO_MILESTONES else milestones)
        put(self, "flagged_pairs", flagged_pairs)

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

    # -- a frozen value --------------------------------------------------------------------------
    def _astuple(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def _asdict(self) -> dict[str, Any]:
        """Its fields by name, in order (what app/cli_output.py prints)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._astuple() == other._astuple()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._astuple())  # as a frozen dataclass: a TypeError while `milestones` is a dict

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: an IncidentView is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: an IncidentView is immutable")
