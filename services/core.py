"""The application object: one store, one catalog, every service. Built once by app/ and passed down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from models.types import utcnow
from services.catalog import Catalog
from services.changes import ChangeService
from services.checklists import ChecklistService
from services.clocks import ClockService
from services.exchange import Exchange
from services.exercises.sandbox import sandbox_adapters
from services.exercises.service import ExerciseService
from services.exercises.workspace import build_vocabulary, holds_exercise
from services.history_import import HistoryImport
from services.incidents import IncidentService
from services.integrity import IntegrityService
from services.metrics import MetricsService
from services.people import PeopleService
from services.roles import RoleService
from services.store import Store
from services.timeline import TimelineService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What kind of data changed, so each listener decides whether to refresh.

    topic: "incident" | "timeline" | "roles" | "people" | "maintenance" | ...; incident_id may be None
    (many or none);
    seq is the new timeline entry's number when one entry was appended.
    """

    topic: str
    incident_id: str | None
    seq: int | None


class ChangeBus:
    """Synchronous fan-out of Change notices after each commit. Qt-free; the GUI bridges it to signals."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Change], None]] = []

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, topic: str, incident_id: str | None, seq: int | None) -> None:
        change = Change(topic, incident_id, seq)
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # a broken listener must not undo a committed change
                log.exception("change listener failed for %s", change)


class Sitrep:
    def __init__(
        self,
        store: Store,
        catalog: Catalog | None = None,
        now: Callable[[], datetime] = utcnow,
        config_dir: Path | None = None,
        sync_options: dict | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog or Catalog()
        self.now = now
        self.changes = ChangeBus()
        pub = self.changes.publish
        self.timeline = TimelineService(store, now, pub)
        self.incidents = IncidentService(store, self.catalog, now, pub)
        self.change_records = ChangeService(store, now, pub)
        self.checklists = ChecklistService(store, now, pub, config_dir)
        self.incidents.status_gates.append(self.checklists.status_gate)
        self.people = PeopleService(store, pub)
        self.roles = RoleService(store, self.catalog, now, pub)
        self.clocks = ClockService(store, self.catalog, now, pub)
        self.exchange = Exchange(store, self.catalog, now, pub)
        self.integrity = IntegrityService(store)
        self.metrics = MetricsService(store, self.catalog, config_dir)
        self.history = HistoryImport(store, self.catalog, now, pub, self.exchange)
        # An exercise's own store: every backend is a recording sandbox, every incident an exercise.
        self.in_exercise = holds_exercise(store)
        self.incidents.exercise_only = self.in_exercise
        if self.in_exercise:
            from services.adapters.discovery import discover_adapters

            options = dict(sync_options or {})
            options["discovered"] = sandbox_adapters(options.get("discovered") or discover_adapters())
            sync_options = options
        # Sync registers its outbox writer in store.entry_hooks; see services/sync.
        from services.sync.service import SyncService

        self.sync = SyncService(store, config_dir, now=now, publish=pub, **(sync_options or {}))
        self.changes.subscribe(lambda change: change.topic != "sync" and self.sync.wake())
        # Comms registers its guard in store.entry_hooks; messages leave through the sync outbox.
        from services.comms.service import CommsService

        self.comms = CommsService(store, self.catalog, now, pub, config_dir, sync=self.sync)
        # Planned maintenance windows; what a status page is owed for them also leaves through the outbox.
        from services.maintenance import MaintenanceService

        self.maintenance = MaintenanceService(store, now, pub, sync=self.sync)
        self.exercises = ExerciseService(store, self.catalog, self.incidents, now, pub,
                                         lambda: build_vocabulary(self.catalog, self.comms))  # fmt: skip

    @classmethod
    def open(
        cls,
        url: str,
        *,
        backups_dir: Path | None = None,
        config_dir: Path | None = None,
        now: Callable[[], datetime] = utcnow,
        sync_options: dict | None = None,
        read_only: bool = False,
    ) -> Sitrep:
        """`read_only` opens the store without ever writing it (it is also read-only, whatever is
        asked, when its file or folder cannot be written)."""
        catalog = Catalog(config_dir)
        return cls(Store.open(url, backups_dir, read_only=read_only), catalog, now, config_dir, sync_options)

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    def close(self) -> None:
        self.sync.stop()
        self.metrics.close()
        self.store.close()
