"""Planned maintenance windows: plan, reschedule, edit, post updates, move the status, cancel; read them.

The local record is the truth, as for incidents: every change writes the window, one line of its
history (MaintenanceUpdate, append-only) and what each enabled status page is owed (sync outbox items
planned by the adapters' `plan_maintenance`) in one transaction. Nothing here waits on a network.

Statuses follow Statuspage's scheduled maintenance: scheduled -> in progress -> verifying -> completed,
plus Sitrep's own "cancelled". Statuspage has no cancelled status, and deleting the maintenance there
would erase what subscribers were already told; so a cancellation reaches a status page as a
completion whose message says it was cancelled (the person's words, or the adapter's standard
sentence), with the components it put under maintenance set back to operational. When nothing about
the window has reached a backend yet (planned offline and cancelled before the queue drained), the
unsent items are withdrawn instead and subscribers never hear of it.

Changes made on the status page (an automatic start or completion, a reschedule there) come back
through the sync pull: `apply_remote_maintenance` below, run by the sync worker on its own connection.

Longer than ~500 lines: one service for one record (windows, their history and what the status page is owed),
and the reconciliation of remote changes, which must apply the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models.entities import MaintenanceUpdate, MaintenanceWindow, OutboxItem, RemoteLink
from models.enums import MAINTENANCE_TRANSITIONS, MaintenanceStatus, OutboxState
from models.types import as_utc, iso, new_id
from services.adapters.values import MaintenanceChange, MaintenanceFacts, RemoteMaintenance
from services.changes import Topic
from services.detection.muting import check_matchers, check_recurrence, upcoming_occurrences
from services.errors import InvalidTransition, NotFound, ValidationError
from services.record.incidents import _clean_services
from services.record.timeline import _clean_author
from services.sync.outbox import OWED_STATES, maintenance_items_where
from services.text.timetext import utc_text, utc_texts

W = MaintenanceWindow.__table__
U = MaintenanceUpdate.__table__
O = OutboxItem.__table__  # noqa: E741
L = RemoteLink.__table__

TITLE_MAX = 255  # Statuspage's limit for a name
TEXT_MAX = 25_000  # ...and for an update's body
# A start typed as "now" is a little in the past by the time it is saved; a few minutes are not "the past".
START_GRACE = timedelta(minutes=5)

EDITABLE_FIELDS = (
    "title",
    "description",
    "scheduled_for",
    "scheduled_until",
    "services",
    "notify_subscribers",
    "remind_subscribers",
    "auto_in_progress",
    "auto_complete",
)
FIELD_LABELS = {
    "title": "title",
    "description": "description",
    "scheduled_for": "start",
    "scheduled_until": "end",
    "services": "affected services",
    "notify_subscribers": "notify subscribers",
    "remind_subscribers": "remind subscribers beforehand",
    "auto_in_progress": "start automatically",
    "auto_complete": "complete automatically",
}


# -- what callers see ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MaintenanceView:
    id: str
    number: int
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
    status: MaintenanceStatus
    planned_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    matchers: tuple[dict[str, Any], ...] = ()
    recurrence: str | None = None
    time_zone: str | None = None

    @classmethod
    def of(cls, row: Any) -> MaintenanceView:
        return cls(
            row.id, row.number, row.key, row.title, row.description or "", row.scheduled_for,
            row.scheduled_until, tuple(row.services or ()), bool(row.notify_subscribers),
            bool(row.remind_subscribers), bool(row.auto_in_progress), bool(row.auto_complete),
            MaintenanceStatus(row.status), row.planned_by, row.created_at, row.updated_at, row.started_at,
            row.ended_at, tuple(getattr(row, "matchers", None) or ()), getattr(row, "recurrence", None),
            getattr(row, "time_zone", None),
        )  # fmt: skip

    @property
    def duration(self) -> timedelta:
        return self.scheduled_until - self.scheduled_for

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def next_statuses(self) -> tuple[MaintenanceStatus, ...]:
        allowed = MAINTENANCE_TRANSITIONS[self.status]
        return tuple(s for s in MaintenanceStatus if s in allowed)

    def phase(self, now: datetime) -> str:
        """Where the window stands against the clock, in a few words: what a list shows beside the status."""
        if self.status is MaintenanceStatus.SCHEDULED:
            return "upcoming" if now < self.scheduled_for else "start time passed"
        if self.status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING):
            return "running past its end" if now > self.scheduled_until else "under way"
        return self.status.label.lower()


@dataclass(frozen=True)
class MaintenanceUpdateView:
    id: str
    seq: int
    action: str
    status: MaintenanceStatus
    from_status: MaintenanceStatus | None
    message: str
    changes: dict[str, Any]
    notify: bool
    author: str
    source: str
    recorded_at: datetime

    @classmethod
    def of(cls, row: Any) -> MaintenanceUpdateView:
        return cls(
            row.id, row.seq, row.action, MaintenanceStatus(row.status),
            MaintenanceStatus(row.from_status) if row.from_status else None, row.message or "",
            dict(row.changes or {}), bool(row.notify), row.author, row.source, row.recorded_at,
        )  # fmt: skip

    def describe(self) -> str:
        """One line for a person: what changed, and the message if there was one."""
        parts: list[str] = []
        if self.action == "planned":
            parts.append("Planned")
        elif self.from_status is not None and self.from_status != self.status:
            parts.append(f"{self.from_status.label} → {self.status.label}")
        for name, (before, after) in self.changes.items():
            parts.append(f"{FIELD_LABELS.get(name, name)}: {_change_text(before)} → {_change_text(after)}")
        if not parts:
            parts.append("Update")
        text = "; ".join(parts)
        if self.message and self.action != "planned":
            text += f": {self.message}"
        return text


@dataclass(frozen=True)
class RemoteCopy:
    """One backend's copy of a window: its link (once created) and how its queue stands."""

    backend: str
    label: str
    remote_id: str | None
    url: str | None
    remote_state: str | None
    pending: int
    failed: int
    sent: int
    last_error: str | None = None
    item_ids: tuple[int, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """'published (scheduled)', '2 waiting to send', 'refused: …'."""
        if self.failed:
            return f"refused: {self.last_error}" if self.last_error else "refused"
        if self.pending:
            return f"{self.pending} waiting to send" + (f" ({self.last_error})" if self.last_error else "")
        if self.remote_id:
            return f"published ({self.remote_state})" if self.remote_state else "published"
        return "withdrawn" if not self.sent else "sent"


def _change_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        parsed = _parse_iso(value)
        if parsed is not None:
            return utc_text(parsed)
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _parse_iso(value: str) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


# -- validation ------------------------------------------------------------------------------------
def parse_maintenance_status(value: str | MaintenanceStatus) -> MaintenanceStatus:
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return MaintenanceStatus(text)
    except ValueError:
        known = ", ".join(s.value for s in MaintenanceStatus)
        raise ValidationError(
            f"Unknown maintenance status '{value}'. Use one of: {known}.", field="status"
        ) from None


def _second(value: datetime) -> datetime:
    """Windows are planned to the second: the status page keeps no finer, and a comparison with what it
    sends back must not see a difference that is only microseconds."""
    return as_utc(value).replace(microsecond=0)


def _clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError(
            "A maintenance window needs a title (e.g. 'Database upgrade: checkout read-only').", field="title"
        )
    if len(title) > TITLE_MAX:
        raise ValidationError(
            f"Keep the title under {TITLE_MAX} characters (the status page's limit); put detail in the "
            "description.",
            field="title",
        )
    return title


def _clean_text(text: str | None, what: str, field_name: str) -> str:
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        raise ValidationError(f"The {what} is {len(text):,} characters; a status page takes {TEXT_MAX:,} at most.",
                              field=field_name)  # fmt: skip
    return text


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        end_text, start_text = utc_texts(end, start)
        raise ValidationError(
            f"The window must end after it starts: it ends {end_text} but starts {start_text}.",
            field="scheduled_until",
        )


def _check_future(start: datetime, now: datetime, what: str = "start") -> None:
    if start < now - START_GRACE:
        raise ValidationError(
            f"The {what} ({utc_text(start)}) is in the past (it is now {utc_text(now)}). Plan it from now on, "
            "or record a maintenance that already happened as a backfill.",
            field="scheduled_for",
        )


# -- the service -----------------------------------------------------------------------------------
class MaintenanceService:
    def __init__(self, store, now: Callable[[], datetime], publish, sync=None) -> None:
        self._store = store
        self._now = now
        self._publish = publish
        self._sync = sync

    # reading
    def get(self, ref: str) -> MaintenanceView:
        with self._store.read() as s:
            return MaintenanceView.of(self._load(s, ref))

    def list(self, *, include_finished: bool = True, limit: int | None = None) -> list[MaintenanceView]:
        """Open windows first, soonest start first; then finished ones, most recent first."""
        with self._store.read() as s:
            open_rows = s.scalars(
                select(MaintenanceWindow)
                .where(MaintenanceWindow.status.in_([st.value for st in MaintenanceStatus if st.is_open]))
                .order_by(MaintenanceWindow.scheduled_for, MaintenanceWindow.number)
            ).all()  # fmt: skip
            rows = [MaintenanceView.of(r) for r in open_rows]
            if include_finished:
                done = s.scalars(
                    select(MaintenanceWindow)
                    .where(MaintenanceWindow.status.in_([st.value for st in MaintenanceStatus if not st.is_open]))
                    .order_by(MaintenanceWindow.scheduled_for.desc(), MaintenanceWindow.number.desc())
                    .limit(limit)
                ).all()  # fmt: skip
                rows += [MaintenanceView.of(r) for r in done]
        return rows[:limit] if limit else rows

    def history(self, ref: str) -> list[MaintenanceUpdateView]:
        with self._store.read() as s:
            row = self._load(s, ref)
            updates = s.scalars(
                select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id == row.id).order_by(MaintenanceUpdate.seq)
            ).all()  # fmt: skip
            return [MaintenanceUpdateView.of(u) for u in updates]

    def remote_copies(self, ref: str) -> list[RemoteCopy]:
        """Each backend's copy of the window: link, state there, and what its queue still holds."""
        view = self.get(ref)
        return self.remote_copies_of([view.id]).get(view.id, [])

    def remote_copies_of(self, window_ids: list[str]) -> dict[str, list[RemoteCopy]]:
        """`remote_copies` for many windows at once (a list of them), in two reads."""
        if self._sync is None or not window_ids:
            return {}
        labels = {name: cls.label for name, cls in self._sync.available.items()}
        links = {
            (lk.local_id, lk.backend): lk for lk in self._sync.queue.local_links("maintenance", window_ids)
        }
        items: dict[tuple[str, str], list] = {}
        for item in self._sync.queue.maintenance_items(window_ids):
            items.setdefault((item.payload.get("maintenance_id"), item.backend), []).append(item)
        out: dict[str, list[RemoteCopy]] = {}
        for window_id, backend in sorted(set(links) | set(items)):
            lk, its = links.get((window_id, backend)), items.get((window_id, backend), [])
            pending = [i for i in its if i.state in (OutboxState.PENDING.value, OutboxState.IN_FLIGHT.value)]
            failed = [i for i in its if i.state == OutboxState.FAILED.value]
            sent = [i for i in its if i.state == OutboxState.SENT.value]
            worst = failed[0] if failed else (pending[0] if pending else None)
            out.setdefault(window_id, []).append(RemoteCopy(
                backend, labels.get(backend, backend), lk.remote_id if lk else None, lk.url if lk else None,
                lk.remote_state if lk else None, len(pending), len(failed), len(sent),
                worst.last_error if worst is not None else None, tuple(i.id for i in its),
            ))  # fmt: skip
        return out

    @staticmethod
    def _load(session: Session, ref: str) -> MaintenanceWindow:
        """A window by id, key (MNT-0007) or number (7)."""
        ref = (ref or "").strip()
        stmt = select(MaintenanceWindow)
        if ref.upper().startswith("MNT-"):
            stmt = stmt.where(MaintenanceWindow.key == ref.upper())
        elif ref.isdigit():
            stmt = stmt.where(MaintenanceWindow.number == int(ref))
        else:
            stmt = stmt.where(MaintenanceWindow.id == ref)
        row = session.scalar(stmt)
        if row is None:
            raise NotFound(
                f"No maintenance window '{ref}'. `sitrep maintenance list` shows the ones there are."
            )
        return row

    # planning
    def plan(
        self,
        title: str,
        scheduled_for: datetime,
        scheduled_until: datetime,
        *,
        author: str,
        description: str = "",
        services: Iterable[str] = (),
        notify_subscribers: bool = True,
        remind_subscribers: bool = True,
        auto_in_progress: bool = True,
        auto_complete: bool = True,
        backfill: bool = False,
        status: str | MaintenanceStatus | None = None,
        matchers: Iterable[dict[str, Any]] = (),
        recurrence: str | None = None,
        time_zone: str | None = None,
    ) -> MaintenanceView:
        """Plan a window. With `backfill`, a window that already began (or ended) is recorded as well;
        its status is then what it is by the clock unless given. `matchers` pick the alerts it mutes;
        `recurrence` (an RRULE read in `time_zone`) repeats it."""
        author = _clean_author(author)
        title = _clean_title(title)
        description = _clean_text(description, "description", "description")
        if scheduled_for is None or scheduled_until is None:
            raise ValidationError(
                "Give the window's start and end.",
                field="scheduled_for" if scheduled_for is None else "scheduled_until",
            )
        start, end = _second(scheduled_for), _second(scheduled_until)
        _check_window(start, end)
        now = self._now()
        if status is not None and not backfill:
            raise ValidationError(
                "A new window starts as scheduled; a status can be given only when backfilling.",
                field="status",
            )
        if backfill:
            if status is not None:
                state = parse_maintenance_status(status)
            elif end <= now:
                state = MaintenanceStatus.COMPLETED
            elif start <= now:
                state = MaintenanceStatus.IN_PROGRESS
            else:
                state = MaintenanceStatus.SCHEDULED
        else:
            _check_future(start, now)
            state = MaintenanceStatus.SCHEDULED
        services = _clean_services(services)
        matchers = check_matchers(matchers)
        recurrence, time_zone = check_recurrence(recurrence, time_zone, start, end)
        with self._store.transaction() as s:
            number = (s.scalar(select(func.max(MaintenanceWindow.number))) or 0) + 1
            row = MaintenanceWindow(
                id=new_id(), number=number, key=f"MNT-{number:04d}", title=title, description=description,
                scheduled_for=start, scheduled_until=end, services=services,
                notify_subscribers=bool(notify_subscribers), remind_subscribers=bool(remind_subscribers),
                auto_in_progress=bool(auto_in_progress), auto_complete=bool(auto_complete), status=state.value,
                planned_by=author, created_at=now, updated_at=now, matchers=matchers,
                recurrence=recurrence, time_zone=time_zone,
                started_at=start if state is not MaintenanceStatus.SCHEDULED else None,
                ended_at=end if not state.is_open else None,
            )  # fmt: skip
            s.add(row)
            s.flush()
            upd = self._record(s, row, "planned", None, description, {}, row.notify_subscribers, author, now)
            self._owe(s, row, upd, EDITABLE_FIELDS)
            view = MaintenanceView.of(row)
        self._publish(Topic.MAINTENANCE, None, None)
        return view

    def reschedule(
        self,
        ref: str,
        scheduled_for: datetime | None = None,
        scheduled_until: datetime | None = None,
        *,
        author: str,
        message: str = "",
        notify: bool | None = None,
    ) -> MaintenanceView:
        if scheduled_for is None and scheduled_until is None:
            raise ValidationError("Give a new start, a new end, or both.", field="scheduled_for")
        return self.edit(ref, author=author, message=message, notify=notify, scheduled_for=scheduled_for,
                         scheduled_until=scheduled_until)  # fmt: skip

    def edit(
        self, ref: str, *, author: str, message: str = "", notify: bool | None = None, **fields: Any
    ) -> MaintenanceView:
        """Change the window's details (any of EDITABLE_FIELDS; None leaves a field as it is), with an
        optional message to subscribers about it."""
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValidationError(f"A maintenance window has no field {', '.join(sorted(unknown))}.")
        author = _clean_author(author)
        message = _clean_text(message, "message", "message")
        wanted = {k: v for k, v in fields.items() if v is not None}
        now = self._now()
        with self._store.transaction() as s:
            row = self._load(s, ref)
            state = MaintenanceStatus(row.status)
            if not state.is_open:
                raise ValidationError(f"{row.key} is {state.label.lower()}; its record stays as it was.")
            new: dict[str, Any] = {}
            if "title" in wanted:
                new["title"] = _clean_title(wanted["title"])
            if "description" in wanted:
                new["description"] = _clean_text(wanted["description"], "description", "description")
            if "services" in wanted:
                new["services"] = _clean_services(wanted["services"])
            for flag in ("notify_subscribers", "remind_subscribers", "auto_in_progress", "auto_complete"):
                if flag in wanted:
                    new[flag] = bool(wanted[flag])
            if "scheduled_for" in wanted or "scheduled_until" in wanted:
                start = _second(wanted.get("scheduled_for") or row.scheduled_for)
                end = _second(wanted.get("scheduled_until") or row.scheduled_until)
                _check_window(start, end)
                if start != row.scheduled_for:
                    if state is not MaintenanceStatus.SCHEDULED:
                        raise ValidationError(
                            f"{row.key} has already started ({state.label.lower()}); only its end can move.",
                            field="scheduled_for",
                        )
                    _check_future(start, now, "new start")
                if (
                    end != row.scheduled_until
                    and state is not MaintenanceStatus.SCHEDULED
                    and end < now - START_GRACE
                ):
                    raise ValidationError(
                        f"{row.key} is {state.label.lower()}; its new end ({utc_text(end)}) cannot be in the past. "
                        "Complete it instead.",
                        field="scheduled_until",
                    )  # fmt: skip
                new["scheduled_for"], new["scheduled_until"] = start, end
            changes = {}
            for name, value in new.items():
                before = getattr(row, name)
                if before is not None and isinstance(before, datetime):
                    before = as_utc(before)
                if (list(before or []) if name == "services" else before) != value:
                    changes[name] = [_plain(before), _plain(value)]
                    setattr(row, name, value)
            if not changes and not message:
                raise ValidationError(f"Nothing to change: {row.key} already reads like that.")
            only_times = bool(changes) and set(changes) <= {"scheduled_for", "scheduled_until"}
            action = "rescheduled" if only_times else ("edited" if changes else "update")
            row.updated_at = now
            notify = row.notify_subscribers if notify is None else bool(notify)
            upd = self._record(s, row, action, state.value, message, changes, notify, author, now)
            self._owe(s, row, upd, tuple(changes))
            view = MaintenanceView.of(row)
        self._publish(Topic.MAINTENANCE, None, None)
        return view

    def post_update(
        self, ref: str, message: str = "", *, author: str, status: str | MaintenanceStatus | None = None,
        notify: bool | None = None,
    ) -> MaintenanceView:  # fmt: skip
        """Tell subscribers how the work goes, moving the status or not."""
        author = _clean_author(author)
        message = _clean_text(message, "message", "message")
        target = parse_maintenance_status(status) if status not in (None, "") else None
        now = self._now()
        with self._store.transaction() as s:
            row = self._load(s, ref)
            current = MaintenanceStatus(row.status)
            if current is MaintenanceStatus.CANCELLED:
                raise ValidationError(f"{row.key} was cancelled; nothing more is posted about it.")
            if target is not None:
                if target is current:
                    raise InvalidTransition(f"{row.key} is already {current.label.lower()}.", field="status")
                allowed = MAINTENANCE_TRANSITIONS[current]
                if target not in allowed:
                    names = [s.label.lower() for s in MaintenanceStatus if s in allowed]
                    options = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)
                    raise InvalidTransition(
                        f"{row.key} is {current.label.lower()}; it cannot move to {target.label.lower()}"
                        + (f" (it can move to {options})." if options else ": a finished window stays finished."),
                        field="status",
                    )  # fmt: skip
            elif not message:
                raise ValidationError("Write the update, or choose a new status.", field="message")
            if target is not None:
                row.status = target.value
                if (
                    target in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
                    and row.started_at is None
                ):
                    row.started_at = now
                if not target.is_open:
                    row.ended_at = now
            row.updated_at = now
            if target is MaintenanceStatus.CANCELLED:
                action = "cancelled"
            else:
                action = "status" if target is not None else "update"
            notify = row.notify_subscribers if notify is None else bool(notify)
            upd = self._record(s, row, action, current.value, message, {}, notify, author, now)
            self._owe(s, row, upd, ())
            view = MaintenanceView.of(row)
        self._publish(Topic.MAINTENANCE, None, None)
        return view

    def set_status(self, ref: str, status: str | MaintenanceStatus, *, author: str, message: str = "",
                   notify: bool | None = None) -> MaintenanceView:  # fmt: skip
        return self.post_update(ref, message, author=author, status=status, notify=notify)

    def start(
        self, ref: str, *, author: str, message: str = "", notify: bool | None = None
    ) -> MaintenanceView:
        return self.set_status(
            ref, MaintenanceStatus.IN_PROGRESS, author=author, message=message, notify=notify
        )

    def complete(
        self, ref: str, *, author: str, message: str = "", notify: bool | None = None
    ) -> MaintenanceView:
        return self.set_status(
            ref, MaintenanceStatus.COMPLETED, author=author, message=message, notify=notify
        )

    def cancel(
        self, ref: str, *, author: str, message: str = "", notify: bool | None = None
    ) -> MaintenanceView:
        return self.set_status(
            ref, MaintenanceStatus.CANCELLED, author=author, message=message, notify=notify
        )

    # in the transaction
    @staticmethod
    def _record(s: Session, row: MaintenanceWindow, action: str, from_status: str | None, message: str,
                changes: dict, notify: bool, author: str, now: datetime, source: str = "local") -> MaintenanceUpdate:  # fmt: skip
        seq = (
            s.scalar(
                select(func.max(MaintenanceUpdate.seq)).where(MaintenanceUpdate.maintenance_id == row.id)
            )
            or 0
        ) + 1
        upd = MaintenanceUpdate(
            id=new_id(), maintenance_id=row.id, seq=seq, action=action, status=row.status, from_status=from_status,
            message=message, changes=changes, notify=bool(notify), author=author, source=source, recorded_at=now,
        )  # fmt: skip
        s.add(upd)
        return upd

    def _owe(
        self, s: Session, row: MaintenanceWindow, upd: MaintenanceUpdate, changed: Iterable[str]
    ) -> None:
        """What the status pages are owed for this change, written in the change's transaction."""
        if self._sync is None:
            return
        changed = tuple(changed)
        previous = {name: (upd.changes.get(name) or [None])[0] for name in changed}
        change = MaintenanceChange(
            upd.id, upd.action, facts_of(row), changed, upd.from_status, upd.message, upd.notify,
            has_remote=lambda: False,  # each backend's own check replaces it (OutboxWriter.plan_maintenance)
            previous=previous,
        )  # fmt: skip
        self._sync.writer.plan_maintenance(s, change)


