"""The values that flow between the sync layer and an adapter: what changed (to plan from), the outbox
item to carry out, what came back, remote links, what a pull found, and who is on call.

Plain frozen dataclasses: an adapter never sees an ORM object or a database connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.adapters.failures import PermanentFailure
from services.adapters.http import Http
from services.record.views import EntryRow


# -- what flows between the sync layer and an adapter --------------------------------------
@dataclass(frozen=True)
class IncidentFacts:
    id: str
    key: str
    title: str
    summary: str
    severity: str
    status: str
    is_major: bool
    is_exercise: bool
    services: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ChangeToPlan:
    """A timeline entry just appended (inside its transaction) and what an adapter may need to decide
    what it is owed. `has_remote(op_or_kind)` says whether this backend already has (or is already
    owed) the incident's remote object."""

    entry: EntryRow
    incident: IncidentFacts
    person_email: str | None
    has_remote: Callable[[], bool]

    @property
    def data(self) -> dict[str, Any]:
        return self.entry.data or {}

    def chosen_for(self, backend: str, default_kinds: Iterable[str]) -> bool:
        """Is this authored entry meant for `backend`? An explicit data["sync"] (true, false, or a
        list of backend names) wins; otherwise the backend's configured entry kinds decide."""
        choice = self.data.get("sync")
        if choice is True:
            return True
        if choice is False:
            return False
        if isinstance(choice, list | tuple):
            return backend in choice
        return self.entry.kind in set(default_kinds)


@dataclass(frozen=True)
class MaintenanceFacts:
    """A planned maintenance window as it is after a change (times in UTC)."""

    id: str
    key: str
    title: str
    description: str
    scheduled_for: datetime
    scheduled_until: datetime
    services: tuple[str, ...]
    notify_subscribers: bool
    remind_subscribers: bool
    auto_in_progress: bool
    auto_complete: bool
    status: str  # a models.enums.MaintenanceStatus value
    # Which alerts the window mutes ({"name", "value", "is_regex", "is_equal"}) and how it repeats.
    matchers: tuple[dict[str, Any], ...] = ()
    recurrence: str | None = None  # RRULE text, read in time_zone
    time_zone: str | None = None
    # (start, end) in UTC of each occurrence over the coming weeks: the window itself when it does not repeat
    occurrences: tuple[tuple[datetime, datetime], ...] = ()


@dataclass(frozen=True)
class MaintenanceChange:
    """One change to a maintenance window, planned inside its transaction (like ChangeToPlan).

    action: planned | rescheduled | edited | update | status | cancelled; `changed` names the window's
    fields whose values changed (title, description, scheduled_for, services, ...) and `previous` holds
    their values before (as stored: times as ISO text); `message` is the update a person wrote (may be
    empty); `has_remote()` says whether this backend already has, or is
    already owed, the window's remote object. An adapter that creates one uses the idempotency key
    `maintenance_create_key(backend, window id)`, which is how `has_remote` finds it.
    """

    update_id: str
    action: str
    maintenance: MaintenanceFacts
    changed: tuple[str, ...]
    status_from: str | None
    message: str
    notify: bool
    has_remote: Callable[[], bool]
    previous: dict[str, Any] = field(default_factory=dict)  # the changed fields' values before


def maintenance_create_key(backend: str, maintenance_id: str) -> str:
    return f"{backend}:create-maintenance:{maintenance_id}"


@dataclass(frozen=True)
class Planned:
    """One outbox item an adapter wants written for a change."""

    op: str
    payload: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True)
class LinkView:
    backend: str
    local_kind: str
    local_id: str
    incident_id: str | None
    remote_kind: str
    remote_id: str
    url: str | None
    origin: str
    remote_state: str | None
    created_at: datetime


@dataclass(frozen=True)
class NewLink:
    local_kind: str
    local_id: str
    incident_id: str | None
    remote_kind: str
    remote_id: str
    url: str | None = None
    origin: str = "sitrep"
    remote_state: str | None = None


@dataclass(frozen=True)
class ItemView:
    """An outbox item as the worker and the GUI see it (never a live ORM object)."""

    id: int
    backend: str
    op: str
    incident_id: str | None
    entry_id: str | None
    payload: dict[str, Any]
    idempotency_key: str
    state: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    remote_ref: str | None
    uncertain: bool = False
    incident_key: str | None = None

    @property
    def summary(self) -> str:
        p = self.payload
        text = p.get("title") or p.get("text") or p.get("to") or p.get("severity") or ""
        return f"{self.op} {text}".strip()


class LinkBook(Protocol):
    """Read access to remote links, given to adapters by the worker."""

    def incident_link(self, incident_id: str, remote_kind: str) -> LinkView | None: ...

    def linked_incidents(self, remote_kind: str) -> list[LinkView]: ...

    def known_remote_ids(self, incident_id: str, remote_kind: str) -> set[str]: ...

    def own_texts(self, incident_id: str) -> set[str]: ...

    def local_link(self, local_kind: str, local_id: str, remote_kind: str) -> LinkView | None: ...

    def linked_maintenances(self) -> list[LinkView]: ...

    def linked_records(self, local_kind: str, remote_kind: str) -> list[LinkView]: ...


