"""What the sync service answers about its backends: whether one can take something now (Readiness),
how each is configured (BackendInfo) and how its lane is doing (LaneStatus, SyncStatus). Plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Why a backend cannot take anything now (Readiness.state); "ready" when it can.
READY = "ready"
NOT_INSTALLED = "not_installed"
UNREADABLE = "unreadable"  # the settings file cannot be read
OFF = "off"
INCOMPLETE = "incomplete"  # enabled, but a required setting is missing
SKIPS_EXERCISES = "skips_exercises"



@dataclass(frozen=True)
class Readiness:
    """Whether a backend can take something now, and if not why: the one answer the console, the CLI
    and communications read (none of them looks at adapters or the outbox writer)."""

    backend: str
    label: str
    state: str  # READY, or the reason it is not
    detail: str = ""  # the missing settings, or the unreadable file's problem

    @property
    def ready(self) -> bool:
        return self.state == READY

    @property
    def problem(self) -> str | None:
        """The reason in a sentence; None when ready."""
        name, label = self.backend, self.label
        return {
            READY: None,
            NOT_INSTALLED: f"{label} is not available in this installation.",
            UNREADABLE: f"{label} is not set up to send: {self.detail}",
            OFF: f"{label} is not set up to send (backend '{name}' is off): enable it in Tools ▸ Backends… "
                 f"or with `sitrep backend set {name} --enable --set KEY=VALUE`.",
            INCOMPLETE: f"{label} is not set up to send: {self.detail}",
            SKIPS_EXERCISES: f"{label} is set not to receive exercises.",
        }[self.state]  # fmt: skip


@dataclass(frozen=True)
class BackendInfo:
    name: str
    label: str
    enabled: bool
    settings: dict[str, Any]
    missing: list[str]  # settings that must be set before it can send


@dataclass(frozen=True)
class LaneStatus:
    backend: str
    label: str
    enabled: bool
    pending: int
    in_flight: int
    failed: int
    sent: int
    cancelled: int
    breaker: str  # closed | open | half_open (as the last worker saw it)
    last_error: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None

    @property
    def online(self) -> bool:
        return self.breaker == "closed" and not (
            self.last_failure_at
            and (self.last_success_at is None or self.last_failure_at > self.last_success_at)
        )


@dataclass(frozen=True)
class SyncStatus:
    lanes: list[LaneStatus]
    problem: str | None  # e.g. an unreadable settings file

    @property
    def pending(self) -> int:
        return sum(lane.pending + lane.in_flight for lane in self.lanes)

    @property
    def failed(self) -> int:
        return sum(lane.failed for lane in self.lanes)

    @property
    def any_enabled(self) -> bool:
        return any(lane.enabled for lane in self.lanes)

    @property
    def online(self) -> bool:
        return all(lane.online for lane in self.lanes if lane.enabled)

    def headline(self) -> str:
        """What a status bar says: online / offline / n pending / n failed."""
        if self.problem:
            return "Sync paused: settings unreadable"
        if not self.any_enabled:
            return "Sync off"
        parts = ["online" if self.online else "offline"]
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return "Sync: " + ", ".join(parts)
