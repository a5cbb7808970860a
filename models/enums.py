"""Closed vocabularies of the domain. Stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    DECLARED = "declared"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


# Forward moves a commander makes in the normal course; anything else is refused.
# Going back (e.g. Mitigated -> Investigating when the fix did not hold) is allowed
# among the open states; leaving Resolved or Closed is a reopen and needs a reason.
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DECLARED: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED}),
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED}),
    Status.MITIGATED: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
REOPEN_TARGETS = frozenset({Status.INVESTIGATING, Status.IDENTIFIED})


class EntryKind(StrEnum):
    NOTE = "note"
    OBSERVATION = "observation"
    ASSUMPTION = "assumption"
    DECISION = "decision"
    ACTION = "action"
    STATUS_CHANGE = "status_change"
    SEVERITY_CHANGE = "severity_change"
    ROLE_CHANGE = "role_change"
    MILESTONE_CHANGE = "milestone_change"
    MAJOR_CHANGE = "major_change"
    IMPACT_CHANGE = "impact_change"
    CLOCK_BREACH = "clock_breach"
    COMMS = "comms"
    ALERT = "alert"
    CONFIG_CHANGE = "config_change"
    CORRECTION = "correction"
    SYSTEM = "system"
    CHECKLIST = "checklist"  # a resolution checklist tick, value, waiver or override
    INJECT = "inject"  # a tabletop exercise's scripted event, delivered by its scenario clock
    RUNBOOK_STEP_STARTED = "runbook_step_started"
    RUNBOOK_STEP_RESULT = "runbook_step_result"
    RUNBOOK_STEP_SKIPPED = "runbook_step_skipped"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# Kinds a person types in; the rest are written by the services as side effects of a change.
AUTHORED_KINDS = frozenset(
    {
        EntryKind.NOTE,
        EntryKind.OBSERVATION,
        EntryKind.ASSUMPTION,
        EntryKind.DECISION,
        EntryKind.ACTION,
        EntryKind.COMMS,
        EntryKind.ALERT,
        EntryKind.CONFIG_CHANGE,
    }
)


class Milestone(StrEnum):
    IMPACT_STARTED = "impact_started"
    DETECTED = "detected"
    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    IC_ASSIGNED = "ic_assigned"
    BRIDGE_OPENED = "bridge_opened"
    IDENTIFIED = "identified"  # the cause is known (Statuspage's "identified" stage)
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return "IC assigned" if self is Milestone.IC_ASSIGNED else self.value.replace("_", " ").capitalize()

    @property
    def column(self) -> str:
        return f"{self.value}_at"


# Pairs (earlier, later) that must hold whenever both milestones are set.
MILESTONE_ORDER: tuple[tuple[Milestone, Milestone], ...] = (
    (Milestone.IMPACT_STARTED, Milestone.DETECTED),
    (Milestone.DETECTED, Milestone.ACKNOWLEDGED),
    (Milestone.DETECTED, Milestone.DECLARED),
    (Milestone.IMPACT_STARTED, Milestone.MITIGATED),
    (Milestone.DECLARED, Milestone.IC_ASSIGNED),
    (Milestone.DECLARED, Milestone.BRIDGE_OPENED),
    (Milestone.ACKNOWLEDGED, Milestone.MITIGATED),
    (Milestone.ACKNOWLEDGED, Milestone.IDENTIFIED),
    (Milestone.DETECTED, Milestone.IDENTIFIED),
    (Milestone.IDENTIFIED, Milestone.MITIGATED),
    (Milestone.IDENTIFIED, Milestone.RESOLVED),
    (Milestone.MITIGATED, Milestone.RESOLVED),
    (Milestone.IMPACT_STARTED, Milestone.RESOLVED),
    (Milestone.DECLARED, Milestone.RESOLVED),
    (Milestone.RESOLVED, Milestone.CLOSED),
)


def _implied_pairs() -> tuple[tuple[Milestone, Milestone], ...]:
    """MILESTONE_ORDER followed by every pair it implies through others (detected before mitigated, by way
    of acknowledged), so an order check holds even when the milestone in the middle is not set."""
    pairs = list(MILESTONE_ORDER)
    while True:
        extra = sorted(
            {(a, d) for a, b in pairs for c, d in pairs if b == c and (a, d) not in pairs},
            key=lambda p: (list(Milestone).index(p[0]), list(Milestone).index(p[1])),
        )
        if not extra:
            return tuple(pairs)
        pairs.extend(extra)


# Every (earlier, later) pair that must hold when both are set: the direct rules first, then the implied.
MILESTONE_BEFORE: tuple[tuple[Milestone, Milestone], ...] = _implied_pairs()


class OutboxState(StrEnum):
    """Where a sync outbox item is on its way to a backend."""

    PENDING = "pending"  # waiting to be sent (or to be retried)
    IN_FLIGHT = "in_flight"  # claimed by a worker; if it crashed, the outcome is uncertain
    SENT = "sent"  # the backend confirmed it
    FAILED = "failed"  # the backend refused it for good; needs retry or cancel by a person
    CANCELLED = "cancelled"  # a person decided it is not owed any more

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class MessageState(StrEnum):
    """Where a drafted message is between the template and the channels."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ClockState(StrEnum):
    AWAITING = "awaiting"  # its trigger has not happened yet
    RUNNING = "running"
    MET = "met"
    WITHDRAWN = "withdrawn"  # judged not to apply

    @property
    def label(self) -> str:
        return self.value.capitalize()


class MaintenanceStatus(StrEnum):
    """Where a planned maintenance window is. The first four are Statuspage's own words for a scheduled
    maintenance; `cancelled` is Sitrep's (Statuspage has no such status: see services/maintenance.py)."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        return self not in (MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED)


# Moves a person makes; anything else is refused. Verifying can go back to in progress (the check
# failed, the work resumes); a finished window stays finished.
MAINTENANCE_TRANSITIONS: dict[MaintenanceStatus, frozenset[MaintenanceStatus]] = {
    MaintenanceStatus.SCHEDULED: frozenset(
        {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED}
    ),
    MaintenanceStatus.IN_PROGRESS: frozenset(
        {MaintenanceStatus.VERIFYING, MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED}
    ),
    MaintenanceStatus.VERIFYING: frozenset(
        {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED}
    ),
    MaintenanceStatus.COMPLETED: frozenset(),
    MaintenanceStatus.CANCELLED: frozenset(),
}
