"""SyncService: the one object the GUI and CLI use for sync. Qt-free.

It owns the settings and the outbox writer (services/core.py puts it in the store's entry hooks), discovers
the adapters, and runs a SyncWorker either once (`drain_once`, the CLI) or in a background thread (`start`, the GUI).
Listeners get SyncEvents on the worker's thread: a GUI must hand them to its own thread (a queued signal).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from models.entities import SyncBackendState
from models.enums import OutboxState
from models.types import utcnow
from services.adapters.channel import CommsChannel
from services.adapters.discovery import Discovered, discover_adapters
from services.adapters.failures import SyncFailure
from services.adapters.http import Http, Pacer
from services.adapters.interface import Adapter, ComponentSource, HttpApi, OnCallSource, PlansMaintenance
from services.adapters.values import LinkView
from services.errors import NotFound, SitrepError, ValidationError
from services.record.views import PersonView, RoleHolding
from services.storage.secrets import KeyringUnavailable, SecretStore
from services.sync.components import ComponentCache, FetchedComponents, kept_component
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
from services.sync.status import (
    INCOMPLETE,
    NOT_INSTALLED,
    OFF,
    READY,
    SKIPS_EXERCISES,
    UNREADABLE,
    BackendInfo,
    LaneStatus,
    Readiness,
    SyncStatus,
)

if TYPE_CHECKING:
    # The worker (and httpx under it) is imported when a worker is made: opening the store and the
    # console's first paint do not need it (~100 ms of imports; bench/ startup).
    from services.sync.worker import DrainReport, SyncEvent, SyncWorker

log = logging.getLogger(__name__)
B = SyncBackendState.__table__


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
        self._discovered = discovered
        self.queue = OutboxQueue(store, now, publish)
        self.writer = OutboxWriter(now)
        # What turns an answer's reported facts into timeline entries (services/sync/worker.py); composed
        # in services/core.py.
        self.answer_hooks: list[Callable] = []
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
    def discovered(self) -> Discovered:
        """The installed adapters, looked up (entry points, each plugin imported) when a backend is first
        used rather than when the store opens: a store with no backend configured never pays for it."""
        if self._discovered is None:
            self._discovered = discover_adapters()
        return self._discovered

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

    def readiness(self, backend: str, *, exercise: bool = False) -> Readiness:
        """Can `backend` take something now (for an exercise, when `exercise`), and if not, why. From
        the settings alone: no keyring, no network, so a control can ask as it is drawn."""
        cls = self.available.get(backend)
        if cls is None:
            return Readiness(backend, backend, NOT_INSTALLED)
        if self.settings.problem:
            return Readiness(backend, cls.label, UNREADABLE, self.settings.problem)
        adapter = self.writer.adapters.get(backend)
        if adapter is None:
            values = self.settings.backend(backend)
            if not values.get("enabled"):
                return Readiness(backend, cls.label, OFF)
            return Readiness(backend, cls.label, INCOMPLETE, " ".join(cls(values, self.secrets).missing()))
        if exercise and not adapter.setting("include_exercises"):
            return Readiness(backend, cls.label, SKIPS_EXERCISES)
        return Readiness(backend, cls.label, READY)

    def setting_of_ready(self, backend: str, key: str) -> Any:
        """A setting of a backend that is ready to send (its default when unset); None when it is not ready."""
        adapter = self.writer.adapters.get(backend)
        return adapter.setting(key) if adapter is not None else None

    def channels(self) -> dict[str, type[CommsChannel]]:
        """The installed comms channels (adapters that carry released messages), in chooser order."""
        return self.discovered.channels()

    def maintenance_component_maps(self) -> dict[str, dict[str, str]]:
        """For each backend ready to announce maintenance that maps services to components: its label and
        that map (service -> component id), from the settings (no network)."""
        out = {}
        for adapter in self.writer.adapters.values():
            if isinstance(adapter, PlansMaintenance) and isinstance(adapter, ComponentSource):
                out[adapter.label] = dict(adapter.setting(adapter.component_map_setting) or {})
        return out

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
        self.queue.due_now(backend)  # items paused on the old credential try the new one at the next sync
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
        from services.sync.worker import SyncWorker  # start-up deferral: see the TYPE_CHECKING import above

        options = {**self.worker_options, **overrides}
        return SyncWorker(
            self._store.url,
            adapters=self.make_adapters,
            generation=self.generation,
            entry_hooks=self._store.entry_hooks,
            answer_hooks=self.answer_hooks,
            entry_now=self._now,
            publish=self._publish,
            on_event=self._fan_out,
            pull_interval=lambda: self.settings.pull_interval_s,
            **options,
        )

    def drain_once(self, *, pull: bool = False, max_wait_s: float = 30.0, within_s: float | None = None) -> DrainReport:
        """Send what can be sent now (and pull, if asked), then return; with `within_s`, stop trying after
        that long (a person is waiting for the answer). Blocks: not for the GUI thread."""
        if self.settings.problem:
            raise ValidationError(self.settings.problem)
        worker = self.make_worker()
        timer = threading.Timer(within_s, worker.stop_event.set) if within_s is not None else None
        try:
            if timer is not None:
                timer.start()
            return worker.drain(max_wait_s=max_wait_s, pull=pull)
        finally:
            if timer is not None:
                timer.cancel()
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
    def _one_off_http(self, adapter: Adapter) -> Iterator[Http | None]:
        """An HTTP session for one blocking call a person asked for (not the worker's lanes); None for an
        adapter that does not talk to an HTTP API."""
        if not isinstance(adapter, HttpApi):
            yield None
            return
        import httpx  # a third-party import deferred: start-up does not pay for it (bench/)

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

    def read_back_session(self, adapter: Adapter):
        """A one-off HTTP session for reading back what a backend holds (`sitrep verify --against-remote`)."""
        return self._one_off_http(adapter)

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

    def components(self, backend: str | None = None) -> list[dict[str, Any]]:
        """The backend's components (a status page's), to map services to; without a backend, the first
        installed one that lists components. Network: off the GUI thread."""
        if backend is None:
            sources = [n for n, cls in sorted(self.available.items()) if issubclass(cls, ComponentSource)]
            if not sources:
                raise ValidationError("No installed backend lists components.")
            backend = sources[0]
        return self.fetch_components(backend).components

    def fetch_components(self, backend: str) -> FetchedComponents:
        """Fetch the components now and keep the list for offline review. Blocks on the network."""
        cls = self.adapter_class(backend)
        adapter = cls(self.settings.backend(backend), self.secrets)
        if not isinstance(adapter, ComponentSource):
            raise ValidationError(f"{cls.label} has no components.")
        missing = adapter.missing()
        if missing:
            raise ValidationError(" ".join(missing))
        with self._one_off_http(adapter) as http:
            try:
                rows = adapter.components(http)
            except SyncFailure as exc:
                raise SitrepError(exc.message) from None
        fetched = FetchedComponents(backend, self._now(), [kept_component(c) for c in rows if c.get("id")])
        self.component_cache.save(fetched, self._component_source(adapter))
        return fetched

    def cached_components(self, backend: str) -> FetchedComponents | None:
        """The list last fetched for this backend's current page, if any (no network)."""
        cls = self.adapter_class(backend)
        if not issubclass(cls, ComponentSource):
            return None
        return self.component_cache.load(
            backend, self._component_source(cls(self.settings.backend(backend), self.secrets))
        )

    @staticmethod
    def _component_source(adapter: Adapter) -> dict[str, Any]:
        # Which page a list belongs to, said without knowing the vendor: its URL and required settings.
        source = {f.key: adapter.settings.get(f.key) for f in adapter.fields if f.required}
        source["url"] = adapter.base_url() if isinstance(adapter, HttpApi) else ""
        return source

    # -- on call -------------------------------------------------------------------------
    def _on_call_adapter(self, backend: str) -> OnCallSource:
        if backend not in self.available:
            raise OnCallNotSetUp(f"No '{backend}' backend is installed, so there is no on-call to read.")
        if self.settings.problem:
            raise OnCallNotSetUp(self.settings.problem)
        cls = self.available[backend]
        adapter = cls(self.settings.backend(backend), self.secrets)
        if not isinstance(adapter, OnCallSource):
            raise OnCallNotSetUp(f"{cls.label} has no on-call schedules.")
        missing = adapter.on_call_missing()
        if missing:
            raise OnCallNotSetUp(
                " ".join(missing) + f" (Tools ▸ Backends… in the console, or `sitrep backend set {backend}`)"
            )
        return adapter

    def on_call_sources(self) -> list[str]:
        """The installed backends that say who is on call; the enabled ones first."""
        names = [n for n, cls in sorted(self.available.items()) if issubclass(cls, OnCallSource)]
        return sorted(names, key=lambda n: not self.settings.backend(n).get("enabled"))

    def _on_call_backend(self, backend: str | None) -> str:
        if backend is not None:
            return backend
        sources = self.on_call_sources()
        if not sources:
            raise OnCallNotSetUp("No installed backend says who is on call.")
        return sources[0]

    def on_call_problem(self, backend: str | None = None) -> str | None:
        """Why on-call cannot be read, from the settings alone (no keyring, no network); None when it can
        be tried. For a control that says so instead of failing."""
        try:
            self._on_call_adapter(self._on_call_backend(backend))
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
        backend: str | None = None,
    ) -> OnCallReport:
        """Who is on call now, as role suggestions: matched to `people` (the responder directory) by
        e-mail, ordered by escalation level, each marked with the roles they hold among `holders`.
        `services` are the incident's services: those mapped in the backend's `service_map` add their
        own on-call. Blocks on the network: call it off the GUI thread.

        When the backend cannot be asked (offline, refused, rate limited, no keyring), the last answer
        it gave for the same targets comes back marked `from_cache` with the reason; with none
        remembered, OnCallUnavailable says why. Not set up: OnCallNotSetUp, before any request."""
        adapter = self._on_call_adapter(self._on_call_backend(backend))
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
    return replace(lane, breaker=breaker.state)
