"""The outbox: written inside the timeline append's transaction, read by the worker and the GUI.

`OutboxWriter` runs in `store.entry_hooks` (composed in services/core.py). For every new timeline entry it
asks each enabled adapter what it is owed and inserts those items on the same connection, so the entry and what the
backends are owed commit together or not at all.

Longer than ~500 lines: the writer (inside the append transaction) and the queue (claims, retries, links)
share the outbox's states and rules.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.dialects import sqlite

from models.entities import Incident, MaintenanceWindow, OutboxItem, Person, RemoteLink
from models.enums import MaintenanceStatus, OutboxState, Status
from models.types import iso, new_id
from services.adapters.interface import Adapter, PlansMaintenance
from services.adapters.values import (
    ChangeToPlan,
    IncidentFacts,
    ItemView,
    LinkView,
    MaintenanceChange,
    NewLink,
    Planned,
    maintenance_create_key,
)
from services.changes import Topic
from services.errors import NotFound, ValidationError
from services.record.views import EntryRow

log = logging.getLogger(__name__)

O = OutboxItem.__table__  # noqa: E741
L = RemoteLink.__table__
I = Incident.__table__  # noqa: E741
P = Person.__table__
M = MaintenanceWindow.__table__

_ITEM_COLS = [O.c[n] for n in (
    "id", "backend", "op", "incident_id", "entry_id", "payload", "idempotency_key", "state", "attempts",
    "created_at", "updated_at", "next_attempt_at", "last_attempt_at", "last_status", "last_error", "remote_ref",
    "uncertain",
)]  # fmt: skip
_LINK_COLS = [L.c[n] for n in (
    "backend", "local_kind", "local_id", "incident_id", "remote_kind", "remote_id", "url", "origin",
    "remote_state", "created_at",
)]  # fmt: skip


def _dialect(db) -> str:
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    return bind.dialect.name


def insert_ignoring_duplicates(db, table, rows: list[dict[str, Any]], conflict_cols: list[str]) -> None:
    """INSERT that skips rows whose unique key exists (a repeat of work already recorded)."""
    if not rows:
        return
    name = _dialect(db)
    if name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict_cols)
    elif name == "postgresql":
        # Imported here: the PostgreSQL dialect costs ~50-100 ms to import, which a SQLite start need not pay.
        from sqlalchemy.dialects import postgresql

        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict_cols)
    else:  # pragma: no cover - other databases: check first
        for row in rows:
            where = and_(*(table.c[c] == row[c] for c in conflict_cols))
            if db.execute(select(func.count()).select_from(table).where(where)).scalar() == 0:
                db.execute(insert(table), row)
        return
    db.execute(stmt, rows)


def item_view(row, incident_key: str | None = None) -> ItemView:
    if incident_key is None and row[3] is None:
        # An item about a maintenance window has no incident: the window's key names it instead.
        payload = row[5]
        incident_key = payload.get("maintenance_key") if isinstance(payload, dict) else None
    return ItemView(*row[: len(_ITEM_COLS)], incident_key=incident_key)


# Operations that make the remote object the later items of its incident (or window) act on. A failed one
# holds those items back; any other failed item holds back nothing but itself.
CREATING_OPS = ("create_incident", "create_issue", "create_maintenance")


def hold_key(incident_id: str | None, payload: Any) -> str | None:
    """What an earlier failed item holds back in its lane: the rest of its incident, or of its
    maintenance window (items about a window have no incident)."""
    if incident_id is not None:
        return incident_id
    if isinstance(payload, dict) and payload.get("maintenance_id"):
        return f"maintenance:{payload['maintenance_id']}"
    return None


def maintenance_items_where(maintenance_id: str):
    """The outbox items about one maintenance window (they carry its id in their payload)."""
    return and_(O.c.incident_id.is_(None), O.c.payload["maintenance_id"].as_string() == maintenance_id)


# Items that may still change the remote object, or that nothing can have sent yet.
OWED_STATES = (OutboxState.PENDING.value, OutboxState.IN_FLIGHT.value, OutboxState.FAILED.value)


class OutboxWriter:
    """The entry hook. `adapters` is swapped whole when settings change (a dict read is atomic)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self.adapters: dict[str, Adapter] = {}

    def __call__(self, db, entry: EntryRow) -> None:
        adapters = self.adapters
        if not adapters or (entry.data or {}).get("remote"):
            return
        # This runs under the write lock for every entry logged: prebuilt statements, sent to sqlite3 directly
        # on the append lane (through SQLAlchemy elsewhere), one read of the incident's facts.
        run = _plain_execute(db)
        row = run(_FACTS_SQL, {"incident_id": entry.incident_id}).fetchone()
        if row is None:
            return
        incident = IncidentFacts(*row[:6], bool(row[6]), bool(row[7]), tuple(_json_list(row[8])), row[9])
        email = self._person_email(run, entry)
        now = self._now()
        rows: list[dict[str, Any]] = []
        # A change a backend's own action caused (an acknowledgement pulled from PagerDuty) goes to the
        # other backends, never back to the one it came from.
        caused_by = ((entry.data or {}).get("caused_by") or {}).get("backend")
        for name, adapter in adapters.items():
            if name == caused_by:
                continue
            if incident.is_exercise and not adapter.setting("include_exercises"):
                continue
            change = ChangeToPlan(entry, incident, email, self._has_remote(run, name, incident.id))
            try:
                planned = adapter.plan(change)
            except Exception as exc:  # a planning bug must not undo the commander's change
                log.exception("%s could not plan entry %s", name, entry.id)
                planned = [
                    Planned("unplanned", {"error": type(exc).__name__}, f"{name}:unplanned:{entry.id}")
                ]
                rows.append(self._row(name, entry, planned[0], now, state=OutboxState.FAILED,
                                      error=f"Sitrep could not work out what {adapter.label} is owed for entry "
                                            f"#{entry.seq} ({type(exc).__name__}); see the log."))  # fmt: skip
                continue
            rows += [self._row(name, entry, p, now) for p in planned]
        if not rows:
            return
        if getattr(db, "raw_execute", None) is not None or _dialect(db) == "sqlite":
            for r in rows:
                run(_INSERT_ITEM_SQL, _stored_item(r))
        else:
            insert_ignoring_duplicates(db, O, rows, ["idempotency_key"])

    def plan_maintenance(self, db, change: MaintenanceChange) -> int:
        """Write what each enabled backend is owed for a maintenance window's change, on the caller's
        transaction. Returns the number of items written.

        A cancellation of a window no backend has heard of yet (its items are all unsent and none can
        have arrived) withdraws those items instead: nothing goes out, rather than a create and then
        its cancellation."""
        adapters = self.adapters
        if not adapters:
            return 0
        now = self._now()
        mid = change.maintenance.id
        rows: list[dict[str, Any]] = []
        for name, adapter in adapters.items():
            if not isinstance(adapter, PlansMaintenance):
                continue
            if change.action == "cancelled" and self._withdraw_unsent(db, name, mid, now):
                continue
            mine = replace(change, has_remote=self._has_remote_maintenance(db, name, mid))
            try:
                planned = adapter.plan_maintenance(mine)
            except Exception as exc:  # a planning bug must not undo the person's change
                log.exception("%s could not plan maintenance change %s", name, change.update_id)
                p = Planned("unplanned", {"error": type(exc).__name__},
                            f"{name}:unplanned:{change.update_id}")  # fmt: skip
                rows.append(self._maintenance_row(name, change, p, now, state=OutboxState.FAILED,
                            error=f"Sitrep could not work out what {adapter.label} is owed for {change.maintenance.key} "
                                  f"({type(exc).__name__}); see the log."))  # fmt: skip
                continue
            rows += [self._maintenance_row(name, change, p, now) for p in planned]
        insert_ignoring_duplicates(db, O, rows, ["idempotency_key"])
        return len(rows)

    @staticmethod
    def _maintenance_row(backend, change: MaintenanceChange, p: Planned, now, state=OutboxState.PENDING,
                         error=None) -> dict:  # fmt: skip
        payload = dict(p.payload)
        payload.setdefault("maintenance_id", change.maintenance.id)
        payload.setdefault("maintenance_key", change.maintenance.key)
        payload.setdefault("title", change.maintenance.title)
        return {
            "created_at": now, "updated_at": now, "backend": backend, "op": p.op, "incident_id": None,
            "entry_id": None, "payload": payload, "idempotency_key": p.idempotency_key, "state": state.value,
            "attempts": 0, "next_attempt_at": None, "last_error": error, "uncertain": False,
        }  # fmt: skip

    @staticmethod
    def _has_remote_maintenance(db, backend: str, maintenance_id: str) -> Callable[[], bool]:
        def check() -> bool:
            linked = db.execute(
                select(L.c.id).where(L.c.backend == backend, L.c.local_kind == "maintenance",
                                     L.c.local_id == maintenance_id).limit(1)
            ).first()  # fmt: skip
            if linked:
                return True
            owed = db.execute(
                select(O.c.id)
                .where(
                    O.c.idempotency_key == maintenance_create_key(backend, maintenance_id),
                    O.c.state != OutboxState.CANCELLED.value,
                )
                .limit(1)
            ).first()
            return owed is not None

        return check

    @staticmethod
    def _withdraw_unsent(db, backend: str, maintenance_id: str, now: datetime) -> bool:
        """Cancel every item about the window for this backend when none of them can have reached it
        (never sent, or refused outright) and no remote object is linked. True when it did."""
        linked = db.execute(
            select(L.c.id).where(L.c.backend == backend, L.c.local_kind == "maintenance",
                                 L.c.local_id == maintenance_id).limit(1)
        ).first()  # fmt: skip
        if linked:
            return False
        items = db.execute(
            select(O.c.id, O.c.state, O.c.uncertain).where(
                O.c.backend == backend, maintenance_items_where(maintenance_id),
                O.c.state != OutboxState.CANCELLED.value,
            )
        ).all()  # fmt: skip
        unsent = (OutboxState.PENDING.value, OutboxState.FAILED.value)
        if not items or any(i.state not in unsent or i.uncertain for i in items):
            return False
        db.execute(
            update(O).where(O.c.id.in_([i.id for i in items])).values(
                state=OutboxState.CANCELLED.value, updated_at=now,
                last_error="Withdrawn: the maintenance was cancelled before anything about it was sent.",
            )
        )  # fmt: skip
        return True

    def _row(self, backend, entry: EntryRow, p: Planned, now, state=OutboxState.PENDING, error=None) -> dict:
        payload = dict(p.payload)
        payload.setdefault("entry_seq", entry.seq)
        return {
            "created_at": now,
            "updated_at": now,
            "backend": backend,
            "op": p.op,
            "incident_id": entry.incident_id,
            "entry_id": entry.id,
            "payload": payload,
            "idempotency_key": p.idempotency_key,
            "state": state.value,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": error,
            "uncertain": False,
        }

    @staticmethod
    def _person_email(run, entry: EntryRow) -> str | None:
        data = entry.data or {}
        if entry.kind != "role_change":
            return None
        handle = data.get("to") if data.get("action") == "handover" else data.get("person")
        if not handle:
            return None
        found = run(_EMAIL_SQL, {"handle": handle}).fetchone()
        return found[0] if found else None

    @staticmethod
    def _has_remote(run, backend: str, incident_id: str) -> Callable[[], bool]:
        def check() -> bool:
            if run(_LINKED_SQL, {"backend": backend, "incident_id": incident_id}).fetchone():
                return True
            owed = run(_OWED_SQL, {"backend": backend, "incident_id": incident_id,
                                   "key": f"{backend}:create:{incident_id}",
                                   "cancelled": OutboxState.CANCELLED.value}).fetchone()  # fmt: skip
            return owed is not None

        return check


