"""SyncService: the one object the GUI and CLI use for sync. Qt-free.

It owns the settings and the outbox writer (services/core.py puts it in the store's entry hooks), discovers
the adapters, and runs a SyncWorker either once (`drain_once`, the CLI) or in a background thread (`start`, the GUI).
Listeners get SyncEvents on the worker's thread: a GUI must hand them to its own thread (a queued signal).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from models.entities import SyncBackendState
from models.enums import OutboxState
from models.types import iso, utcnow
from services.adapters.base import Adapter, Discovered, LinkView, discover_adapters
from services.errors import NotFound, SitrepError, ValidationError
from services.secrets import KeyringUnavailable, SecretStore
from services.sync.oncall import (
    OnCallCache,
    OnCallNotSetUp,
    OnCallReport,
    OnCallUnavailable,
    build_suggestions,
    failure_text,
    patiently,
)
from services.sync.outbox import OutboxQueue, OutboxWriter
from services.sync.settings import BackendSettings
from services.sync.transport import Http, Pacer, SyncFailure
from services.views import PersonView, RoleHolding

if TYPE_CHECKING:
    # The worker (and httpx under it) is imported when a worker is made: opening the store and the
    # console's first paint do not need it (~100 ms of imports; bench/ startup).
    from services.sync.worker import DrainReport, SyncEvent, SyncWorker

log = logging.getLogger(__name__)
B = SyncBackendState.__table__


COMPONENTS_FILE = "components.json"
# What is kept of each fetched component: enough to choose from and to show, nothing else.
_COMPONENT_KEYS = ("id", "name", "status", "group_id", "group")


@dataclass(frozen=True)
class FetchedComponents:
    """A backend's components as last fetched, and when: what a person maps services to."""

    backend: str
    fetched_at: datetime
    components: list[dict[str, Any]]
    from_cache: bool = False


class ComponentCache:
    """The last component list fetched per backend, in `components.json` beside the settings, so a map
    can be reviewed offline. Names, ids and statuses only (a credential never reaches it). Each list
    remembers where it came from (URL and required settings, e.g. the page id) and is not offered for
    another page."""

    def __init__(self, config_dir: Path | None) -> None:
        self.path = Path(config_dir) / COMPONENTS_FILE if config_dir is not None else None
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.warning("the component cache %s cannot be read (%s); it will be rewritten", self.path, exc)
            return {}
        return doc if isinstance(doc, dict) else {}

    def load(self, backend: str, source: dict[str, Any]) -> FetchedComponents | None:
        with self._lock:
            entry = self._read().get(backend)
        if not isinstance(entry, dict) or entry.get("source") != source:
            return None
        try:
            fetched_at = datetime.fromisoformat(entry["fetched_at"])
            rows = [_kept(c) for c in entry["components"] if isinstance(c, dict) and c.get("id")]
        except (KeyError, TypeError, ValueError):
            return None
        return FetchedComponents(backend, fetched_at, rows, from_cache=True)

    def save(self, fetched: FetchedComponents, source: dict[str, Any]) -> None:
        if self.path is None:
            return
        with self._lock:
            doc = self._read()
            doc[fetched.backend] = {"source": source, "fetched_at": iso(fetched.fetched_at),
                                    "components": fetched.components}  # fmt: skip
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".json.part")
                tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError as exc:
                # The fetch itself worked; only the offline copy is missing.
                log.warning("cannot keep the component list in %s: %s", self.path, exc.strerror)


def _kept(component: dict[str, Any]) -> dict[str, Any]:
    return {k: component[k] for k in _COMPONENT_KEYS if component.get(k) is not None}


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