def facts_of(row: Any) -> MaintenanceFacts:
    return MaintenanceFacts(
        row.id, row.key, row.title, row.description or "", as_utc(row.scheduled_for), as_utc(row.scheduled_until),
        tuple(row.services or ()), bool(row.notify_subscribers), bool(row.remind_subscribers),
        bool(row.auto_in_progress), bool(row.auto_complete), row.status,
        tuple(getattr(row, "matchers", None) or ()), getattr(row, "recurrence", None),
        getattr(row, "time_zone", None), upcoming_occurrences(row),
    )  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple):
        return list(value)
    return value


# -- what a status page says changed (the sync worker's pull) -----------------------------------------
def apply_remote_maintenance(conn, backend: str, label: str, remote: RemoteMaintenance, now: datetime) -> int:
    """Bring a change made on the status page (an automatic start or completion, a person moving or
    rescheduling it there) onto the window, on the worker's connection. Returns 1 when the window changed.

    Not an echo: the link's remote state is what the backend last said after Sitrep's own sends, so only
    a status different from it is news; and while this backend is still owed items about the window,
    the window's own state wins (those items will make the page match it), so nothing is taken back.
    """
    row = conn.execute(select(W).where(W.c.id == remote.maintenance_id)).first()
    if row is None:
        return 0
    owed = conn.execute(
        select(func.count()).select_from(O).where(
            O.c.backend == backend, maintenance_items_where(row.id), O.c.state.in_(OWED_STATES))
    ).scalar_one()  # fmt: skip
    if owed:
        return 0
    link = conn.execute(
        select(L.c.id, L.c.remote_state).where(L.c.backend == backend, L.c.remote_kind == remote.remote_kind,
                                               L.c.remote_id == remote.remote_id)
    ).first()  # fmt: skip
    if link is None:
        return 0
    current = MaintenanceStatus(row.status)
    values: dict[str, Any] = {}
    changes: dict[str, list] = {}
    target = None
    if remote.status and remote.status != link.remote_state and current is not MaintenanceStatus.CANCELLED:
        try:
            target = MaintenanceStatus(remote.status)
        except ValueError:
            target = None
        if target is current:
            target = None
    if target is not None:
        at = min(as_utc(remote.changed_at), now) if remote.changed_at else now
        values["status"] = target.value
        if target in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING) and row.started_at is None:
            values["started_at"] = at
        if not target.is_open:
            values["ended_at"] = at
    still_open = (target or current).is_open and current.is_open
    if still_open:
        for name in ("scheduled_for", "scheduled_until"):
            theirs = getattr(remote, name)
            if theirs is not None and _second(theirs) != _second(getattr(row, name)):
                values[name] = _second(theirs)
                changes[name] = [iso(getattr(row, name)), iso(_second(theirs))]
    if "scheduled_for" in values or "scheduled_until" in values:
        start = values.get("scheduled_for", row.scheduled_for)
        end = values.get("scheduled_until", row.scheduled_until)
        if end <= start:  # not a window Sitrep can hold; leave the times as they are
            for name in ("scheduled_for", "scheduled_until"):
                values.pop(name, None)
                changes.pop(name, None)
    if remote.status and remote.status != link.remote_state:
        conn.execute(update(L).where(L.c.id == link.id).values(remote_state=remote.status, updated_at=now))
    if not values:
        return 0
    values["updated_at"] = now
    conn.execute(update(W).where(W.c.id == row.id).values(**values))
    seq = (conn.execute(select(func.max(U.c.seq)).where(U.c.maintenance_id == row.id)).scalar() or 0) + 1
    conn.execute(U.insert().values(
        id=new_id(), maintenance_id=row.id, seq=seq, action="status" if target is not None else "rescheduled",
        status=values.get("status", row.status), from_status=row.status,
        message=(remote.message or "")[:TEXT_MAX] if target is not None else "", changes=changes, notify=False,
        author=f"{label}"[:120], source=backend, recorded_at=now,
    ))  # fmt: skip
    return 1