@dataclass
class SendContext:
    """What an adapter gets to carry out one outbox item. `http` is the backend's HTTP session when the
    adapter talks to an HTTP API (an HttpApi), None for anything else (SMTP, a local run, a database)."""

    http: Http | None
    links: LinkBook
    item: ItemView
    now: datetime

    @property
    def maybe_sent_before(self) -> bool:
        """A previous attempt may have reached the backend: look before creating again."""
        return self.item.attempts > 1

    def refuse_blind_resend(self, what: str) -> None:
        """For operations the vendor gives no way to look up: after an uncertain attempt, a person
        decides (retry sends it again; cancel drops it) rather than risk sending it twice."""
        if self.item.uncertain:
            raise PermanentFailure(
                f"The last attempt to send this {what} may have reached the backend, and it offers no "
                "way to check. Look there: retry to send it again, or cancel it if it arrived."
            )


@dataclass
class SendResult:
    remote_ref: str | None = None
    links: list[NewLink] = field(default_factory=list)
    # (remote_kind, remote_id) -> last known remote state, for echo-free pulls
    link_states: dict[tuple[str, str], str] = field(default_factory=dict)
    note: str = ""
    # What the backend reported back that belongs on the record (a flag's state before and read back
    # after): the sync layer's answer hooks turn it into timeline entries in the answer's own commit.
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlagState:
    """A feature flag in one environment as the flag service has it now."""

    key: str
    project: str
    environment: str
    enabled: bool | None  # None: the flag has no such environment
    description: str = ""
    stale: bool = False

    @property
    def state_text(self) -> str:
        return {True: "on", False: "off", None: "not in this environment"}[self.enabled]


@dataclass(frozen=True)
class RemoteEvent:
    """Something done in a backend that belongs on the timeline."""

    incident_id: str
    remote_kind: str
    remote_id: str
    kind: str  # an EntryKind value
    body: str
    author: str
    occurred_at: datetime | None
    url: str | None = None
    data: dict[str, Any] | None = None
    # What the event means for the incident itself, e.g. ("acknowledged",): see
    # services.record.incidents.apply_remote_effects for the ones Sitrep applies.
    effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemoteMaintenance:
    """A linked maintenance window as the backend has it now. The sync layer decides whether it is
    news (a change made there, e.g. an automatic start) or only the echo of what Sitrep sent."""

    maintenance_id: str
    remote_kind: str
    remote_id: str
    status: str | None  # a MaintenanceStatus value the backend's status maps to; None when unknown
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    message: str = ""  # the backend's newest update, when it is about that status
    changed_at: datetime | None = None
    url: str | None = None


@dataclass
class PullResult:
    events: list[RemoteEvent] = field(default_factory=list)
    link_states: dict[tuple[str, str], str] = field(default_factory=dict)
    maintenances: list[RemoteMaintenance] = field(default_factory=list)


@dataclass
class PullContext:
    http: Http | None
    links: LinkBook
    now: datetime


# -- on call (what an OnCallSource answers) -------------------------------------------------
@dataclass(frozen=True)
class OnCallScope:
    """An escalation policy whose on-call was asked for, and why: the one Sitrep's incidents go to
    (`for_services` empty), or the one behind a backend service the incident's services map to."""

    escalation_policy_id: str
    escalation_policy: str | None  # its name, when a service lookup told us
    service_id: str | None  # None: the configured escalation_policy_id, no service in between
    service_name: str | None
    for_services: tuple[str, ...] = ()


@dataclass(frozen=True)
class OnCallShift:
    """One on-call entry: who, on which policy and level, from which schedule, until when."""

    user_id: str
    name: str
    email: str | None
    time_zone: str | None
    escalation_policy_id: str
    escalation_policy: str
    escalation_level: int
    schedule: str | None  # None: named on the policy itself, so on call whenever the policy is
    start: datetime | None
    until: datetime | None  # None: does not go off call


@dataclass(frozen=True)
class OnCallRoster:
    """Who a backend says is on call for the scopes asked about. `problems` are parts that could not
    be read (a mapped service the backend does not have) while the rest could."""

    scopes: tuple[OnCallScope, ...]
    shifts: tuple[OnCallShift, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncomingAlert:
    """One alert as a source sent it (polled or posted), before Sitrep normalises it. `source` names the
    sender ("alertmanager:host:port", "webhook:grafana"); `source_kind` picks the metadata standard's
    aliases (alertmanager, datadog, grafana, generic...)."""

    source: str
    source_kind: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    resolved: bool
    generator_url: str | None = None


@dataclass(frozen=True)
class ItilRecord:
    """A problem or change record as a tracker holds it (a Jira issue of the problem or change type)."""

    key: str
    kind: str  # "problem" | "change"
    summary: str
    status: str
    created_at: datetime | None
    updated_at: datetime | None
    components: tuple[str, ...] = ()
    url: str = ""