class SyncService:
    def __init__(
        self,
        store,
        config_dir: Path | None,
        *,
        now: Callable[[], datetime] = utcnow,
        publish: Callable[..., None] = lambda *a: None,
        secrets=None,
        discovered: Discovered | None = None,
        worker_options: dict[str, Any] | None = None,
    ) -> None:
        self._store = store
        self._now = now
        self._publish = publish
        self.secrets = secrets if secrets is not None else SecretStore()
        self.settings = BackendSettings(config_dir)
        self.component_cache = ComponentCache(config_dir)
        self.discovered = discovered or discover_adapters()
        self.queue = OutboxQueue(store, now, publish)
        self.writer = OutboxWriter(now)
        self.on_call_cache = OnCallCache(config_dir)
        self._tls = None  # ssl.SSLContext for one-off requests, made on first use
        self.worker_options = dict(worker_options or {})
        self._secret_generation = 0
        self._listeners: list[Callable[[SyncEvent], None]] = []
        self._thread: threading.Thread | None = None
        self._worker: SyncWorker | None = None
        self._reload_writer()

    # -- adapters and settings -----------------------------------------------------------
    @property
    def available(self) -> dict[str, type[Adapter]]:
        return self.discovered.adapters

    def adapter_class(self, name: str) -> type[Adapter]:
        cls = self.available.get(name)
        if cls is None:
            known = ", ".join(sorted(self.available)) or "none installed"
            raise NotFound(f"No sync backend '{name}'. Available: {known}.")
        return cls

    def generation(self) -> int:
        return self.settings.generation * 1000 + self._secret_generation

    def make_adapters(self, *, enabled_only: bool = True) -> dict[str, Adapter]:
        if self.settings.problem:
            return {}
        out = {}
        for name, values in self.settings.all().items():
            cls = self.available.get(name)
            if cls is None:
                continue
            if enabled_only and not values.get("enabled"):
                continue
            out[name] = cls(values, self.secrets)
        return out

    def _reload_writer(self) -> None:
        # Only backends that could ever send get outbox items; a half-configured one owes nothing yet.
        self.writer.adapters = {n: a for n, a in self.make_adapters().items() if not a.missing()}

    def backends(self) -> list[BackendInfo]:
        configured = self.settings.all()
        out = []
        for name, cls in sorted(self.available.items()):
            values = configured.get(name, {})
            adapter = cls(values, self.secrets)
            out.append(BackendInfo(name, cls.label, bool(values.get("enabled")), values, adapter.missing()))
        return out

    def configure(
        self, backend: str, changes: dict[str, Any], *, unset: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        cls = self.adapter_class(backend)
        after = self.settings.update(cls, changes, unset=unset)
        if after.get("enabled"):
            missing = cls(after, self.secrets).missing()
            if missing:
                log.info("%s enabled but not ready: %s", backend, missing)
        self._reload_writer()
        self.wake()
        return after

    def set_secret(self, backend: str, name: str, value: str) -> None:
        cls = self.adapter_class(backend)
        names = [s.name for s in cls.secrets]
        if name not in names:
            raise ValidationError(f"{cls.label} has no credential '{name}'. Known: {', '.join(names)}.")
        self.secrets.set(backend, name, value)
        self._secret_generation += 1
        self.wake()

    def delete_secret(self, backend: str, name: str) -> bool:
        self.adapter_class(backend)
        gone = self.secrets.delete(backend, name)
        self._secret_generation += 1
        return gone

    def secret_presence(self, backend: str) -> dict[str, bool | None]:
        """Which credentials are in the keyring (None: the keyring cannot be asked)."""
        cls = self.adapter_class(backend)
        out: dict[str, bool | None] = {}
        for s in cls.secrets:
            try:
                out[s.name] = self.secrets.has(backend, s.name)
            except KeyringUnavailable:
                out[s.name] = None
        return out

    # -- status and queue ----------------------------------------------------------------
    def status(self) -> SyncStatus:
        counts = self.queue.counts()
        with self._store.read_connection() as c:
            rows = {r.backend: r for r in c.execute(select(B))}
        configured = self.settings.all()
        names = sorted(set(configured) | set(counts))
        lanes = []
        for name in names:
            cls = self.available.get(name)
            by_state = counts.get(name, {})
            row = rows.get(name)
            lanes.append(LaneStatus(
                name, cls.label if cls else name, bool(configured.get(name, {}).get("enabled")) and cls is not None,
                by_state.get(OutboxState.PENDING.value, 0), by_state.get(OutboxState.IN_FLIGHT.value, 0),
                by_state.get(OutboxState.FAILED.value, 0), by_state.get(OutboxState.SENT.value, 0),
                by_state.get(OutboxState.CANCELLED.value, 0),
                row.breaker if row else "closed", row.last_error if row else None,
                row.last_success_at if row else None, row.last_failure_at if row else None,
            ))  # fmt: skip
        if self._worker is not None:
            lanes = [_with_live_breaker(lane, self._worker) for lane in lanes]
        return SyncStatus(lanes, self.settings.problem)

    def items(self, **kw):
        return self.queue.items(**kw)

    def retry(self, item_id: int):
        item = self.queue.retry(item_id)
        self.wake()
        return item

    def cancel(self, item_id: int):
        return self.queue.cancel(item_id)

    def links(self, incident_id: str) -> list[LinkView]:
        return self.queue.links(incident_id)

    # -- running -------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[SyncEvent], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _fan_out(self, event: SyncEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("sync listener failed")

    def make_worker(self, **overrides) -> SyncWorker:
        from services.sync.worker import SyncWorker

        options = {**self.worker_options, **overrides}
        return SyncWorker(
            self._store.url,
            adapters=self.make_adapters,
            generation=self.generation,
            entry_hooks=self._store.entry_hooks,
            entry_now=self._now,
            publish=self._publish,
            on_event=self._fan_out,
            pull_interval=lambda: self.settings.pull_interval_s,
            **options,
        )

    def drain_once(self, *, pull: bool = False, max_wait_s: float = 30.0) -> DrainReport:
        """Send what can be sent now (and pull, if asked), then return. Blocks: not for the GUI thread."""
        if self.settings.problem:
            raise ValidationError(self.settings.problem)
        worker = self.make_worker()
        try:
            return worker.drain(max_wait_s=max_wait_s, pull=pull)
        finally:
            worker.close()

    def start(self) -> None:
        """Run the worker in a background thread until stop()."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._worker = self.make_worker()
        self._thread = threading.Thread(target=self._worker.run_forever, name="sitrep-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._worker is not None:
            self._worker.stop_event.set()
            self._worker.wake_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the sync thread did not stop within %.0f s", timeout)
        self._thread = None
        self._worker = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        if self._worker is not None:
            self._worker.wake_event.set()

    def request_pull(self) -> None:
        if self._worker is not None:
            self._worker.request_pull()

    def sync_now(self) -> bool:
        """Ask the running worker to send what it can and fetch what changed, now (past back-off and an
        open breaker's cool-down). False when no worker runs (the caller drains instead)."""
        worker = self._worker
        if worker is None or not self.running:
            return False
        worker.try_now()
        return True

    @contextlib.contextmanager
    def _one_off_http(self, adapter: Adapter) -> Iterator[Http]:
        """An HTTP session for one blocking call a person asked for (not the worker's lanes)."""
        import httpx

        if self._tls is None:
            # What httpx.Client builds by default, made once: loading the CA bundle costs ~100 ms, which
            # every on-call lookup a person waits on would pay again (measured: ~40 ms on loopback instead of ~130).
            self._tls = httpx.create_ssl_context()
        timeout = float(adapter.setting("timeout_s") or 20.0)
        with httpx.Client(
            verify=self._tls, timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0))
        ) as client:
            yield Http(client, label=adapter.label, base_url=adapter.base_url(), headers=adapter.headers,
                       describe_error=adapter.describe_error, pace_hint=adapter.pace_hint, pacer=Pacer(None),
                       rate_limited_statuses=adapter.rate_limited_statuses)  # fmt: skip

    def test_connection(self, backend: str) -> str:
        """One authenticated read against the backend. Blocks on the network: call it off the GUI thread."""
        cls = self.adapter_class(backend)
        adapter = cls(self.settings.backend(backend), self.secrets)
        missing = adapter.missing()
        if missing:
            raise ValidationError(" ".join(missing))
        with self._one_off_http(adapter) as http:
            try:
                return adapter.test_connection(http)
            except SyncFailure as exc:
                raise SitrepError(exc.message) from None

    def components(self, backend: str = "statuspage") -> list[dict[str, Any]]:
        """The backend's components (a status page's), to map services to. Network: off the GUI thread."""
        return self.fetch_components(backend).components

    def fetch_components(self, backend: str) -> FetchedComponents:
        """Fetch the components now and keep the list for offline review. Blocks on the network."""
        cls = self.adapter_class(backend)
        adapter = cls(self.settings.backend(backend), self.secrets)
        if not hasattr(adapter, "components"):
            raise ValidationError(f"{cls.label} has no components.")
        missing = adapter.missing()
        if missing:
            raise ValidationError(" ".join(missing))
        with self._one_off_http(adapter) as http:
            try:
                rows = adapter.components(http)
            except SyncFailure as exc:
                raise SitrepError(exc.message) from None
        fetched = FetchedComponents(backend, self._now(), [_kept(c) for c in rows if c.get("id")])
        self.component_cache.save(fetched, self._component_source(adapter))
        return fetched

    def cached_components(self, backend: str) -> FetchedComponents | None:
        """The list last fetched for this backend's current page, if any (no network)."""
        cls = self.adapter_class(backend)
        if not hasattr(cls, "components"):
            return None
        return self.component_cache.load(
            backend, self._component_source(cls(self.settings.backend(backend), self.secrets))
        )

    @staticmethod
    def _component_source(adapter: Adapter) -> dict[str, Any]:
        # Which page a list belongs to, said without knowing the vendor: its URL and required settings.
        source = {f.key: adapter.settings.get(f.key) for f in adapter.fields if f.required}
        source["url"] = adapter.base_url()
        return source

    # -- on call -------------------------------------------------------------------------
    def _on_call_adapter(self, backend: str) -> Adapter:
        if backend not in self.available:
            raise OnCallNotSetUp(f"No '{backend}' backend is installed, so there is no on-call to read.")
        if self.settings.problem:
            raise OnCallNotSetUp(self.settings.problem)
        cls = self.available[backend]
        adapter = cls(self.settings.backend(backend), self.secrets)
        if not hasattr(adapter, "on_call"):
            raise OnCallNotSetUp(f"{cls.label} has no on-call schedules.")
        missing = adapter.on_call_missing()
        if missing:
            raise OnCallNotSetUp(
                " ".join(missing) + f" (Tools ▸ Backends… in the console, or `sitrep backend set {backend}`)"
            )
        return adapter

    def on_call_problem(self, backend: str = "pagerduty") -> str | None:
        """Why on-call cannot be read, from the settings alone (no keyring, no network); None when it can
        be tried. For a control that says so instead of failing."""
        try:
            self._on_call_adapter(backend)
        except SitrepError as err:
            return err.message
        return None

    def on_call_suggestions(
        self,
        *,
        people: Iterable[PersonView],
        holders: Iterable[RoleHolding] = (),
        services: Iterable[str] = (),
        role_names: Mapping[str, str] | None = None,
        backend: str = "pagerduty",
    ) -> OnCallReport:
        """Who is on call now, as role suggestions: matched to `people` (the responder directory) by
        e-mail, ordered by escalation level, each marked with the roles they hold among `holders`.
        `services` are the incident's services: those mapped in the backend's `service_map` add their
        own on-call. Blocks on the network: call it off the GUI thread.

        When the backend cannot be asked (offline, refused, rate limited, no keyring), the last answer
        it gave for the same targets comes back marked `from_cache` with the reason; with none
        remembered, OnCallUnavailable says why. Not set up: OnCallNotSetUp, before any request."""
        adapter = self._on_call_adapter(backend)
        services = list(services)
        people, holders = list(people), list(holders)
        targets = adapter.on_call_targets(services)
        asked_at = self._now()
        try:
            with self._one_off_http(adapter) as http:
                roster = patiently(lambda: adapter.on_call(http, services=services, at=asked_at))
        except (SyncFailure, KeyringUnavailable) as exc:
            reason = failure_text(exc, adapter.label)
            log.info("on-call read failed: %s", reason)
            cached = self.on_call_cache.load(targets)
            if cached is None:
                raise OnCallUnavailable(reason) from None
            as_of, roster = cached
            return OnCallReport(build_suggestions(roster, people, holders, role_names), as_of, True, reason,
                                roster.scopes)  # fmt: skip
        self.on_call_cache.save(targets, asked_at, roster)
        problem = "; ".join(roster.problems) or None
        return OnCallReport(build_suggestions(roster, people, holders, role_names), asked_at, False, problem,
                            roster.scopes)  # fmt: skip


