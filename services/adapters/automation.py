"""What flows between a runbook run and an orchestrator (Ansible, Rundeck, ...): one job, its outcome.

An orchestrator adapter declares the `RunsAutomation` ability (services.adapters.interface); the runbook
service and the console know only these values, so a new orchestrator is one module and one entry point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# How a job ended. "timeout" and "canceled" are the orchestrator's words for a run it stopped itself.
SUCCESSFUL = "successful"
FAILED = "failed"
TIMEOUT = "timeout"
CANCELED = "canceled"
NOT_RUN = "not run"  # the orchestrator could not start it (not installed, playbook missing, no secret)


@dataclass(frozen=True)
class AutomationJob:
    """One automated step to carry out. `check` is a dry run (Ansible's check mode with diff)."""

    playbook: Path
    inventory: str  # a path, or hosts separated by commas ("localhost,")
    target: str
    limit: str = ""
    extra_vars: Mapping[str, str] = field(default_factory=dict)
    check: bool = False
    timeout_s: int = 300
    secrets: Mapping[str, str] = field(default_factory=dict)  # name -> value, read from the keyring


@dataclass(frozen=True)
class HostSummary:
    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0

    def as_data(self) -> dict:
        return {"host": self.host, "ok": self.ok, "changed": self.changed, "failed": self.failed,
                "unreachable": self.unreachable, "skipped": self.skipped}  # fmt: skip


@dataclass(frozen=True)
class JobOutcome:
    status: str
    rc: int | None
    hosts: tuple[HostSummary, ...] = ()
    diff: str = ""
    message: str = ""  # why it did not run, or the orchestrator's last words on a failure

    @property
    def passed(self) -> bool:
        return self.status == SUCCESSFUL and all(h.failed == 0 and h.unreachable == 0 for h in self.hosts)

    def summary(self) -> str:
        hosts = "; ".join(
            f"{h.host}: {h.changed} changed, {h.failed} failed, {h.unreachable} unreachable" for h in self.hosts
        )
        rc = "" if self.rc is None else f", rc {self.rc}"
        tail = f" ({hosts})" if hosts else ""
        why = f" — {self.message}" if self.message and not self.passed else ""
        return f"{self.status}{rc}{tail}{why}"

    def as_data(self) -> dict:
        return {"status": self.status, "rc": self.rc, "hosts": [h.as_data() for h in self.hosts],
                "diff": self.diff, "message": self.message}  # fmt: skip


OutputSink = Callable[[str], None]


@dataclass
class JobControl:
    """Handed to a running job: where its live output goes, and the flag that cancels it."""

    on_output: OutputSink = lambda _text: None
    cancel: threading.Event = field(default_factory=threading.Event)
