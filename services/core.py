"""The application object: one store, one catalog, every service. Built once by app/ and passed down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from models.types import utcnow
from services.adapters.discovery import discover_adapters
from services.analytics.history_import import HistoryImport
from services.analytics.metrics import MetricsService
from services.changes import ChangeBus, Topic
from services.comms.service import CommsService
from services.detection.alerts import AlertService
from services.detection.declare import TriageService
from services.exchange.export_import import Exchange
from services.exercises.sandbox import sandbox_adapters
from services.exercises.service import ExerciseService
from services.exercises.workspace import build_vocabulary, holds_exercise
from services.governance.delegations import DelegationService
from services.governance.impact import ImpactService
from services.maintenance import MaintenanceService
from services.record.catalog import Catalog
from services.record.clocks import ClockService
from services.record.incidents import IncidentService
from services.record.integrity import IntegrityService
from services.record.people import PeopleService
from services.record.roles import RoleService
from services.record.timeline import TimelineService
from services.resolution.change_links import ChangeLinkService
from services.resolution.change_records import ChangeService
from services.resolution.checklists import ChecklistService
from services.resolution.flags import FlagService
from services.resolution.itil_remote import ItilTracker
from services.resolution.problems import ProblemService
from services.review.actions import ActionItemService
from services.review.service import ReviewService
from services.rotation.service import RotationService
from services.runbooks.setup import build_runbook_service
from services.storage.store import Store
from services.sync.service import SyncService
from services.vendors.service import VendorService

log = logging.getLogger(__name__)


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
            options = dict(sync_options or {})
            options["discovered"] = sandbox_adapters(options.get("discovered") or discover_adapters())
            sync_options = options
        self.sync = SyncService(store, config_dir, now=now, publish=pub, **(sync_options or {}))
        self.problems = ProblemService(store, now, pub)
        self.change_links = ChangeLinkService(store, now, pub)
        self.itil = ItilTracker(self.sync)
        self.changes.subscribe(lambda change: change.topic is not Topic.SYNC and self.sync.wake())
        # Feature-flag kill switches leave through the outbox; what a switch read back is recorded when it is sent.
        self.flags = FlagService(store, now, pub, self.sync, config_dir)
        self.sync.answer_hooks.append(self.flags.record_answer)
        # Messages leave through the sync outbox.
        self.comms = CommsService(store, self.catalog, now, pub, config_dir, sync=self.sync)
        # Severity proposed from impact (asked by declare and set_severity); the register of delegations of
        # authority, which the comms approval rule reads (comms.toml's approvers are entries of it).
        self.impact = ImpactService(store, self.catalog, self.incidents, now, pub, config_dir)
        self.delegations = DelegationService(store, now, pub, config_dir, lambda: self.comms.settings.approvers)
        self.comms.delegations = self.delegations
        # Planned maintenance windows; what a status page is owed for them also leaves through the outbox.
        self.maintenance = MaintenanceService(store, now, pub, sync=self.sync)
        # Post-incident reviews open themselves on resolve (an entry hook) and add their clocks to the clocks'.
        self.action_items = ActionItemService(store, now, pub)
        self.reviews = ReviewService(store, self.incidents, self.timeline, self.roles, self.people, self.metrics,
                                     self.clocks, now, pub, config_dir)  # fmt: skip
        self.reviews.action_items = self.action_items
        # Detection: alerts in (polled or posted), muted for maintenance, correlated, triaged into incidents.
        self.alerts = AlertService(store, now, pub, self.maintenance, self.sync)
        self.triage = TriageService(self, config_dir, now, pub)
        self.exercises = ExerciseService(store, self.catalog, self.incidents, now, pub,
                                         lambda: build_vocabulary(self.catalog, self.comms))  # fmt: skip
        # Vendor cases: their contracts' clocks join the incident's, their outcome joins the review document.
        self.vendors = VendorService(store, now, pub, self.comms, self.clocks, config_dir)
        self.reviews.section_sources.append(("response", self.vendors.review_text))
        self.runbooks = build_runbook_service(store, now, pub, config_dir, self.sync, self.roles)
        self.rotation = RotationService(store, self.catalog, now, pub, config_dir)
        # What runs inside every timeline append's transaction, in this order, composed here and nowhere
        # else. The comms guard first: it refuses an entry that would make the channels send a message
        # nobody released, and it must refuse before the outbox writer plans that message's deliveries
        # (a refusal rolls the transaction back, but a guard that runs second depends on every hook
        # before it leaving nothing behind outside the transaction). Then the writer plans what each
        # enabled backend is owed for the entry (services/sync/outbox.py). Last, a Resolved status opens the
        # incident's post-incident review when it owes one: its own entries are appended with these same
        # hooks, so they are guarded and planned like any other (services/review/service.py).
        store.entry_hooks[:] = [self.comms.guard_entry, self.sync.writer, self.reviews.open_when_resolved]

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