# The entry hook's statements, built once. Named parameters read the same to sqlite3 and to text().
_FACTS_SQL = (
    f"SELECT id, key, title, summary, severity, status, is_major, is_exercise, services, source FROM {I.name} "
    "WHERE id = :incident_id"
)
_EMAIL_SQL = f"SELECT email FROM {P.name} WHERE handle = :handle"
_LINKED_SQL = (
    f"SELECT 1 FROM {L.name} WHERE backend = :backend AND local_kind = 'incident' AND local_id = :incident_id "
    "LIMIT 1"
)
_OWED_SQL = (
    f"SELECT 1 FROM {O.name} WHERE backend = :backend AND incident_id = :incident_id AND idempotency_key = :key "
    "AND state != :cancelled LIMIT 1"
)
_ITEM_INSERT_COLS = ("created_at", "updated_at", "backend", "op", "incident_id", "entry_id", "payload",
                     "idempotency_key", "state", "attempts", "next_attempt_at", "last_error", "uncertain")  # fmt: skip
_INSERT_ITEM_SQL = (
    f"INSERT INTO {O.name} ({', '.join(_ITEM_INSERT_COLS)}) VALUES ({', '.join(':' + c for c in _ITEM_INSERT_COLS)}) "
    "ON CONFLICT (idempotency_key) DO NOTHING"
)
_TEXTS: dict[str, Any] = {}


