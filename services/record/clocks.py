"""Severity clocks: the deadlines a severity level sets, and the breaches they record.

- bridge: the bridge must be open within N minutes of declaration (met by the bridge-opened milestone);
- commander: a commander must be named within N minutes (met by the IC-assigned milestone);
- next update: an external update is due N minutes after the last one (the first one, after declaration),
  with a slower cadence once the incident has run long. A comms entry on the timeline is an update.
A clock that runs out writes one clock-breach entry on the timeline, once per deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from models.entities import TimelineEntry
from models.enums import EntryKind, Milestone
from models.types import iso
from services.changes import Topic
from services.record.catalog import UNKNOWN_SEVERITY, Catalog
from services.record.incidents import IncidentService
from services.record.timeline import append_entry
from services.record.views import IncidentView
from services.text.timetext import utc_text

_T = TimelineEntry.__table__
HISTORY_SOURCE_PREFIX = "import:"  # the source services.analytics.history_import gives the entries it writes


@dataclass(frozen=True)
class Clock:
    id: str  # bridge | commander | next_update
    label: str
    due_at: datetime
    met_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.met_at is not None:
            return "met" if self.met_at <= self.due_at else "met_late"
        return "breached" if now > self.due_at else "running"

    def remaining(self, now: datetime) -> timedelta:
        return self.due_at - now

    @property
    def breached_at_due(self) -> bool:
        return self.met_at is not None and self.met_at > self.due_at


def compute_clocks(inc: IncidentView, catalog: Catalog, last_update_at: datetime | None) -> list[Clock]:
    """The clocks of an incident. Pure: the same inputs give the same clocks."""
    declared = inc.milestone(Milestone.DECLARED)
    if declared is None or inc.severity == UNKNOWN_SEVERITY:  # no level, no deadlines to keep
        return []
    level = catalog.severity(inc.severity)
    clocks: list[Clock] = []
    if level.bridge_within_min is not None:
        clocks.append(
            Clock(
                "bridge",
                "Bridge open",
                declared + timedelta(minutes=level.bridge_within_min),
                inc.milestone(Milestone.BRIDGE_OPENED),
            )
        )
    if level.commander_within_min is not None:
        clocks.append(
            Clock(
                "commander",
                "Commander named",
                declared + timedelta(minutes=level.commander_within_min),
                inc.milestone(Milestone.IC_ASSIGNED),
            )
        )
    if inc.is_open and level.external_update_every_min is not None:
        if last_update_at is None:
            minutes = level.first_external_update_min or level.external_update_every_min
            base = declared
        else:
            minutes = level.external_update_every_min
            long_after = level.long_incident_after_min
            if (
                long_after
                and level.long_incident_update_every_min
                and last_update_at - declared >= timedelta(minutes=long_after)
            ):
                minutes = level.long_incident_update_every_min
            base = last_update_at
        clocks.append(Clock("next_update", "Next external update", base + timedelta(minutes=minutes), None))
    return clocks


class ClockService:
    def __init__(self, store, catalog: Catalog, now: Callable[[], datetime], publish) -> None:
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        # Other clocks an incident runs beyond its severity's (the post-incident review's): each source
        # is called with a read connection and the incident and returns Clock rows; they show and are
        # recorded as breached like the others.
        self.extra_sources: list[Callable[..., list[Clock]]] = []
        # Clocks recorded as breached like the others, but shown by a panel of their own rather than as the
        # header's chips (a vendor case runs two: with the severity clocks they pushed the header past a
        # laptop's width). `clocks(inc, everything=True)` includes them, for the review document.
        self.panel_sources: list[Callable[..., list[Clock]]] = []

    def _extra(self, conn, inc: IncidentView, *, everything: bool = False) -> list[Clock]:
        sources = self.extra_sources + (self.panel_sources if everything else [])
        return [c for source in sources for c in source(conn, inc)]

    def _last_update(self, conn, incident_id: str) -> datetime | None:
        row = conn.execute(
            select(_T.c.occurred_at)
            .where(_T.c.incident_id == incident_id, _T.c.kind == EntryKind.COMMS.value)
            .order_by(_T.c.occurred_at.desc())
            .limit(1)
        ).first()
        return row[0] if row else None

    @staticmethod
    def _from_history(conn, incident_id: str) -> bool:
        """An incident imported from history was not run here: its record has no bridge or commander
        milestones to meet a clock with, and reading its clocks as "breached" would only mislead."""
        source = conn.execute(
            select(_T.c.source).where(_T.c.incident_id == incident_id, _T.c.seq == 1)
        ).scalar()
        return bool(source and source.startswith(HISTORY_SOURCE_PREFIX))

    def clocks(self, inc: IncidentView, *, everything: bool = False) -> list[Clock]:
        with self._store.read_connection() as conn:
            if self._from_history(conn, inc.id):
                return []
            last = self._last_update(conn, inc.id)
            extra = self._extra(conn, inc, everything=everything)
        return compute_clocks(inc, self._catalog, last) + extra

    def check(self, ref: str, *, author: str = "sitrep") -> list[Clock]:
        """Record a breach entry for every clock past its deadline that has not been recorded yet."""
        now = self._now()
        new_breaches: list[Clock] = []
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            view = IncidentView.of(inc)
            conn = s.connection()
            if self._from_history(conn, inc.id):
                return []
            clocks = compute_clocks(view, self._catalog, self._last_update(conn, inc.id)) + self._extra(
                conn, view, everything=True
            )
            recorded = {
                (d.get("clock"), d.get("due_at"))
                for (d,) in conn.execute(
                    select(_T.c.data).where(
                        _T.c.incident_id == inc.id, _T.c.kind == EntryKind.CLOCK_BREACH.value
                    )
                )
                if d
            }
            for clock in clocks:
                if clock.state(now) not in ("breached", "met_late"):
                    continue
                if (clock.id, iso(clock.due_at)) in recorded:
                    continue
                late_by = (clock.met_at or now) - clock.due_at
                minutes = int(late_by.total_seconds() // 60)
                body = f"Clock breached: {clock.label} was due {utc_text(clock.due_at)} ({view.severity})"
                if clock.met_at is not None:
                    body += f"; met {minutes} min late"
                append_entry(
                    s,
                    inc.id,
                    EntryKind.CLOCK_BREACH,
                    body,
                    author=author,
                    now=now,
                    occurred_at=clock.due_at,
                    data={"clock": clock.id, "due_at": iso(clock.due_at), "severity": view.severity},
                    hooks=self._store.entry_hooks,
                )
                new_breaches.append(clock)
            incident_id = inc.id
        if new_breaches:
            self._publish(Topic.TIMELINE, incident_id, None)
        return new_breaches
