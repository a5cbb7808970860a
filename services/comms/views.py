"""What the communications services return: plain frozen rows, never ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from models.entities import (
    Stakeholder,
)
from models.enums import ClockState, MessageState
from services.comms.settings import format_duration
from services.comms.templates import (
    Problem,
)


@dataclass(frozen=True)
class Delivery:
    """One channel's delivery of a sent message (from the sync outbox)."""

    channel: str
    state: str  # queued | sending | sent | failed | cancelled | not queued | sent by hand (how)
    item_id: int | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    updated_at: datetime | None
    channel_label: str = ""

    @property
    def label(self) -> str:
        return self.channel_label or self.channel


@dataclass(frozen=True)
class MessageView:
    id: str
    incident_id: str
    incident_key: str
    number: int
    template_id: str
    template_name: str
    audience: str
    channels: tuple[str, ...]
    fields: dict[str, str]
    recipients: dict[str, Any]
    timezone: str
    rendered: dict[str, Any]
    content_hash: str
    state: MessageState
    author: str
    created_at: datetime
    updated_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    approver: str | None
    approved_at: datetime | None
    approved_hash: str | None
    rejected_by: str | None
    rejected_at: datetime | None
    rejection_comment: str | None
    sent_by: str | None
    sent_at: datetime | None
    sent_entry_id: str | None
    needs_approval: bool = False
    external: bool = False
    subject: str = ""  # the headline of its first channel's rendering

    @property
    def ref(self) -> str:
        return f"{self.incident_key}/{self.number}"


@dataclass(frozen=True)
class Preview:
    rendered: dict[str, Any]
    problems: list[Problem]
    missing: list[str]
    content_hash: str

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


@dataclass(frozen=True)
class StakeholderView:
    id: str
    handle: str
    name: str
    kind: str
    group: str
    email: str | None
    phone: str | None
    slack: str | None
    timezone: str
    severities: tuple[str, ...]
    incident_types: tuple[str, ...]
    notes: str
    active: bool

    @classmethod
    def of(cls, s: Stakeholder) -> StakeholderView:
        return cls(s.id, s.handle, s.name, s.kind, s.group, s.email, s.phone, s.slack, s.timezone,
                   tuple(s.severities or ()), tuple(s.incident_types or ()), s.notes or "", s.active)  # fmt: skip


@dataclass(frozen=True)
class RegClockView:
    id: str
    incident_id: str
    rule_id: str
    label: str
    rule: dict[str, Any]
    state: ClockState
    trigger_at: datetime | None
    deadline_at: datetime | None
    started_by: str
    met_at: datetime | None
    closed_by: str | None
    note: str

    def remaining(self, now: datetime) -> timedelta | None:
        if self.deadline_at is None:
            return None
        return self.deadline_at - now

    def status_text(self, now: datetime) -> str:
        if self.state is ClockState.AWAITING:
            return f"waiting for: {self.rule.get('trigger_label', self.rule.get('trigger', 'its trigger'))}"
        if self.state is ClockState.MET:
            late = self.met_at and self.deadline_at and self.met_at > self.deadline_at
            return "met late" if late else "met"
        if self.state is ClockState.WITHDRAWN:
            return "withdrawn"
        left = self.remaining(now)
        if left is None:
            return "running"
        if left.total_seconds() < 0:
            return f"OVERDUE by {format_duration(-left)}"
        return f"{format_duration(left)} left"


@dataclass
class ContactInput:
    channel: str
    audience: str
    content: str
    recipients: list[str] = field(default_factory=list)
    direction: str = "outbound"
    subject: str = ""
    occurred_at: datetime | None = None


LOG_CHANNELS = ("phone", "email", "slack", "statuspage", "meeting", "letter", "portal", "sms", "other")
