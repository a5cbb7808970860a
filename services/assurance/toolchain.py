"""The toolchain interoperability review (yearly): which outside systems are connected, how each has done
(its outbox: items sent and refused, the success rate, the last error), and where data still moves by
hand: messages and contacts logged by hand through a way a channel could have carried, and incidents
with no ticket or status page where the rules expected one (`[toolchain]` in assessment.toml).

Only incidents declared in Sitrep are held to the ticket and status-page rules: imported history never
passed through the backends, so its lack of links says nothing about today's toolchain."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from models.entities import CommsLogEntry, Incident, OutboxItem, RemoteLink, SyncBackendState
from models.enums import OutboxState
from models.types import as_utc


@dataclass(frozen=True)
class SystemRow:
    backend: str
    label: str
    state: str  # "connected", "enabled, incomplete: ...", "off", "not configured"
    sent: int
    failed: int
    pending: int
    retried: int  # sent, but only after more than one attempt
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None

    @property
    def success_rate(self) -> float | None:
        done = self.sent + self.failed
        return self.sent / done if done else None


@dataclass(frozen=True)
class HandMove:
    incident_key: str
    at: datetime
    what: str  # "message sent by hand" | "contact logged by hand"
    way: str
    audience: str
    subject: str
    could_use: str  # the channel that could have carried it, and whether it is connected


@dataclass(frozen=True)
class MissingLink:
    incident_key: str
    severity: str
    title: str
    missing: str  # "ticket" | "status page"
    note: str


@dataclass(frozen=True)
class ToolchainReview:
    taken_at: datetime
    since: datetime
    systems: tuple[SystemRow, ...]
    by_hand: tuple[HandMove, ...]
    missing: tuple[MissingLink, ...]

    @property
    def connected(self) -> list[SystemRow]:
        return [s for s in self.systems if s.state == "connected"]


def review_toolchain(sitrep, rules: dict, period_days: int) -> ToolchainReview:
    now = sitrep.now()
    since = now - timedelta(days=period_days)
    systems = _systems(sitrep)
    connected = {s.backend for s in systems if s.state == "connected"}
    labels = {s.backend: s.label for s in systems}
    with sitrep.store.read() as s:
        incidents = {i.id: i for i in s.scalars(select(Incident).where(Incident.is_exercise.is_(False)))
                     if (i.declared_at or i.created_at) and as_utc(i.declared_at or i.created_at) >= since}  # fmt: skip
        logged = [r for r in s.scalars(select(CommsLogEntry).where(CommsLogEntry.direction == "outbound"))
                  if r.incident_id in incidents]  # fmt: skip
        links = defaultdict(set)
        for inc_id, backend in s.execute(select(RemoteLink.incident_id, RemoteLink.backend)):
            links[inc_id].add(backend)
        s.expunge_all()
    way_to_channel = dict(rules.get("channel_for_way") or {})
    by_hand, hand_status_page = [], set()
    for r in logged:
        hand_message = bool((r.data or {}).get("sent_by_hand"))
        if r.kind == "contact" or hand_message:
            channel = way_to_channel.get(r.channel)
            if hand_message and r.channel == "statuspage":
                hand_status_page.add(r.incident_id)
            if channel is None:
                continue
            label = labels.get(channel, channel)
            state = "connected" if channel in connected else "not connected"
            by_hand.append(HandMove(incidents[r.incident_id].key, as_utc(r.occurred_at),
                                    "message sent by hand" if hand_message else "contact logged by hand",
                                    r.channel, r.audience, r.subject or r.content[:80], f"{label} ({state})"))  # fmt: skip
    missing = []
    for kind, backends_key, expected_key in (("ticket", "ticket_backends", "ticket_expected"),
                                             ("status page", "status_page_backends", "status_page_expected")):  # fmt: skip
        backends = set(rules.get(backends_key) or ())
        expected = set(rules.get(expected_key) or ())
        for inc in sorted(incidents.values(), key=lambda i: i.number):
            if inc.source != "local" or inc.severity not in expected or links[inc.id] & backends:
                continue
            if kind == "status page" and inc.id in hand_status_page:
                note = "posted on the status page by hand"
            elif backends & connected:
                note = "a backend is connected, but nothing links this incident to it"
            else:
                note = "no " + kind + " backend connected (" + ", ".join(sorted(backends)) + ")"
            missing.append(MissingLink(inc.key, inc.severity, inc.title, kind, note))
    return ToolchainReview(now, since, tuple(systems), tuple(sorted(by_hand, key=lambda h: h.at)), tuple(missing))


def _systems(sitrep) -> list[SystemRow]:
    with sitrep.store.read_connection() as c:
        counts = defaultdict(dict)
        for backend, state, n in c.execute(select(OutboxItem.backend, OutboxItem.state, func.count())
                                           .group_by(OutboxItem.backend, OutboxItem.state)):  # fmt: skip
            counts[backend][state] = n
        retried = dict(c.execute(select(OutboxItem.backend, func.count())
                                 .where(OutboxItem.state == OutboxState.SENT.value, OutboxItem.attempts > 1)
                                 .group_by(OutboxItem.backend)).all())  # fmt: skip
        last_item_error = {}
        for row in c.execute(select(OutboxItem.backend, OutboxItem.last_error, OutboxItem.last_attempt_at)
                             .where(OutboxItem.last_error.is_not(None)).order_by(OutboxItem.last_attempt_at)):  # fmt: skip
            last_item_error[row.backend] = (row.last_error, row.last_attempt_at)
        lanes = {r.backend: r for r in c.execute(select(SyncBackendState))}
    out = []
    infos = {b.name: b for b in sitrep.sync.backends()}
    for name in sorted(set(infos) | set(counts)):
        info = infos.get(name)
        if info is None:
            state, label = "not installed", name
        elif info.enabled and not info.missing:
            state, label = "connected", info.label
        elif info.enabled:
            state, label = "enabled, incomplete: " + ", ".join(info.missing), info.label
        else:
            state, label = ("off" if info.settings else "not configured"), info.label
        lane = lanes.get(name)
        error, error_at = last_item_error.get(name, (None, None))
        if lane is not None and lane.last_error and (error_at is None or (lane.last_failure_at and
                                                                           lane.last_failure_at > error_at)):  # fmt: skip
            error, error_at = lane.last_error, lane.last_failure_at
        c_ = counts.get(name, {})
        out.append(SystemRow(name, label, state, c_.get(OutboxState.SENT.value, 0), c_.get(OutboxState.FAILED.value, 0),
                             c_.get(OutboxState.PENDING.value, 0) + c_.get(OutboxState.IN_FLIGHT.value, 0),
                             retried.get(name, 0), error, as_utc(error_at) if error_at else None,
                             as_utc(lane.last_success_at) if lane and lane.last_success_at else None))  # fmt: skip
    order = {"connected": 0}
    return sorted(out, key=lambda r: (order.get(r.state, 1), r.label.lower()))
