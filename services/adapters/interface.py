"""The one small interface every outside system implements, and the abilities an adapter may declare.

An adapter knows a system's addresses, payloads and quirks, and nothing else: it never touches the
database (the sync layer hands it what it needs and stores what it returns), never sleeps or retries
(services.sync does), and reads credentials through the SecretStore at each use.

`Adapter` fits any kind of system: it has settings and credentials, says what it is owed for a new
timeline entry (`plan`), carries out one outbox item (`send`) and checks that it can be reached
(`test_connection`). Everything else is an ability the adapter declares by subclassing it:

- HttpApi: it talks to an HTTP API; the sync layer gives it an Http session (services.adapters.http)
- CommsChannel: it carries released comms messages (services.adapters.channel)
- Posts: it takes an authored update sent to it by name (`sitrep sync post`, "Send to…")
- PlansMaintenance: it announces planned maintenance windows
- ReadsBack: it brings what changed there back onto the timeline (`pull`)
- OnCallSource: it says who is on call
- ComponentSource: it lists components that services map to
- LinksRelated: it links a related item of its own to the incident's counterpart
- TracksItil: it holds problem and change records an incident is linked to (Jira issues of those types)
- RunsAutomation: it runs a runbook's automated step (a playbook, a job) and reports per host
- AlertSource: it holds alerts Sitrep polls, posts them to Sitrep's receiver, and silences them
- SwitchesFlags: it holds feature flags: lists them, reads one's state per environment, switches it on or off

The sync layer asks `isinstance(adapter, OnCallSource)`, never `hasattr`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from services.adapters.automation import AutomationJob, JobControl, JobOutcome
from services.adapters.failures import NotConfigured
from services.adapters.http import Http
from services.adapters.values import (
    ChangeToPlan,
    FlagState,
    IncomingAlert,
    ItilRecord,
    MaintenanceChange,
    OnCallRoster,
    Planned,
    PullContext,
    PullResult,
    SendContext,
    SendResult,
)


# -- declarations --------------------------------------------------------------------------
@dataclass(frozen=True)
class SettingField:
    """One backend setting, declared once: the CLI, the settings dialog and validation read it."""

    key: str
    label: str
    kind: str = "str"  # str | url | bool | int | float | list | map
    default: Any = None
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class SecretField:
    name: str  # keyring account suffix, e.g. "api_token"
    label: str
    required: bool = True


# Settings every backend has; the sync layer reads them.
COMMON_FIELDS: tuple[SettingField, ...] = (
    SettingField("enabled", "Send to this backend", "bool", False),
    SettingField("include_exercises", "Also sync exercises and drills", "bool", False),
    SettingField(
        "max_requests_per_s",
        "Requests per second at most (0: no limit)",
        "float",
        None,
        help="kept below the vendor's published limit by default",
    ),  # fmt: skip
    SettingField("timeout_s", "Seconds to wait for an answer", "float", 20.0),
)


class SecretSource(Protocol):
    def get(self, backend: str, name: str) -> str | None: ...


# -- the interface -------------------------------------------------------------------------
class Adapter(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    fields: ClassVar[tuple[SettingField, ...]] = ()
    secrets: ClassVar[tuple[SecretField, ...]] = ()
    default_max_requests_per_s: ClassVar[float | None] = None

    def __init__(self, settings: dict[str, Any], secrets: SecretSource) -> None:
        self.settings = settings
        self._secrets = secrets

    # settings and credentials
    @classmethod
    def all_fields(cls) -> tuple[SettingField, ...]:
        return COMMON_FIELDS + cls.fields

    def setting(self, key: str) -> Any:
        if key in self.settings and self.settings[key] is not None:
            return self.settings[key]
        for f in self.all_fields():
            if f.key == key:
                return f.default
        raise KeyError(key)

    def secret(self, name: str) -> str:
        value = self._secrets.get(self.name, name)
        if not value:
            raise NotConfigured(
                f"No {self.label} {name.replace('_', ' ')} in the keyring. Set it with "
                f"`sitrep backend set {self.name} --secret {name} --token-from-stdin`."
            )
        return value

    def missing(self) -> list[str]:
        """What must be configured before anything can be sent (settings only; no keyring access)."""
        out = []
        for f in self.fields:
            if f.required and self.settings.get(f.key) in (None, "", [], {}):
                out.append(f"{self.label}: set '{f.key}' ({f.label}).")
        return out

    @property
    def max_requests_per_s(self) -> float | None:
        value = self.settings.get("max_requests_per_s")
        if value is None:
            return self.default_max_requests_per_s
        return float(value) or None

    # behaviour
    @abstractmethod
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        """What this backend is owed for a new timeline entry. Runs inside the writing transaction:
        pure, fast, no network."""

    @abstractmethod
    def send(self, ctx: SendContext) -> SendResult:
        """Carry out one outbox item. Raise a failure from services.adapters.failures when it did not work."""

    @abstractmethod
    def test_connection(self, http: Http | None) -> str:
        """One cheap check that the system answers and accepts the credentials; returns what it found
        ("authenticated as ..."). `http` is the session for an HttpApi, None for anything else."""


# -- abilities -----------------------------------------------------------------------------
class HttpApi(ABC):
    """Talks to an HTTP API: the sync layer opens an Http session from these and hands it over."""

    rate_limited_statuses: ClassVar[frozenset[int]] = frozenset({429})

    @abstractmethod
    def base_url(self) -> str: ...

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """Request headers including auth; reads the keyring each time."""

    @abstractmethod
    def describe_error(self, status: int, body: Any, text: str) -> str:
        """The vendor's error envelope in one sentence."""

    def pace_hint(self, headers: Mapping[str, str], status: int) -> float | None:
        """Seconds to hold the next request, from the vendor's rate-limit headers."""
        return None