def _plain_execute(db) -> Callable[[str, dict[str, Any]], Any]:
    """Run one of the statements above on the hook's connection: sqlite3's own execute on the append lane
    (its stand-in offers it, no SQLAlchemy Connection is made), else the connection's or session's
    execute with the statement as text() (a session flushes first, as it does for any query)."""
    raw = getattr(db, "raw_execute", None)
    if raw is not None:
        return raw

    def run(sql: str, params: dict[str, Any]):
        stmt = _TEXTS.get(sql)
        if stmt is None:
            stmt = _TEXTS[sql] = text(sql)
        return db.execute(stmt, params)

    return run


def _json_list(value) -> list:
    # The column's JSON text as stored (a dialect that decodes JSON itself hands over the list).
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def _stored_item(row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row in the forms the columns' SQLAlchemy types store: UTC text, JSON text, 0/1."""
    return {**row, "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
            "payload": json.dumps(row["payload"]), "uncertain": int(row["uncertain"])}  # fmt: skip


class LinkReader:
    """The adapters' read-only view of links and of what Sitrep itself sent (for echo checks)."""

    def __init__(
        self, store, backend: str, now: Callable[[], datetime], recent: timedelta = timedelta(days=1)
    ) -> None:
        self._store = store
        self._backend = backend
        self._now = now
        self._recent = recent

    def incident_link(self, incident_id: str | None, remote_kind: str) -> LinkView | None:
        if incident_id is None:
            return None
        with self._store.read_connection() as c:
            row = c.execute(
                select(*_LINK_COLS).where(
                    L.c.backend == self._backend,
                    L.c.local_kind == "incident",
                    L.c.local_id == incident_id,
                    L.c.remote_kind == remote_kind,
                )  # fmt: skip
            ).first()
        return LinkView(*row) if row else None

    def linked_incidents(self, remote_kind: str) -> list[LinkView]:
        """Links of incidents worth pulling: open ones, and ones changed in the last day."""
        since = self._now() - self._recent
        open_states = [s.value for s in Status if s.is_open]
        with self._store.read_connection() as c:
            rows = c.execute(
                select(*_LINK_COLS).join(I, I.c.id == L.c.local_id).where(
                    L.c.backend == self._backend, L.c.local_kind == "incident", L.c.remote_kind == remote_kind,
                    or_(I.c.status.in_(open_states), I.c.updated_at >= since),
                ).order_by(L.c.created_at)
            ).all()  # fmt: skip
        return [LinkView(*r) for r in rows]

    def local_link(self, local_kind: str, local_id: str | None, remote_kind: str) -> LinkView | None:
        """The remote counterpart of a local record that is not an incident (a maintenance window)."""
        if local_id is None:
            return None
        with self._store.read_connection() as c:
            row = c.execute(
                select(*_LINK_COLS).where(L.c.backend == self._backend, L.c.local_kind == local_kind,
                                          L.c.local_id == local_id, L.c.remote_kind == remote_kind)
            ).first()  # fmt: skip
        return LinkView(*row) if row else None

    def linked_records(self, local_kind: str, remote_kind: str) -> list[LinkView]:
        """Every link of one kind of local record that is not an incident (post-incident action items):
        few per incident, and they are worth pulling until done, long after the incident closed."""
        with self._store.read_connection() as c:
            rows = c.execute(
                select(*_LINK_COLS).where(L.c.backend == self._backend, L.c.local_kind == local_kind,
                                          L.c.remote_kind == remote_kind).order_by(L.c.created_at)
            ).all()  # fmt: skip
        return [LinkView(*r) for r in rows]

    def linked_maintenances(self) -> list[LinkView]:
        """Links of maintenance windows worth pulling: not finished here, or changed in the last day."""
        since = self._now() - self._recent
        open_states = [s.value for s in MaintenanceStatus if s.is_open]
        with self._store.read_connection() as c:
            rows = c.execute(
                select(*_LINK_COLS).join(M, M.c.id == L.c.local_id).where(
                    L.c.backend == self._backend, L.c.local_kind == "maintenance",
                    or_(M.c.status.in_(open_states), M.c.updated_at >= since),
                ).order_by(L.c.created_at)
            ).all()  # fmt: skip
        return [LinkView(*r) for r in rows]

    def known_remote_ids(self, incident_id: str, remote_kind: str) -> set[str]:
        with self._store.read_connection() as c:
            return set(c.execute(
                select(L.c.remote_id).where(L.c.backend == self._backend, L.c.incident_id == incident_id,
                                            L.c.remote_kind == remote_kind)
            ).scalars())  # fmt: skip

    def own_texts(self, incident_id: str) -> set[str]:
        with self._store.read_connection() as c:
            payloads = c.execute(
                select(O.c.payload).where(
                    O.c.backend == self._backend,
                    O.c.incident_id == incident_id,
                    O.c.state != OutboxState.CANCELLED.value,
                )  # fmt: skip
            ).scalars()
            out = set()
            for p in payloads:
                for key in ("text", "body"):
                    if isinstance(p, dict) and p.get(key):
                        out.add(str(p[key]))
            return out


def link_rows(backend: str, links: list[NewLink], now: datetime) -> list[dict[str, Any]]:
    return [
        {"id": new_id(), "backend": backend, "local_kind": lk.local_kind, "local_id": lk.local_id,
         "incident_id": lk.incident_id, "remote_kind": lk.remote_kind, "remote_id": str(lk.remote_id),
         "url": lk.url, "origin": lk.origin, "remote_state": lk.remote_state, "created_at": now, "updated_at": now}
        for lk in links
    ]  # fmt: skip


class OutboxQueue:
    """What the GUI and CLI do with the queue: look, retry, cancel. Local reads and writes only."""

    def __init__(self, store, now: Callable[[], datetime], publish: Callable[..., None]) -> None:
        self._store = store
        self._now = now
        self._publish = publish

    def items(self, *, states: list[str] | None = None, backend: str | None = None, limit: int | None = 500,
              incident_id: str | None = None) -> list[ItemView]:  # fmt: skip
        stmt = select(*_ITEM_COLS, I.c.key).outerjoin(I, I.c.id == O.c.incident_id)
        if states:
            stmt = stmt.where(O.c.state.in_(states))
        if backend:
            stmt = stmt.where(O.c.backend == backend)
        if incident_id:
            stmt = stmt.where(O.c.incident_id == incident_id)
        stmt = stmt.order_by(O.c.id.desc())
        if limit:
            stmt = stmt.limit(limit)
        with self._store.read_connection() as c:
            return [item_view(r, r[-1]) for r in c.execute(stmt)]

    def get(self, item_id: int) -> ItemView:
        with self._store.read_connection() as c:
            row = c.execute(
                select(*_ITEM_COLS, I.c.key).outerjoin(I, I.c.id == O.c.incident_id).where(O.c.id == item_id)
            ).first()
        if row is None:
            raise NotFound(f"No sync item #{item_id}. `sitrep sync --status` lists them.")
        return item_view(row, row[-1])

    def counts(self) -> dict[str, dict[str, int]]:
        """backend -> state -> number of items."""
        out: dict[str, dict[str, int]] = {}
        with self._store.read_connection() as c:
            for backend, state, n in c.execute(
                select(O.c.backend, O.c.state, func.count()).group_by(O.c.backend, O.c.state)
            ):
                out.setdefault(backend, {})[state] = n
        return out

    def due_now(self, backend: str) -> None:
        """A backend's waiting items are due at once (its credentials were just replaced: the pause that
        kept them from the old one is over, in this process and in any other)."""
        with self._store.write_connection() as c:
            c.execute(update(O).where(O.c.backend == backend, O.c.state == OutboxState.PENDING.value)
                      .values(next_attempt_at=None))  # fmt: skip
        self._publish("sync", None, None)

    def retry(self, item_id: int) -> ItemView:
        """A failed (or waiting) item goes back to the front of its lane. A person chose to resend,
        so an uncertain last attempt no longer holds it back."""
        now = self._now()
        with self._store.write_connection() as c:
            row = c.execute(select(O.c.state).where(O.c.id == item_id)).first()
            if row is None:
                raise NotFound(f"No sync item #{item_id}.")
            if row.state not in (OutboxState.FAILED.value, OutboxState.PENDING.value):
                raise ValidationError(f"Sync item #{item_id} is {OutboxState(row.state).label}; only failed or "
                                      "pending items can be retried.")  # fmt: skip
            c.execute(update(O).where(O.c.id == item_id).values(
                state=OutboxState.PENDING.value, next_attempt_at=None, uncertain=False, updated_at=now))  # fmt: skip
        self._publish(Topic.SYNC, None, None)
        return self.get(item_id)

    def cancel(self, item_id: int) -> ItemView:
        now = self._now()
        with self._store.write_connection() as c:
            row = c.execute(select(O.c.state).where(O.c.id == item_id)).first()
            if row is None:
                raise NotFound(f"No sync item #{item_id}.")
            if row.state == OutboxState.IN_FLIGHT.value:
                raise ValidationError(f"Sync item #{item_id} is being sent right now; wait for the outcome.")
            if row.state in (OutboxState.SENT.value, OutboxState.CANCELLED.value):
                raise ValidationError(f"Sync item #{item_id} is already {OutboxState(row.state).label}.")
            c.execute(
                update(O).where(O.c.id == item_id).values(state=OutboxState.CANCELLED.value, updated_at=now)
            )
        self._publish(Topic.SYNC, None, None)
        return self.get(item_id)

    def maintenance_items(self, maintenance_ids: list[str]) -> list[ItemView]:
        """The items about these maintenance windows, in every backend, oldest first."""
        if not maintenance_ids:
            return []
        stmt = (
            select(*_ITEM_COLS)
            .where(O.c.incident_id.is_(None), O.c.payload["maintenance_id"].as_string().in_(maintenance_ids))
            .order_by(O.c.id)
        )
        with self._store.read_connection() as c:
            return [item_view(r) for r in c.execute(stmt)]

    def local_links(self, local_kind: str, local_ids: list[str]) -> list[LinkView]:
        """Remote counterparts of local records that are not incidents (maintenance windows)."""
        if not local_ids:
            return []
        stmt = select(*_LINK_COLS).where(L.c.local_kind == local_kind, L.c.local_id.in_(local_ids),
                                         L.c.origin == "sitrep")  # fmt: skip
        with self._store.read_connection() as c:
            return [LinkView(*r) for r in c.execute(stmt.order_by(L.c.backend))]

    def links(self, incident_id: str, *, origin: str | None = "sitrep") -> list[LinkView]:
        """Remote counterparts of an incident (what the GUI shows as its remote links), then the related
        items linked to them (a Jira issue linked to the incident's ticket)."""
        stmt = select(*_LINK_COLS).where(
            or_(
                and_(L.c.local_kind == "incident", L.c.local_id == incident_id),
                and_(L.c.incident_id == incident_id, L.c.remote_kind == "related_issue"),
            )
        )
        if origin:
            stmt = stmt.where(L.c.origin == origin)
        with self._store.read_connection() as c:
            rows = [LinkView(*r) for r in c.execute(stmt.order_by(L.c.backend, L.c.created_at))]
        return sorted(rows, key=lambda lk: lk.remote_kind == "related_issue")