def _with_live_breaker(lane: LaneStatus, worker: SyncWorker) -> LaneStatus:
    breaker = worker.breakers.get(lane.backend)
    if breaker is None:
        return lane
    from dataclasses import replace

    return replace(lane, breaker=breaker.state)


def post_to_backends(
    sitrep, incident: str, text: str, targets: list[str], *, author: str, notify: bool = True,
    about_seq: int | None = None,
):  # fmt: skip
    """Log an update meant for the named backends and queue it for them: what `sitrep sync post`
    and the console's "Send to…" both do. It is a comms entry whose data names the backends, so each
    one sends it as its own kind of update (a PagerDuty status update, a Jira comment, a Statuspage
    incident update). `about_seq` records which entry it repeats, when it repeats one.

    Refused, with nothing logged, when a named backend would not receive it (unknown, not enabled or
    not fully set up, or set to skip exercises and this is one)."""
    sync = sitrep.sync
    names = list(dict.fromkeys(t.strip() for t in targets if t and t.strip()))
    if not names:
        raise ValidationError("Choose at least one backend to send it to.", field="to")
    inc = sitrep.incidents.get(incident)
    ready = sync.writer.adapters
    for name in names:
        cls = sync.adapter_class(name)
        adapter = ready.get(name)
        if not cls.takes_posts:
            raise ValidationError(
                f"{cls.label} does not take posted updates (it carries messages released from Communications). "
                "Nothing was logged.",
                field="to",
            )
        if adapter is None:
            raise ValidationError(
                f"{cls.label} is not set up to send (enable it and fill in its settings: Tools ▸ Backends… "
                f"in the console, or `sitrep backend show {name}`). Nothing was logged.",
                field="to",
            )
        if inc.is_exercise and not adapter.setting("include_exercises"):
            raise ValidationError(
                f"{inc.key} is an exercise and {cls.label} is set not to receive exercises. Nothing was logged.",
                field="to",
            )
    data: dict[str, Any] = {"sync": names}
    if not notify:
        data["notify"] = False
    if about_seq is not None:
        data["about_seq"] = about_seq
    return sitrep.timeline.log(inc.id, text, author=author, kind="comms", data=data)