class Posts:
    """Takes an authored entry whose data names it in "sync" (`sitrep sync post`, the console's
    "Send to…"). Channels that only carry released comms messages do not declare it. Nothing to
    implement: the adapter's `plan` reads the entry; these say how a chooser presents it."""

    post_becomes: ClassVar[str] = "an update"  # what the entry becomes there, for the chooser
    # The option a post may carry to notify the system's own subscribers (None: it has none).
    notify_label: ClassVar[str | None] = None


class PlansMaintenance(ABC):
    """Announces planned maintenance windows (a status page does)."""

    @abstractmethod
    def plan_maintenance(self, change: MaintenanceChange) -> list[Planned]:
        """What this backend is owed for a change to a window. Runs inside the writing transaction."""


class ReadsBack(ABC):
    """Reads back what changed in the system (comments, acknowledgements, a window's automatic start)
    so the sync layer can bring it onto the timeline and tell an echo from news."""

    @abstractmethod
    def pull(self, ctx: PullContext) -> PullResult: ...


class OnCallSource(ABC):
    """Says who is on call for the policies Sitrep's incidents go to."""

    @abstractmethod
    def on_call_missing(self) -> list[str]:
        """What must be set before on-call can be read (settings only)."""

    @abstractmethod
    def on_call_targets(self, services: list[str]) -> Any:
        """What an answer for these services is remembered under (a hashable description)."""

    @abstractmethod
    def on_call(self, http: Http | None, *, services: list[str], at: datetime | None) -> OnCallRoster: ...


class ComponentSource(ABC):
    """Lists the components a person maps Sitrep's services to (a status page's)."""

    component_map_setting: ClassVar[str] = "component_map"  # the setting holding service -> component id

    @abstractmethod
    def components(self, http: Http | None) -> list[dict[str, Any]]: ...


class LinksRelated(ABC):
    """Links a related item of its own (a Jira issue) to the incident's counterpart there."""

    related_label: ClassVar[str]  # e.g. "Jira issue"

    @abstractmethod
    def related_ref_problem(self, ref: str) -> str | None:
        """Why `ref` cannot name one of its items, or None."""


class TracksItil(ABC):
    """Holds the organisation's problem and change records (Jira issues of the problem and change types),
    read when a person links one to an incident. Called off the GUI thread; raises a SyncFailure."""

    itil_label: ClassVar[str]  # e.g. "Jira"

    @abstractmethod
    def itil_ref_problem(self, ref: str) -> str | None:
        """Why `ref` cannot name one of its records, or None."""

    @abstractmethod
    def itil_record(self, http: Http | None, key: str, kind: str) -> ItilRecord:
        """The record `key`, which must be of `kind` ("problem" or "change")."""

    @abstractmethod
    def itil_changes(self, http: Http | None, *, since: datetime, until: datetime, limit: int = 50) -> list[ItilRecord]:
        """Change records made between `since` and `until`, newest first."""


class RunsAutomation(ABC):
    """Runs a runbook's automated step: Ansible through ansible-runner, or a job runner such as Rundeck.
    Called on a worker thread, never the GUI thread; streams output through `control.on_output`, stops
    when `control.cancel` is set or the job's timeout passes, and never raises for a failed job (the
    outcome says so)."""

    @abstractmethod
    def run_job(self, job: AutomationJob, control: JobControl) -> JobOutcome: ...
class AlertSource(ABC):
    """A monitoring system whose alerts Sitrep takes in: polled (`fetch_alerts` from each of
    `poll_urls`), or posted to the receiver at /<name> (`parse_webhook`); `silence` is the outbox item
    that silences one alert there."""

    @abstractmethod
    def poll_urls(self) -> list[str]: ...

    @abstractmethod
    def fetch_alerts(self, http: Http, *, now: datetime) -> list[IncomingAlert]:
        """Everything the system at `http` has firing now, each alert's `source` being `source_for(url)`."""

    @abstractmethod
    def source_for(self, url: str) -> str: ...

    @classmethod
    @abstractmethod
    def parse_webhook(cls, body: Any, *, source: str, now: datetime) -> list[IncomingAlert]:
        """A posted payload; raises failures.PayloadError naming what is wrong."""

    @abstractmethod
    def silence(self, alert_id: str, labels: dict[str, str], start: datetime, end: datetime,
                comment: str) -> Planned: ...  # fmt: skip


FLAG_SWITCH_KEY = "flag_switch"  # what a switch request's entry data carries, and what `facts` report under
FLAG_SWITCH_OP = "switch_flag"


class SwitchesFlags(ABC):
    """A feature-flag service (Unleash): a kill switch turns one feature off in one environment rather
    than taking a whole service down. Reads (`flags`, `read_flag`) are what a person waits for, on a
    one-off session off the GUI thread; a switch is an outbox item (op `switch_flag`, planned from an
    entry whose data carries `flag_switch`) so that offline it is queued, never reported as done. Its
    `send` reads the state before, switches, reads it back and reports both in `SendResult.facts`."""

    @abstractmethod
    def flags(self, http: Http | None, project: str, environment: str) -> list[FlagState]:
        """Every flag of `project` with its state in `environment`."""

    @abstractmethod
    def read_flag(self, http: Http | None, project: str, key: str, environment: str) -> FlagState:
        """One flag's state in one environment; raises PermanentFailure naming it when there is no such flag."""

    @abstractmethod
    def switch_flag(self, http: Http | None, project: str, key: str, environment: str, on: bool) -> None: ...
