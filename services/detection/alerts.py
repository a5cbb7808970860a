"""The alert store: intake (deduplicated by fingerprint, firing/resolved history), muting during
maintenance, acknowledgement, correlation into groups, later alerts joining a declared incident, and
the alert-quality report. Qt-free; the console and `sitrep alerts` share it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from models.entities import Alert, AlertEvent, Incident, IncidentWatch, OutboxItem, TriageWalk
from models.enums import EntryKind, OutboxState
from models.types import as_utc, iso, new_id
from services.adapters.interface import AlertSource
from services.detection.correlation import DEFAULT_WINDOW, AlertGroup, correlate
from services.detection.metadata import IncomingAlert, MetadataStandard, NormalAlert
from services.detection.muting import window_covering
from services.detection.quality import QualityReport, quality_report
from services.errors import NotFound, ValidationError
from services.maintenance import MaintenanceView
from services.record.timeline import append_entry
from services.sync.outbox import insert_ignoring_duplicates

log = logging.getLogger(__name__)
A = Alert.__table__
E = AlertEvent.__table__
SILENCED = "silence"  # muted_by for an alert silenced by hand (not by a maintenance window)


@dataclass(frozen=True)
class AlertView:
    id: str
    fingerprint: str
    source: str
    rule: str
    service: str | None
    environment: str | None
    team: str | None
    severity: str
    layer: str | None
    summary: str
    runbook_url: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    problems: tuple[str, ...]
    state: str
    starts_at: datetime
    ends_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    fire_count: int
    acked_by: str | None
    acked_at: datetime | None
    muted_by: str | None
    during_maintenance: str | None
    incident_id: str | None
    generator_url: str | None

    @classmethod
    def of(cls, row: Any) -> AlertView:
        return cls(
            row.id, row.fingerprint, row.source, row.rule, row.service, row.environment, row.team, row.severity,
            row.layer, row.summary, row.runbook_url, dict(row.labels or {}), dict(row.annotations or {}),
            tuple(row.problems or ()), row.state, as_utc(row.starts_at), as_utc(row.ends_at) if row.ends_at else None,
            as_utc(row.first_seen), as_utc(row.last_seen), row.fire_count, row.acked_by,
            as_utc(row.acked_at) if row.acked_at else None, row.muted_by, row.during_maintenance, row.incident_id,
            row.generator_url,
        )  # fmt: skip

    @property
    def status_text(self) -> str:
        if self.muted_by:
            return "muted"
        if self.state == "firing" and self.acked_by:
            return "acknowledged"
        return self.state


@dataclass(frozen=True)
class AlertEventView:
    at: datetime
    event: str
    detail: str


@dataclass
class IngestResult:
    new: int = 0
    refired: int = 0
    resolved: int = 0
    unchanged: int = 0
    muted: int = 0
    fired_in_maintenance: int = 0
    joined_incident: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.refired or self.resolved)


@dataclass(frozen=True, slots=True)
class _Light:
    """What correlation reads of an alert (a panel refresh reads 10,000 of them)."""

    id: str
    rule: str
    service: str | None
    layer: str | None
    severity: str
    starts_at: datetime
    labels: dict[str, str]


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class AlertService:
    def __init__(self, store, now: Callable[[], datetime], publish, maintenance, sync=None,
                 standard: MetadataStandard | None = None) -> None:  # fmt: skip
        self._store = store
        self._sync = sync
        self._now = now
        self._publish = publish
        self._maintenance = maintenance
        self.standard = standard or MetadataStandard.load()
        self.window = DEFAULT_WINDOW

    # -- intake --------------------------------------------------------------------------
    def ingest(self, incoming: Iterable[IncomingAlert], *, everything_from: str | None = None) -> IngestResult:
        """Store a batch from one source in one transaction. Re-sent copies of a firing alert only
        touch `last_seen`; a change of state is one history event. New alerts and their first events
        are written in bulk (a 10,000-alert storm is one transaction of a few statements).

        `everything_from`: the batch is all that source has firing (a poll), so its firing alerts missing
        from it are resolved (Alertmanager's list leaves resolved alerts out)."""
        incoming = list(incoming)
        if everything_from is not None:
            incoming += self._gone(everything_from, {a.fingerprint for a in incoming})
        normal = [self.standard.normalise(a) for a in incoming]
        result = IngestResult()
        if not normal:
            return result
        now = self._now()
        windows = [w for w in self._maintenance.list(include_finished=False) if w.matchers]
        touched_incidents: set[str] = set()
        with self._store.transaction() as s:
            db = s.connection()
            fingerprints = list(dict.fromkeys(n.incoming.fingerprint for n in normal))
            existing = {}
            for chunk in _chunks(fingerprints):
                existing.update((r.fingerprint, r) for r in db.execute(select(A).where(A.c.fingerprint.in_(chunk))))
            routes = self._incident_routes(db, now)
            new_rows: dict[str, dict[str, Any]] = {}
            events: list[dict[str, Any]] = []
            joins: list[tuple[str, NormalAlert, str]] = []
            unchanged: list[str] = []
            for n in normal:
                a = n.incoming
                state = "resolved" if a.resolved else "firing"
                fresh = new_rows.get(a.fingerprint)
                if fresh is not None:  # the same alert twice in one batch: the later copy wins
                    fresh["state"] = state
                    continue
                row = existing.get(a.fingerprint)
                if row is None:
                    fresh = new_rows[a.fingerprint] = self._new_row(n, state, now, windows, events, result)
                    incident = routes.get(n.service or "") if state == "firing" else None
                    if incident:
                        fresh["incident_id"] = incident
                        joins.append((fresh["id"], n, incident))
                    continue
                if row.state == state:
                    unchanged.append(row.id)
                    continue
                self._change_state(db, row, a, state, now, result)
                if row.incident_id:
                    touched_incidents.add(row.incident_id)
            if new_rows:
                db.execute(insert(A), list(new_rows.values()))
            if events:
                db.execute(insert(E), events)
            for chunk in _chunks(unchanged):
                db.execute(update(A).where(A.c.id.in_(chunk)).values(last_seen=now))
            result.unchanged += len(unchanged)
            for alert_id, n, incident in joins:
                self._join(db, alert_id, n, incident, now)
                touched_incidents.add(incident)
                result.joined_incident += 1
        self._publish("alerts", None, None)
        for incident_id in touched_incidents:
            self._publish("timeline", incident_id, None)
        return result

    def _gone(self, source: str, seen: set[str]) -> list[IncomingAlert]:
        """This source's firing alerts that its latest complete answer no longer holds, as resolutions."""
        now = self._now()
        with self._store.read_connection() as db:
            rows = db.execute(select(A.c.fingerprint, A.c.labels, A.c.annotations, A.c.starts_at)
                              .where(A.c.source == source, A.c.state == "firing")).all()  # fmt: skip
        return [IncomingAlert(source, "gone", r.fingerprint, dict(r.labels or {}), dict(r.annotations or {}),
                              as_utc(r.starts_at), now, True) for r in rows if r.fingerprint not in seen]  # fmt: skip

    def _change_state(self, db, row, a: IncomingAlert, state: str, now: datetime, result: IngestResult) -> None:
        values: dict[str, Any] = {"state": state, "last_seen": now}
        if state == "resolved":
            values["ends_at"] = as_utc(a.ends_at) if a.ends_at else now
            result.resolved += 1
            detail = "resolved"
        else:
            values.update(ends_at=None, starts_at=as_utc(a.starts_at), fire_count=row.fire_count + 1,
                          acked_by=None, acked_at=None)  # fmt: skip
            result.refired += 1
            detail = "fired again"
        db.execute(update(A).where(A.c.id == row.id).values(**values))
        db.execute(insert(E), {"alert_id": row.id, "at": now, "event": state, "detail": detail})
        if row.incident_id:
            append_entry(db, row.incident_id, EntryKind.ALERT, f"Alert {detail}: {row.rule} on {row.service or '?'}",
                         author="alerts", now=now, source=f"alert:{row.source}",
                         data={"alert_id": row.id, "fingerprint": row.fingerprint, "state": state},
                         hooks=self._store.entry_hooks)  # fmt: skip

    def _new_row(self, n: NormalAlert, state: str, now: datetime, windows: list[MaintenanceView],
                 events: list[dict[str, Any]], result: IngestResult) -> dict[str, Any]:  # fmt: skip
        a = n.incoming
        starts = as_utc(a.starts_at)
        labels = dict(a.labels)
        for name in ("service", "environment", "team", "severity", "layer"):
            value = getattr(n, name)
            if value:
                labels.setdefault(name, value)
        window = window_covering(windows, starts, labels) if state == "firing" and windows else None
        muted_by = during = None
        if window is not None:
            if n.severity == "critical":  # never muted: it notifies, marked
                during = window.id
                result.fired_in_maintenance += 1
            else:
                muted_by = window.id
                result.muted += 1
        alert_id = new_id()
        events.append({"alert_id": alert_id, "at": now, "event": state, "detail": f"from {a.source}"})
        if muted_by:
            events.append({"alert_id": alert_id, "at": now, "event": "muted", "detail": f"maintenance {window.key}"})
        if during:
            events.append({"alert_id": alert_id, "at": now, "event": "notified",
                           "detail": f"critical: fired during maintenance {window.key}, not muted"})  # fmt: skip
        result.new += 1
        return {
            "id": alert_id, "fingerprint": a.fingerprint, "source": a.source, "rule": n.rule, "service": n.service,
            "environment": n.environment, "team": n.team, "severity": n.severity, "layer": n.layer,
            "summary": n.summary, "runbook_url": n.runbook_url, "labels": a.labels, "annotations": a.annotations,
            "problems": list(n.problems), "state": state, "starts_at": starts,
            "ends_at": as_utc(a.ends_at) if state == "resolved" and a.ends_at else None, "first_seen": now,
            "last_seen": now, "fire_count": 1, "acked_by": None, "acked_at": None, "muted_by": muted_by,
            "during_maintenance": during, "incident_id": None, "generator_url": a.generator_url,
        }  # fmt: skip

    def _incident_routes(self, db, now: datetime) -> dict[str, str]:
        """service -> the open incident a new alert of it joins: one holding a recent alert of the same
        service, else one watching the service."""
        I = Incident.__table__  # noqa: E741
        W = IncidentWatch.__table__
        open_ = I.c.status.notin_(("resolved", "closed"))
        routes: dict[str, str] = {}
        for service, incident_id in db.execute(
            select(W.c.service, W.c.incident_id).join(I, I.c.id == W.c.incident_id).where(open_)
        ):  # fmt: skip
            routes.setdefault(service, incident_id)
        since = now - self.window * 6
        for service, incident_id in db.execute(
            select(A.c.service, A.c.incident_id).join(I, I.c.id == A.c.incident_id)
            .where(A.c.service.is_not(None), A.c.last_seen >= since, open_).order_by(A.c.last_seen)
        ):  # fmt: skip
            routes[service] = incident_id  # the latest wins over a watch
        return routes

    def _join(self, db, alert_id: str, n: NormalAlert, incident_id: str, now: datetime) -> None:
        db.execute(update(A).where(A.c.id == alert_id).values(incident_id=incident_id))
        watched = db.execute(select(IncidentWatch.__table__.c.id).where(
            IncidentWatch.__table__.c.incident_id == incident_id,
            IncidentWatch.__table__.c.service == n.service)).first()  # fmt: skip
        lead = "Possible spread to watched service" if watched else "Alert joined"
        append_entry(db, incident_id, EntryKind.ALERT, f"{lead}: {n.rule} on {n.service} ({n.severity}): {n.summary}",
                     author="alerts", now=now, occurred_at=as_utc(n.incoming.starts_at),
                     source=f"alert:{n.incoming.source}",
                     data={"alert_id": alert_id, "fingerprint": n.incoming.fingerprint, "service": n.service,
                           "spread": bool(watched)},
                     hooks=self._store.entry_hooks)  # fmt: skip

    # -- reading ---------------------------------------------------------------------------
    def list(self, *, state: str | None = None, incident_id: str | None = None, include_muted: bool = True,
             limit: int | None = 5000) -> list[AlertView]:  # fmt: skip
        q = select(A).order_by(A.c.starts_at.desc(), A.c.id)
        if state:
            q = q.where(A.c.state == state)
        if incident_id:
            q = q.where(A.c.incident_id == incident_id)
        if not include_muted:
            q = q.where(A.c.muted_by.is_(None))
        if limit:
            q = q.limit(limit)
        with self._store.read_connection() as db:
            return [AlertView.of(r) for r in db.execute(q)]

    def count(self) -> int:
        with self._store.read_connection() as db:
            return db.scalar(select(func.count()).select_from(A)) or 0

    def get(self, ref: str) -> AlertView:
        ref = (ref or "").strip()
        if not ref:
            raise ValidationError("Name an alert by its id or fingerprint.", field="alert")
        with self._store.read_connection() as db:
            rows = db.execute(select(A).where(or_(A.c.id == ref, A.c.fingerprint == ref,
                                                  A.c.id.startswith(ref), A.c.fingerprint.startswith(ref))).limit(2)).all()  # fmt: skip
        if not rows:
            raise NotFound(f"No alert '{ref}'. `sitrep alerts list` shows them.")
        if len(rows) > 1:
            raise ValidationError(f"'{ref}' names more than one alert; give more of its id.", field="alert")
        return AlertView.of(rows[0])

    def history(self, alert_id: str) -> list[AlertEventView]:
        with self._store.read_connection() as db:
            rows = db.execute(select(E).where(E.c.alert_id == alert_id).order_by(E.c.id)).all()
        return [AlertEventView(as_utc(r.at), r.event, r.detail) for r in rows]

    def ack(self, ref: str, *, author: str) -> AlertView:
        alert = self.get(ref)
        if alert.state != "firing":
            raise ValidationError(f"Alert {alert.rule} is {alert.state}; only a firing alert is acknowledged.",
                                  field="alert")  # fmt: skip
        if alert.acked_by:
            raise ValidationError(f"Already acknowledged by {alert.acked_by}.", field="alert")
        now = self._now()
        with self._store.transaction() as s:
            db = s.connection()
            db.execute(update(A).where(A.c.id == alert.id).values(acked_by=author, acked_at=now))
            db.execute(insert(E), {"alert_id": alert.id, "at": now, "event": "acknowledged", "detail": author})
        self._publish("alerts", None, None)
        return self.get(alert.id)

    def quality(self) -> QualityReport:
        with self._store.read_connection() as db:
            return quality_report(db, self.standard.services)

    def silence(self, ref: str, until: datetime, *, author: str, comment: str = "") -> AlertView:
        """Mute an alert in Sitrep and queue a silence for it in Alertmanager (sent once, by the outbox)."""
        alert = self.get(ref)
        now = self._now()
        if until <= now:
            raise ValidationError("A silence ends in the future.", field="until")
        adapters = self._sync.writer.adapters if self._sync else {}
        parts = alert.source.split(":")
        came_from = parts[1] if parts[0] == "webhook" and len(parts) > 1 else parts[0]
        adapter = adapters.get(came_from)
        adapter = adapter if isinstance(adapter, AlertSource) else None
        if adapter is None:
            raise ValidationError(f"No backend that alerts came from ({alert.source}) is set up to send "
                                  "(Tools ▸ Backends…); nothing was silenced. Acknowledge it instead.")  # fmt: skip
        comment = (comment or "").strip() or f"{alert.rule} on {alert.service or '?'} silenced from Sitrep"
        planned = adapter.silence(alert.id, alert.labels, now, until, f"{comment} by {author}")
        with self._store.transaction() as s:
            db = s.connection()
            insert_ignoring_duplicates(db, OutboxItem.__table__, [{
                "created_at": now, "updated_at": now, "backend": adapter.name, "op": planned.op, "incident_id": None,
                "entry_id": None, "payload": planned.payload, "idempotency_key": planned.idempotency_key,
                "state": OutboxState.PENDING.value, "attempts": 0, "next_attempt_at": None, "last_error": None,
                "uncertain": False,
            }], ["idempotency_key"])  # fmt: skip
            db.execute(update(A).where(A.c.id == alert.id).values(muted_by=SILENCED))
            db.execute(insert(E), {"alert_id": alert.id, "at": now, "event": "silenced",
                                   "detail": f"until {iso(until)} by {author}: {comment}"})  # fmt: skip
        self._publish("alerts", None, None)
        self._publish("sync", None, None)
        return self.get(alert.id)

    def groups(self, *, window: timedelta | None = None, include_linked: bool = False) -> list[AlertGroup]:
        """Candidate incidents among firing alerts that are not muted (and, unless asked, not already
        on an incident)."""
        q = select(A.c.id, A.c.rule, A.c.service, A.c.layer, A.c.severity, A.c.starts_at, A.c.labels).where(
            A.c.state == "firing", A.c.muted_by.is_(None))
        if not include_linked:
            q = q.where(A.c.incident_id.is_(None))
        with self._store.read_connection() as db:
            alerts = [_Light(r.id, r.rule, r.service, r.layer, r.severity, as_utc(r.starts_at), r.labels or {})
                      for r in db.execute(q)]  # fmt: skip
        return correlate(alerts, self.standard.services, window or self.window)

    def alerts_of(self, group: AlertGroup) -> list[AlertView]:
        wanted = set(group.alert_ids)
        with self._store.read_connection() as db:
            rows = db.execute(select(A).where(A.c.id.in_(wanted))).all()
        return sorted((AlertView.of(r) for r in rows), key=lambda a: (a.starts_at, a.id))

    def record_walk(self, db, *, tree: str, alerts: list[AlertView], path: list[dict], outcome: str, verdict: str,
                    incident_id: str | None, author: str, now: datetime) -> str:  # fmt: skip
        walk_id = new_id()
        db.execute(insert(TriageWalk.__table__), {
            "id": walk_id, "tree": tree, "alert_ids": [a.id for a in alerts],
            "rules": sorted({a.rule for a in alerts}), "path": path, "outcome": outcome, "verdict": verdict,
            "incident_id": incident_id, "walked_by": author, "walked_at": now,
        })  # fmt: skip
        for a in alerts:
            db.execute(insert(E), {"alert_id": a.id, "at": now, "event": "triaged", "detail": f"{verdict}: {outcome}"})
        return walk_id
