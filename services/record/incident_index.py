"""A light listing of every incident, for the console's incidents list.

`IncidentService.list` builds a full ORM object and view per incident: right for a page of
results, too slow to refresh a list of 10,000 imported incidents on every change (it takes
about 0.75 s here). This reads only the columns a list shows, through Core, and leaves the
services column as JSON text decoded once per distinct value (most incidents share a few).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import String, Text, case, cast, func, select, type_coerce

from models.entities import Incident
from models.enums import Status

_CLOSED = (Status.RESOLVED.value, Status.CLOSED.value)
_CHUNK = 500  # ids per IN (...) query, under SQLite's variable limit


class IncidentSummary(NamedTuple):
    id: str
    key: str
    number: int
    title: str
    severity: str
    status: Status
    is_major: bool
    is_exercise: bool
    services: tuple[str, ...]
    declared_at: datetime | None
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status.value not in _CLOSED

    def order_key(self) -> tuple:
        """Open incidents first, then the most recently declared: the order of `sitrep list`."""
        declared = self.declared_at.timestamp() if self.declared_at else 0.0
        return (not self.is_open, -declared, -self.number)


class ServiceSeen(NamedTuple):
    """An impacted service as the store knows it: on how many incidents, how many still open."""

    name: str
    incidents: int
    open_incidents: int


class ListFingerprint(NamedTuple):
    """Changes whenever an incident is added or changed (every change stamps updated_at)."""

    count: int
    last_number: int | None
    last_update: datetime | None


_I = Incident.__table__
_COLUMNS = (
    _I.c.id,
    _I.c.key,
    _I.c.number,
    _I.c.title,
    _I.c.severity,
    _I.c.status,
    _I.c.is_major,
    _I.c.is_exercise,
    type_coerce(_I.c.services, String),  # raw JSON text; decoded below with a cache
    _I.c.declared_at,
    _I.c.updated_at,
)


class IncidentIndex:
    def __init__(self, store) -> None:
        self._store = store
        self._services_cache: dict[str | None, tuple[str, ...]] = {}
        self._statuses = {s.value: s for s in Status}

    def _services(self, raw: str | None) -> tuple[str, ...]:
        hit = self._services_cache.get(raw)
        if hit is None:
            try:
                value = json.loads(raw) if raw else []
            except ValueError:
                value = []
            hit = tuple(str(v) for v in value) if isinstance(value, list) else ()
            if len(self._services_cache) < 10_000:
                self._services_cache[raw] = hit
        return hit

    def _row(self, r) -> IncidentSummary:
        return IncidentSummary(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            self._statuses.get(r[5], Status.DECLARED),
            bool(r[6]),
            bool(r[7]),
            self._services(r[8]),
            r[9],
            r[10],
        )

    def summaries(self, ids: Iterable[str] | None = None) -> list[IncidentSummary]:
        """Every incident (or just these), open first, then the most recently declared."""
        with self._store.read_connection() as conn:
            if ids is None:
                rows = [self._row(r) for r in conn.execute(select(*_COLUMNS))]
            else:
                wanted = list(dict.fromkeys(ids))
                rows = []
                for start in range(0, len(wanted), _CHUNK):
                    stmt = select(*_COLUMNS).where(_I.c.id.in_(wanted[start : start + _CHUNK]))
                    rows.extend(self._row(r) for r in conn.execute(stmt))
        rows.sort(key=IncidentSummary.order_key)
        return rows

    def fingerprint(self) -> ListFingerprint:
        with self._store.read_connection() as conn:
            count, last_number, last_update = conn.execute(
                select(func.count(), func.max(_I.c.number), func.max(_I.c.updated_at))
            ).one()
        return ListFingerprint(int(count or 0), last_number, last_update)

    def services_seen(self) -> list[ServiceSeen]:
        """Every service named on an incident, A to Z, with how often. One grouped query: most incidents
        share a handful of service lists, so this decodes a few JSON values, not one per incident."""
        # The cast makes the JSON groupable on PostgreSQL too (plain json has no equality operator).
        services = cast(_I.c.services, Text)
        is_open = case((_I.c.status.in_(_CLOSED), 0), else_=1)
        stmt = select(services, func.count(), func.sum(is_open)).group_by(services)
        counts: dict[str, list[int]] = {}
        with self._store.read_connection() as conn:
            for raw, n, n_open in conn.execute(stmt):
                for name in set(self._services(raw)):
                    seen = counts.setdefault(name, [0, 0])
                    seen[0] += int(n or 0)
                    seen[1] += int(n_open or 0)
        return [
            ServiceSeen(name, total, still_open)
            for name, (total, still_open) in sorted(counts.items(), key=lambda kv: (kv[0].casefold(), kv[0]))
        ]
