"""The sync worker: sends each backend's outbox items in order and pulls what changed elsewhere.

It owns its own database engines (a private Store on the same URL) and one httpx client per backend
that talks to an HTTP API,
so it can run in a thread beside the GUI or alone in `sitrep sync`. Several workers on one database
are safe: a lane (one backend) is leased to one worker at a time, and an item is claimed with a
conditional UPDATE before it is sent.

Exactly-once effect comes from three things together: an item is marked in_flight (and its attempt
counted) in a committed transaction before the request goes out; a retry after any earlier attempt
looks the object up before creating it again (the adapters do this); and the sent state, the remote
id and the remote links commit together after the answer.

Answers are recorded a batch at a time (one commit for the batch a lane claimed, not one per item).
That does not loosen the guarantee: until its answer is recorded an item stays in flight, and an
in-flight item found by the next worker is looked up before anything is sent again.

Why one file over 500 lines: the lanes, leases, claims, answers, back-off and pulls are one state
machine over the same lane state and the same write discipline (durable claim, batched answers);
split across files, the order those steps rely on would have to be read in several places at once.

Longer than ~500 lines: leasing, claiming, sending, recording and pulling are one crash-safety argument
(above); split apart, each part would need the others' invariants restated.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Integer, bindparam, case, select, update
from sqlalchemy.exc import DatabaseError, OperationalError

from models.entities import Incident, OutboxItem, RemoteLink, SyncBackendState
from models.enums import EntryKind, OutboxState
from models.types import utcnow
from services.adapters.failures import (
    AuthFailure,
    NotConfigured,
    PermanentFailure,
    SyncFailure,
    TransientFailure,
)
from services.adapters.http import Http, Pacer
from services.adapters.interface import Adapter, HttpApi, ReadsBack
from services.adapters.values import ItemView, LinkView, NewLink, PullContext, SendContext, SendResult
from services.changes import Topic
from services.maintenance import apply_remote_maintenance
from services.record.incidents import apply_remote_effects
from services.record.timeline import append_entry
from services.review.actions import apply_remote_action_status
from services.storage.secrets import KeyringUnavailable
from services.storage.store import Store, storage_error
from services.sync.backoff import CircuitBreaker, retry_delay
from services.sync.outbox import (
    _ITEM_COLS,
    CREATING_OPS,
    LinkReader,
    hold_key,
    insert_ignoring_duplicates,
    item_view,
    link_rows,
)
from services.text.limits import AUTHOR_MAX, BODY_MAX, clean_pulled
from services.text.time_range import history_problem

log = logging.getLogger(__name__)

O = OutboxItem.__table__  # noqa: E741
L = RemoteLink.__table__
B = SyncBackendState.__table__
I = Incident.__table__  # noqa: E741

PAUSE_ON_AUTH_S = 300.0
PAUSE_ON_CONFIG_S = 120.0
MAX_ERROR_CHARS = 1000
FIRST_BATCH = 5  # a lane's first batch, before its pace is known

# Built once: the answer path runs for every item, and building a statement costs more than running it.
_MARK_SENT = (
    update(O)
    .where(O.c.id == bindparam("p_id"))
    .values(state=OutboxState.SENT.value, remote_ref=bindparam("p_ref"), last_error=bindparam("p_note"),
            last_status=None, uncertain=False, next_attempt_at=None, updated_at=bindparam("p_at"))
)  # fmt: skip
_SET_LINK_STATE = (
    update(L)
    .where(L.c.backend == bindparam("p_backend"), L.c.remote_kind == bindparam("p_kind"),
           L.c.remote_id == bindparam("p_rid"))
    .values(remote_state=bindparam("p_state"), updated_at=bindparam("p_at"))
)  # fmt: skip
_CLAIM = (
    update(O)
    .where(O.c.id.in_(bindparam("p_ids", expanding=True)), O.c.state == OutboxState.PENDING.value)
    .values(state=OutboxState.IN_FLIGHT.value, attempts=O.c.attempts + 1, last_attempt_at=bindparam("p_at"),
            updated_at=bindparam("p_at"))
)  # fmt: skip
_CLAIM_RETURNING = _CLAIM.returning(*_ITEM_COLS)
_CLAIMED = select(*_ITEM_COLS).where(
    O.c.id.in_(bindparam("p_ids", expanding=True)), O.c.state == OutboxState.IN_FLIGHT.value,
    O.c.last_attempt_at == bindparam("p_at"),
)  # fmt: skip
_LEASE_KEPT = (
    update(B)
    .where(B.c.backend == bindparam("p_backend"), B.c.lease_owner == bindparam("p_owner"))
    .values(lease_until=bindparam("p_until"))
)
_LANE_FAILED = (
    # An item about a maintenance window has no incident; its window's id holds its lane instead.
    # Only a failed create holds anything: what comes after it needs the remote object it would make. A
    # failed note, status update or responder request holds nothing (an unknown responder's e-mail must not
    # stop the incident's notes); it waits for a person alone.
    select(
        O.c.incident_id, O.c.id, case((O.c.incident_id.is_(None), O.c.payload["maintenance_id"].as_string()))
    )
    .where(O.c.backend == bindparam("p_backend"), O.c.state == OutboxState.FAILED.value,
           O.c.op.in_(CREATING_OPS))
    .order_by(O.c.id.desc())
)
_LANE_PENDING = (
    select(*_ITEM_COLS, I.c.key).outerjoin(I, I.c.id == O.c.incident_id)
    .where(O.c.backend == bindparam("p_backend"), O.c.state == OutboxState.PENDING.value)
    .order_by(O.c.id).limit(bindparam("p_limit", type_=Integer))
)  # fmt: skip
_BACKEND_ANSWERED = (
    update(B)
    .where(B.c.backend == bindparam("p_backend"))
    .values(breaker="closed", consecutive_failures=0, open_until=None, last_success_at=bindparam("p_at"),
            last_error=None)
)  # fmt: skip


@dataclass(frozen=True)
class SyncEvent:
    """What the worker tells listeners (the CLI's progress bar, the GUI's status bar via a queued signal).

    kind: sent | retry | failed | paused | breaker_open | breaker_closed | pulled | idle
    """

    kind: str
    backend: str | None
    item_id: int | None = None
    message: str = ""


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    retries: int = 0
    pulled: int = 0
    left_pending: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Lane:
    adapter: Adapter
    client: httpx.Client | None  # only for an adapter that talks to an HTTP API
    http: Http | None
    breaker: CircuitBreaker
    pacer: Pacer
    failures: int = 0  # consecutive transient failures, for back-off
    paused_until: float = 0.0
    paused_reason: str = ""
    paused_generation: int = -1
    holds_lease: bool = False
    links: LaneLinks | None = None
    seconds_per_item: float | None = None  # how long this backend takes per item, smoothed

    def batch_size(self, most: int, seconds: float) -> int:
        """As many items as this backend gets through in about `seconds`: a fast backend's answers are
        recorded in few commits, a slow one's batch stays small (few items in flight, and the other
        lanes are not kept waiting behind it)."""
        if self.seconds_per_item is None:
            return min(most, FIRST_BATCH)
        return max(1, min(most, int(seconds / max(self.seconds_per_item, 1e-6))))

    def learn_pace(self, seconds: float) -> None:
        known = self.seconds_per_item
        self.seconds_per_item = seconds if known is None else 0.7 * known + 0.3 * seconds


class LaneLinks:
    """The adapters' view of links for one lane, with each incident's remote object remembered once
    seen: links are never deleted or re-pointed, and a create answered in this batch (recorded at the
    batch's end) must already be visible to the note that follows it."""

    def __init__(self, reader: LinkReader) -> None:
        self._reader = reader
        self._incidents: dict[tuple[str, str], LinkView] = {}
        self._locals: dict[tuple[str, str, str], LinkView] = {}  # other local records (maintenance windows)

    def incident_link(self, incident_id: str | None, remote_kind: str) -> LinkView | None:
        if incident_id is None:
            return None
        key = (incident_id, remote_kind)
        hit = self._incidents.get(key)
        if hit is None:
            hit = self._reader.incident_link(incident_id, remote_kind)
            if hit is not None:
                self._incidents[key] = hit
        return hit

    def local_link(self, local_kind: str, local_id: str | None, remote_kind: str) -> LinkView | None:
        if local_id is None:
            return None
        key = (local_kind, local_id, remote_kind)
        hit = self._locals.get(key)
        if hit is None:
            hit = self._reader.local_link(local_kind, local_id, remote_kind)
            if hit is not None:
                self._locals[key] = hit
        return hit

    def learn(self, backend: str, result: SendResult, now: datetime) -> None:
        for lk in result.links:
            view = LinkView(backend, lk.local_kind, lk.local_id, lk.incident_id, lk.remote_kind, str(lk.remote_id),
                            lk.url, lk.origin, lk.remote_state, now)  # fmt: skip
            if lk.local_kind == "incident" and lk.incident_id:
                self._incidents[(lk.incident_id, lk.remote_kind)] = view
            elif lk.local_kind == "maintenance":
                self._locals[(lk.local_kind, lk.local_id, lk.remote_kind)] = view

    def linked_maintenances(self) -> list[LinkView]:
        return self._reader.linked_maintenances()

    def linked_incidents(self, remote_kind: str) -> list[LinkView]:
        return self._reader.linked_incidents(remote_kind)

    def linked_records(self, local_kind: str, remote_kind: str) -> list[LinkView]:
        return self._reader.linked_records(local_kind, remote_kind)

    def known_remote_ids(self, incident_id: str, remote_kind: str) -> set[str]:
        return self._reader.known_remote_ids(incident_id, remote_kind)

    def own_texts(self, incident_id: str) -> set[str]:
        return self._reader.own_texts(incident_id)


@dataclass(frozen=True)
class _Answer:
    """A backend's yes to one item, not yet recorded."""

    backend: str
    item: ItemView
    result: SendResult
    at: datetime


def _owner_alive(owner: str | None) -> bool:
    """Is the worker that wrote this lease owner still running? Only provable on this host."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine on a shared database: trust the lease time
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class SyncWorker:
    def __init__(
        self,
        url: str,
        *,
        adapters: Callable[[], dict[str, Adapter]],
        generation: Callable[[], int] = lambda: 0,
        entry_hooks: Iterable = (),
        answer_hooks: Iterable = (),
        entry_now: Callable[[], datetime] = utcnow,
        publish: Callable[..., None] | None = None,
        on_event: Callable[[SyncEvent], None] | None = None,
        pull_interval: Callable[[], float] = lambda: 60.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        lease_s: float = 60.0,
        batch_size: int = 200,
        batch_time_s: float = 0.5,
    ) -> None:
        self.url = url
        self._adapters = adapters
        self._generation = generation
        self._entry_hooks = list(entry_hooks)
        # Called in the commit that records a batch's answers, for each answer that reports facts
        # (`SendResult.facts`): `hook(conn, item, result, now=, hooks=)` appends the timeline entries
        # they belong in and returns them, so "it went through" and the record of it commit together.
        self._answer_hooks = list(answer_hooks)
        self._entry_now = entry_now
        self._publish = publish or (lambda *a: None)
        self._on_event = on_event or (lambda e: None)
        self._pull_interval = pull_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown = breaker_cooldown
        self.lease_s = lease_s
        self.batch_size = batch_size  # the most items a lane claims at once
        self.batch_time_s = batch_time_s  # ...or about as many as it sends in this long
        self.outcomes: dict[str, int] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self._pull_requested = threading.Event()
        self._try_now = threading.Event()
        self._store: Store | None = None
        self._lanes: dict[str, _Lane] = {}
        self._lanes_generation = -1
        self._last_pull = 0.0
        self.breakers: dict[str, CircuitBreaker] = {}
        self._answers: list[_Answer] = []

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> None:
        if self._store is None:
            self._store = Store(self.url, None)  # the schema is already migrated by whoever opened it

    @property
    def _claim_returns(self) -> bool:
        return bool(self.store.writer.dialect.update_returning)

    def close(self) -> None:
        if self._answers:
            try:
                self._record_answers()
            except Exception:  # still in flight in the store: the next worker looks them up
                log.warning("could not record %d answer(s) before closing", len(self._answers), exc_info=True)
        for name, lane in self._lanes.items():
            if lane.holds_lease:
                self._release_lease(name)
            if lane.client is not None:
                lane.client.close()
        self._lanes = {}
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> Store:
        self.open()
        assert self._store is not None
        return self._store

    def _emit(self, event: SyncEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("sync listener failed for %s", event)

    def _lanes_now(self) -> dict[str, _Lane]:
        gen = self._generation()
        if gen != self._lanes_generation:
            adapters = self._adapters()
            for name, lane in list(self._lanes.items()):
                if lane.holds_lease:
                    self._release_lease(name)
                if lane.client is not None:
                    lane.client.close()
            self._lanes = {}
            for name, adapter in adapters.items():
                pacer = Pacer(adapter.max_requests_per_s)
                client, http = self._http_for(adapter, pacer) if isinstance(adapter, HttpApi) else (None, None)
                breaker = self.breakers.get(name) or CircuitBreaker(
                    self.breaker_threshold, self.breaker_cooldown
                )
                self.breakers[name] = breaker
                links = LaneLinks(LinkReader(self.store, name, utcnow))
                self._lanes[name] = _Lane(adapter, client, http, breaker, pacer, links=links)
            self._lanes_generation = gen
        return self._lanes

    def _http_for(self, adapter: HttpApi, pacer: Pacer) -> tuple[httpx.Client, Http]:
        timeout = float(adapter.setting("timeout_s") or 20.0)
        client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), follow_redirects=False)
        try:
            base = adapter.base_url() or "http://unconfigured.invalid"
        except Exception:
            base = "http://unconfigured.invalid"
        http = Http(
            client, label=adapter.label, base_url=base, headers=adapter.headers,
            describe_error=adapter.describe_error, pace_hint=adapter.pace_hint, pacer=pacer,
            stop=self.stop_event, rate_limited_statuses=adapter.rate_limited_statuses,
        )  # fmt: skip
        return client, http

    # -- leases --------------------------------------------------------------------------
    def _acquire_lease(self, backend: str) -> bool:
        now = utcnow()
        with self.store.write_connection() as c:
            row = c.execute(select(B.c.lease_owner, B.c.lease_until).where(B.c.backend == backend)).first()
            if row is None:
                c.execute(B.insert().values(backend=backend, breaker="closed", consecutive_failures=0))
                owner, until = None, None
            else:
                owner, until = row
            if owner == self.owner:
                c.execute(
                    update(B)
                    .where(B.c.backend == backend)
                    .values(lease_until=now + timedelta(seconds=self.lease_s))
                )
                return True
            if owner and until and until > now and _owner_alive(owner):
                return False
            c.execute(update(B).where(B.c.backend == backend).values(
                lease_owner=self.owner, lease_until=now + timedelta(seconds=self.lease_s)))  # fmt: skip
            # Whatever the previous owner had in flight may or may not have reached the backend.
            recovered = c.execute(
                update(O).where(O.c.backend == backend, O.c.state == OutboxState.IN_FLIGHT.value).values(
                    state=OutboxState.PENDING.value, uncertain=True, next_attempt_at=None, updated_at=now,
                    last_error="Interrupted while sending (the worker stopped); checking before sending again.",
                )
            ).rowcount  # fmt: skip
        if recovered:
            log.warning(
                "%s: %d item(s) were in flight when a worker stopped; they will be checked",
                backend,
                recovered,
            )
        return True

    def _release_lease(self, backend: str) -> None:
        try:
            with self.store.write_connection() as c:
                c.execute(update(B).where(B.c.backend == backend, B.c.lease_owner == self.owner).values(
                    lease_owner=None, lease_until=None))  # fmt: skip
        except Exception:
            log.warning("could not release the %s lease", backend, exc_info=True)
        lane = self._lanes.get(backend)
        if lane:
            lane.holds_lease = False

    # -- one lane, one item --------------------------------------------------------------
    def _next_items(self, backend: str, limit: int) -> list[ItemView]:
        """The lane's next pending items in order, skipping those held back by an earlier failed create.
        Stops at the first item that is not due yet (it keeps its place; nothing jumps ahead of it)."""
        now = utcnow()
        out: list[ItemView] = []
        with self.store.read_connection() as c:
            # Newest first, so each incident (or maintenance window) ends up held by its earliest failure.
            failed = {hold_key(inc, {"maintenance_id": mid}): item_id
                      for inc, item_id, mid in c.execute(_LANE_FAILED, {"p_backend": backend})}  # fmt: skip
            rows = c.execute(_LANE_PENDING, {"p_backend": backend, "p_limit": limit + len(failed) * 4 + 8})
            for row in rows:
                view = item_view(row, row[-1])
                blocker = failed.get(hold_key(view.incident_id, view.payload))
                if blocker is not None and blocker < view.id:
                    continue
                if view.next_attempt_at is not None and view.next_attempt_at > now:
                    if not out:
                        out.append(view)
                    break
                out.append(view)
                if len(out) >= limit:
                    break
        return out

    def step(self, backend: str) -> tuple[str, float]:
        """Send the next items of one lane (a small batch, in order; the batch ends at the first item
        that does not go through). Returns (outcome of the last item, seconds until worth trying again)."""
        lane = self._lanes_now().get(backend)
        if lane is None:
            return "disabled", float("inf")
        mono = time.monotonic()
        if lane.paused_until > mono and lane.paused_generation == self._generation():
            return "paused", lane.paused_until - mono
        if self._answers:
            self._record_answers()  # a batch whose answers could not be recorded last time
        if not lane.holds_lease:
            if not self._acquire_lease(backend):
                return "leased_elsewhere", 5.0
            lane.holds_lease = True
        items = self._next_items(backend, lane.batch_size(self.batch_size, self.batch_time_s))
        if not items:
            return "empty", float("inf")
        now = utcnow()
        first = items[0]
        if first.next_attempt_at is not None and first.next_attempt_at > now:
            return "waiting", (first.next_attempt_at - now).total_seconds()
        closed = lane.breaker.state == "closed"
        if not lane.breaker.allow():
            return "breaker_open", max(lane.breaker.seconds_until_probe(), 0.05)
        if not closed:
            items = items[:1]  # a half-open breaker lets one probe through
        claimed = self._claim(backend, items)
        if not claimed:
            return "raced", 0.0
        outcome = "sent"
        tried = 0
        started = time.monotonic()
        try:
            for item in claimed:
                tried += 1
                outcome = self._send(backend, lane, item)
                self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
                if outcome != "sent" or self.stop_event.is_set():
                    break
        finally:
            try:
                self._record_answers()
            finally:
                self._unclaim([i.id for i in claimed[tried:]])
        lane.learn_pace((time.monotonic() - started) / tried)
        return outcome, 0.0

    @contextmanager
    def _write(self, *, durable: bool):
        """A write transaction on the worker's engine. Claims are durable (fsync) before a request
        goes out; recording an answer need not be: if that commit is lost to a power cut, the item is
        still in flight and is looked up, not re-sent blindly."""
        try:
            with self.store.writer.connect() as conn:
                if self.store.is_sqlite:
                    raw = conn.connection.dbapi_connection
                    raw.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                with conn.begin():
                    yield conn
        except (OperationalError, DatabaseError) as exc:
            raise storage_error(exc) from None

    def _claim(self, backend: str, items: list[ItemView]) -> list[ItemView]:
        """Mark items in flight (and count the attempt) in a durable commit; returns those this worker
        got, as they are now (a person may have retried or cancelled one since it was read)."""
        now = utcnow()
        ids = [i.id for i in items]
        keys = {i.id: i.incident_key for i in items}
        with self._write(durable=True) as c:
            if self._claim_returns:
                rows = c.execute(_CLAIM_RETURNING, {"p_ids": ids, "p_at": now}).all()
            else:  # pragma: no cover - a database without UPDATE ... RETURNING
                c.execute(_CLAIM, {"p_ids": ids, "p_at": now})
                rows = c.execute(_CLAIMED, {"p_ids": ids, "p_at": now}).all()
            c.execute(_LEASE_KEPT, {"p_backend": backend, "p_owner": self.owner,
                                    "p_until": now + timedelta(seconds=self.lease_s)})  # fmt: skip
        return sorted((item_view(r, keys.get(r[0])) for r in rows), key=lambda v: v.id)

    def _unclaim(self, ids: list[int]) -> None:
        """Give back claimed items that were not tried (the batch stopped before them)."""
        if not ids:
            return
        with self._write(durable=True) as c:
            c.execute(update(O).where(O.c.id.in_(ids), O.c.state == OutboxState.IN_FLIGHT.value).values(
                state=OutboxState.PENDING.value, attempts=O.c.attempts - 1))  # fmt: skip

    def _send(self, backend: str, lane: _Lane, item: ItemView) -> str:
        if lane.http is None:
            # An HTTP session paces its own requests; anything else (SMTP, a local run) is paced per item.
            lane.pacer.wait(self.stop_event)
        ctx = SendContext(lane.http, lane.links, item, utcnow())
        try:
            result = lane.adapter.send(ctx)
        except TransientFailure as exc:
            return self._retry_later(backend, lane, item, exc)
        except (AuthFailure, NotConfigured, KeyringUnavailable) as exc:
            return self._pause(backend, lane, item, exc)
        except PermanentFailure as exc:
            lane.breaker.record_success()  # the backend answered; it just said no
            lane.failures = 0
            self._finish(item, OutboxState.FAILED, error=exc.message, status=exc.status)
            self._emit(SyncEvent("failed", backend, item.id, exc.message))
            return "failed"
        except Exception as exc:  # a bug in an adapter: keep the item, say so, carry on with the rest
            log.exception("%s failed on item %s (%s)", backend, item.id, item.op)
            msg = f"Internal error in the {lane.adapter.label} adapter ({type(exc).__name__}); details are in the log."
            self._finish(item, OutboxState.FAILED, error=msg)
            self._emit(SyncEvent("failed", backend, item.id, msg))
            return "failed"
        closed = lane.breaker.record_success()
        lane.failures = 0
        now = utcnow()
        lane.links.learn(backend, result, now)
        self._answers.append(_Answer(backend, item, result, now))
        if closed:
            self._emit(SyncEvent("breaker_closed", backend, None, f"{lane.adapter.label} answers again."))
        return "sent"

    def _record_answers(self) -> None:
        """Record the answers of a batch in one transaction: sent, remote ids, links, lane health.
        Left in memory (and the items in flight) if the store refuses; tried again at the next step."""
        answers = self._answers
        if not answers:
            return
        marks, links, states, healthy = [], [], [], {}
        for a in answers:
            marks.append({"p_id": a.item.id, "p_ref": a.result.remote_ref, "p_note": a.result.note or None,
                          "p_at": a.at})  # fmt: skip
            links += link_rows(a.backend, a.result.links, a.at)
            states += [{"p_backend": a.backend, "p_kind": kind, "p_rid": rid, "p_state": state, "p_at": a.at}
                       for (kind, rid), state in a.result.link_states.items()]  # fmt: skip
            healthy[a.backend] = a.at
        written = []
        with self._write(durable=False) as c:
            c.execute(_MARK_SENT, marks)
            insert_ignoring_duplicates(c, L, links, ["backend", "remote_kind", "remote_id"])
            if states:
                c.execute(_SET_LINK_STATE, states)
            c.execute(_BACKEND_ANSWERED, [{"p_backend": b, "p_at": at} for b, at in healthy.items()])
            for a in answers:
                if a.result.facts:
                    written += self._record_facts(c, a)
        self._answers = []
        for entry in written:
            self._publish(Topic.TIMELINE, entry.incident_id, entry.seq)
        for a in answers:
            self._emit(SyncEvent("sent", a.backend, a.item.id, a.result.note))
        for incident_id in dict.fromkeys(a.item.incident_id for a in answers):
            self._publish(Topic.SYNC, incident_id, None)

    def _record_facts(self, c, answer: _Answer) -> list:
        """The entries an answer's facts belong in. A hook that fails is rolled back to its savepoint and
        logged: the item was sent, and that must be recorded whatever a hook's bug."""
        out = []
        for hook in self._answer_hooks:
            try:
                with c.begin_nested():
                    out += hook(c, answer.item, answer.result, now=self._entry_now(), hooks=self._entry_hooks) or []
            except Exception:
                log.exception("recording what %s reported for item %s failed", answer.backend, answer.item.id)
        return out

    def _finish(self, item: ItemView, state: OutboxState, *, error: str | None = None, status: int | None = None,
                next_at: datetime | None = None, uncertain: bool | None = None) -> None:  # fmt: skip
        self._record_answers()  # what went before is recorded first, in order
        values = {"state": state.value, "last_error": _clip(error) if error else None, "last_status": status,
                  "next_attempt_at": next_at, "updated_at": utcnow()}  # fmt: skip
        if uncertain is not None:
            values["uncertain"] = uncertain
        with self._write(durable=False) as c:
            c.execute(update(O).where(O.c.id == item.id).values(**values))
        self._publish(Topic.SYNC, item.incident_id, None)

    def _retry_later(self, backend: str, lane: _Lane, item: ItemView, exc: TransientFailure) -> str:
        lane.failures += 1
        delay = retry_delay(lane.failures, exc.retry_after, base=self.backoff_base, cap=self.backoff_cap)
        if exc.retry_after:
            lane.pacer.hold_until(exc.retry_after)
        opened = lane.breaker.record_failure() if exc.counts_against_breaker else False
        now = utcnow()
        self._finish(item, OutboxState.PENDING, error=exc.message, status=exc.status,
                     next_at=now + timedelta(seconds=delay), uncertain=item.uncertain or exc.uncertain)  # fmt: skip
        with self.store.write_connection() as c:
            c.execute(update(B).where(B.c.backend == backend).values(
                consecutive_failures=lane.breaker.failures, last_failure_at=now, last_error=_clip(exc.message),
                breaker=lane.breaker.state,
                open_until=now + timedelta(seconds=lane.breaker.seconds_until_probe()) if lane.breaker.state != "closed" else None,
            ))  # fmt: skip
        if opened:
            self._emit(SyncEvent("breaker_open", backend, item.id,
                                 f"{lane.adapter.label} keeps failing; pausing it for {lane.breaker.seconds_until_probe():.0f} s."))  # fmt: skip
        self._emit(SyncEvent("retry", backend, item.id, f"{exc.message} Next try in {delay:.1f} s."))
        return "retry"

    def _pause(self, backend: str, lane: _Lane, item: ItemView, exc: Exception) -> str:
        message = getattr(exc, "message", str(exc))
        wait = PAUSE_ON_AUTH_S if isinstance(exc, AuthFailure) else PAUSE_ON_CONFIG_S
        lane.paused_until = time.monotonic() + wait
        lane.paused_reason = message
        lane.paused_generation = self._generation()
        self._record_answers()
        now = utcnow()
        # Not this item's fault: it keeps its place; the attempt it did not really make is given back.
        with self.store.write_connection() as c:
            c.execute(update(O).where(O.c.id == item.id).values(
                state=OutboxState.PENDING.value, attempts=O.c.attempts - (0 if isinstance(exc, AuthFailure) else 1),
                last_error=_clip(message), last_status=getattr(exc, "status", None),
                next_attempt_at=now + timedelta(seconds=wait), updated_at=now))  # fmt: skip
            c.execute(
                update(B).where(B.c.backend == backend).values(last_error=_clip(message), last_failure_at=now)
            )
        self._emit(SyncEvent("paused", backend, item.id, message))
        self._publish(Topic.SYNC, item.incident_id, None)
        return "paused"

    # -- pulling -------------------------------------------------------------------------
    def pull(self, backends: Iterable[str] | None = None) -> int:
        """Bring what changed in the backends onto the timelines. Returns the entries written."""
        written = 0
        for name, lane in self._lanes_now().items():
            if backends is not None and name not in backends:
                continue
            if not isinstance(lane.adapter, ReadsBack):
                continue
            if lane.paused_until > time.monotonic() or lane.breaker.state != "closed":
                continue
            # "Recently changed" is judged on the store's own clock, the one incidents are stamped with.
            ctx = PullContext(lane.http, LinkReader(self.store, name, self._entry_now), utcnow())
            try:
                result = lane.adapter.pull(ctx)
            except TransientFailure as exc:
                lane.breaker.record_failure()
                self._emit(SyncEvent("retry", name, None, f"Pull: {exc.message}"))
                continue
            except (SyncFailure, KeyringUnavailable) as exc:
                self._emit(SyncEvent("failed", name, None, f"Pull: {getattr(exc, 'message', exc)}"))
                continue
            except Exception as exc:
                log.exception("pull from %s failed", name)
                self._emit(
                    SyncEvent(
                        "failed",
                        name,
                        None,
                        f"Pull from {lane.adapter.label}: internal error ({type(exc).__name__}).",
                    )
                )
                continue
            lane.breaker.record_success()
            written += self._apply_pull(name, result)
            with self.store.write_connection() as c:
                c.execute(update(B).where(B.c.backend == name).values(last_pull_at=utcnow()))
        self._last_pull = time.monotonic()
        if written:
            self._emit(SyncEvent("pulled", None, None, f"{written} change(s) brought in from the backends."))
        return written

    def _apply_pull(self, backend: str, result) -> int:
        written = 0
        lane = self._lanes.get(backend)
        label = lane.adapter.label if lane else backend
        for ev in result.events:
            now = self._entry_now()
            occurred = min(ev.occurred_at, now) if ev.occurred_at else now
            if history_problem(occurred, now):  # a backend's nonsense time is not the record's
                occurred = now
            with self.store.write_connection() as c:
                seen = c.execute(select(L.c.id).where(L.c.backend == backend, L.c.remote_kind == ev.remote_kind,
                                                      L.c.remote_id == ev.remote_id)).first()  # fmt: skip
                if seen:
                    continue
                data = dict(ev.data or {})
                data["remote"] = {
                    "backend": backend,
                    "kind": ev.remote_kind,
                    "id": ev.remote_id,
                    "url": ev.url,
                }
                try:
                    kind = EntryKind(ev.kind)
                except ValueError:
                    kind = EntryKind.SYSTEM
                entry = append_entry(c, ev.incident_id, kind, clean_pulled(ev.body or "(empty)", limit=BODY_MAX),
                                     author=clean_pulled(ev.author, limit=AUTHOR_MAX, one_line=True) or "unknown",
                                     now=now, occurred_at=occurred, source=backend, data=data, hooks=self._entry_hooks)  # fmt: skip
                c.execute(L.insert().values(link_rows(backend, [_pulled_link(entry, ev)], utcnow())[0]))
                effects = apply_remote_effects(
                    c, ev.incident_id, ev.effects, at=occurred, now=now, author=ev.author,
                    caused_by={"backend": backend, "label": label, "kind": ev.remote_kind,
                               "id": ev.remote_id},
                    hooks=self._entry_hooks,
                ) if ev.effects else []  # fmt: skip
                moved = (ev.data or {}).get("action_item_status")
                if moved:  # a tracked action item moved in the backend: the item moves here too
                    effects += apply_remote_action_status(
                        c, moved["id"], moved["status"], at=occurred, now=now, author=ev.author,
                        caused_by={"backend": backend, "label": label, "kind": ev.remote_kind, "id": ev.remote_id},
                        hooks=self._entry_hooks,
                    )  # fmt: skip
            written += 1 + len(effects)
            self._publish(Topic.TIMELINE, ev.incident_id, (effects[-1] if effects else entry).seq)
            if effects:
                self._publish(Topic.INCIDENT, ev.incident_id, None)
            if (ev.data or {}).get("action_item_status"):
                self._publish(Topic.ACTIONS, ev.incident_id, None)
        if result.maintenances:
            changed = 0
            for remote in result.maintenances:
                with self.store.write_connection() as c:
                    changed += apply_remote_maintenance(c, backend, label, remote, self._entry_now())
            if changed:
                self._publish(Topic.MAINTENANCE, None, None)
            written += changed
        if result.link_states:
            with self.store.write_connection() as c:
                for (kind, rid), state in result.link_states.items():
                    c.execute(update(L).where(L.c.backend == backend, L.c.remote_kind == kind, L.c.remote_id == rid)
                              .values(remote_state=state, updated_at=utcnow()))  # fmt: skip
        return written

    # -- loops ---------------------------------------------------------------------------
    def drain(
        self, *, max_wait_s: float = 30.0, stop: threading.Event | None = None, pull: bool = False
    ) -> DrainReport:
        """Send everything that can be sent now. Waits out short back-offs (up to max_wait_s per wait);
        stops early for a lane whose breaker opened or that needs a person."""
        stop = stop or self.stop_event
        report = DrainReport()
        before = dict(self.outcomes)
        if pull:
            report.pulled += self.pull()
        given_up: set[str] = set()
        while not stop.is_set():
            self._take_try_now()
            lanes = [n for n in self._lanes_now() if n not in given_up]
            if not lanes:
                break
            soonest = float("inf")
            progressed = False
            for name in lanes:
                outcome, wait = self.step(name)
                if outcome in ("sent", "failed", "retry", "raced"):
                    progressed = True
                elif outcome in ("empty", "disabled"):
                    given_up.add(name)
                elif outcome in ("paused", "breaker_open", "leased_elsewhere") or wait > max_wait_s:
                    given_up.add(name)
                    if outcome != "empty":
                        report.notes.append(f"{name}: {outcome.replace('_', ' ')}")
                else:
                    soonest = min(soonest, wait)
            if not progressed and soonest < float("inf"):
                stop.wait(min(soonest, max_wait_s))
        if pull:
            report.pulled += self.pull()
        report.sent = self.outcomes.get("sent", 0) - before.get("sent", 0)
        report.failed = self.outcomes.get("failed", 0) - before.get("failed", 0)
        report.retries = self.outcomes.get("retry", 0) - before.get("retry", 0)
        report.left_pending = self.pending_count()
        return report

    def pending_count(self) -> int:
        from sqlalchemy import func

        with self.store.read_connection() as c:
            return c.execute(select(func.count()).where(O.c.state.in_([OutboxState.PENDING.value, OutboxState.IN_FLIGHT.value]),
                                                       O.c.backend.in_(list(self._lanes_now()) or [""]))).scalar_one()  # fmt: skip

    def request_pull(self) -> None:
        self._pull_requested.set()
        self.wake_event.set()

    def try_now(self) -> None:
        """ "Sync now" from a person: waiting items become due, open breakers probe, paused lanes try
        again, and what changed in the backends is fetched. Thread-safe; the worker's own thread acts."""
        self._try_now.set()
        self.request_pull()

    def _take_try_now(self) -> None:
        if not self._try_now.is_set():
            return
        self._try_now.clear()
        lanes = self._lanes_now()
        for lane in lanes.values():
            lane.breaker.probe_now()
            lane.paused_until = 0.0
        if lanes:
            with self.store.write_connection() as c:
                c.execute(update(O).where(O.c.backend.in_(list(lanes)), O.c.state == OutboxState.PENDING.value,
                                          O.c.next_attempt_at.is_not(None)).values(next_attempt_at=None))  # fmt: skip

    def run_forever(self) -> None:
        """The background loop (a thread of the GUI). Ends when stop_event is set."""
        self.open()
        try:
            while not self.stop_event.is_set():
                soonest = 60.0
                busy = False
                try:
                    self._take_try_now()
                    for name in list(self._lanes_now()):
                        if self.stop_event.is_set():
                            break
                        outcome, wait = self.step(name)
                        if outcome in ("sent", "failed", "retry", "raced"):
                            busy = True
                        else:
                            soonest = min(soonest, wait)
                    interval = self._pull_interval()
                    due = time.monotonic() - self._last_pull >= interval
                    if self._pull_requested.is_set() or (due and not busy):
                        self._pull_requested.clear()
                        self.pull()
                    soonest = min(soonest, max(0.0, interval - (time.monotonic() - self._last_pull)))
                except Exception:  # the loop must survive anything; the database may be briefly locked
                    log.exception("sync loop error")
                    soonest = 5.0
                if busy:
                    continue
                self._emit(SyncEvent("idle", None))
                self.wake_event.wait(max(soonest, 0.05))
                self.wake_event.clear()
        finally:
            self.close()


def _pulled_link(entry, ev):
    return NewLink(
        "entry", entry.id, ev.incident_id, ev.remote_kind, ev.remote_id, url=ev.url, origin="remote"
    )