def link_related(sitrep, incident: str, backend: str, ref: str, *, author: str, why: str | None = None):
    """Link a related item in a backend (a Jira issue) to the incident's own counterpart there.

    Logs a note saying so (the record of who linked what, when) whose data asks that backend for the
    link; the outbox sends it when the backend is reachable. Refused, with nothing logged, when the
    backend does not link related items, is not set up, or `ref` cannot name one of its items."""
    sync = sitrep.sync
    cls = sync.adapter_class(backend)
    if not hasattr(cls, "related_ref_problem"):
        raise ValidationError(f"{cls.label} does not link related items.", field="backend")
    adapter = sync.writer.adapters.get(backend)
    if adapter is None:
        raise ValidationError(
            f"{cls.label} is not set up to send (enable it and fill in its settings: Tools ▸ Backends… in the "
            f"console, or `sitrep backend show {backend}`). Nothing was logged.",
            field="backend",
        )
    ref = (ref or "").strip().upper()
    problem = adapter.related_ref_problem(ref)
    if problem:
        raise ValidationError(problem + " Nothing was logged.", field="ref")
    inc = sitrep.incidents.get(incident)
    if inc.is_exercise and not adapter.setting("include_exercises"):
        raise ValidationError(
            f"{inc.key} is an exercise and {cls.label} is set not to receive exercises. Nothing was logged.",
            field="backend",
        )
    body = f"Related {cls.related_label} {ref} linked" + (f": {why.strip()}" if (why or "").strip() else ".")
    data = {"sync": False, "sync_link": {backend: ref}}
    return sitrep.timeline.log(inc.id, body, author=author, kind="note", data=data)
