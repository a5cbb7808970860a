"""Change notices: after each commit a service says what kind of data changed (a `Topic`), for which
incident, and who asked for it, so each listener decides whether to refresh and a panel can skip the echo
of its own action. Qt-free; ui/context.py bridges the bus to a Qt signal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class Topic(StrEnum):
    """What kind of data changed. A StrEnum, so a topic still reads and compares as its name."""

    INCIDENT = "incident"  # an incident's state, severity, milestones or details; a new incident
    TIMELINE = "timeline"  # an entry appended to a timeline
    ROLES = "roles"  # an incident role assigned, handed over or released; a checklist tick
    PEOPLE = "people"  # the responder directory
    COMMS = "comms"  # messages, the stakeholder log, regulatory clocks
    STAKEHOLDERS = "stakeholders"  # the stakeholder registry
    SYNC = "sync"  # the outbox and the backends' state
    MAINTENANCE = "maintenance"  # maintenance windows
    EXERCISE = "exercise"  # a tabletop exercise's clock, injects, marks and notes
    RUNBOOKS = "runbooks"  # a runbook run, its steps, drills and findings
    REVIEW = "review"  # a post-incident review: its sections, checklist, meeting, status
    ALERTS = "alerts"  # alerts taken in, muted, acknowledged, triaged; their groups
    ACTIONS = "actions"  # post-incident action items (also a status pulled from their tracker)
    DELEGATIONS = "delegations"  # the register of delegations of authority and their reviews
    PROBLEMS = "problems"  # problem records, an incident's problem and the changes linked as its cause
    VENDORS = "vendors"  # vendor cases: opened, replied to, climbed, closed; the vendor register
    EXTERNAL = "external"  # another process wrote the store: anything may have changed


@dataclass(frozen=True)
class Change:
    """incident_id may be None (many or none); seq is the new timeline entry's number when one entry was
    appended; initiator is whatever `ChangeBus.initiated_by` named around the write (a panel), else None."""

    topic: Topic
    incident_id: str | None
    seq: int | None
    initiator: object | None = None


class ChangeBus:
    """Synchronous fan-out of Change notices after each commit."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Change], None]] = []
        # Per thread: a worker's writes (sync, an import) must not be credited to the GUI's current action.
        self._asking = threading.local()

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @contextmanager
    def initiated_by(self, initiator: object) -> Iterator[None]:
        """Changes published inside the block, on this thread, name `initiator` as who asked."""
        outer = getattr(self._asking, "who", None)
        self._asking.who = initiator
        try:
            yield
        finally:
            self._asking.who = outer

    def publish(self, topic: Topic, incident_id: str | None, seq: int | None) -> None:
        change = Change(Topic(topic), incident_id, seq, getattr(self._asking, "who", None))
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # a broken listener must not undo a committed change
                log.exception("change listener failed for %s", change)
