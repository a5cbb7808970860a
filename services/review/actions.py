"""Post-incident action items: verb-first, categorised, owned, due, tracked to done.

Each change writes a timeline entry on the item's incident carrying `data["action_item"]`, so the
backends that track work (Jira) are owed it through the outbox in the same transaction, and a status
changed there comes back through the pull (`apply_remote_action_status`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from models.entities import ActionItem, Incident, Person, RemoteLink
from models.enums import EntryKind
from models.types import as_utc, new_id
from services.errors import NotFound, ValidationError
from services.record.incidents import IncidentService
from services.record.timeline import append_entry

_A = ActionItem.__table__
_I = Incident.__table__
_P = Person.__table__
_L = RemoteLink.__table__
# The tracker's link when an item was synced (a Jira issue), unless a person gave one.
_TRACKER_URL = (select(_L.c.url).where(_L.c.local_kind == "action_item", _L.c.local_id == ActionItem.__table__.c.id)
                .order_by(_L.c.created_at).limit(1).scalar_subquery())  # fmt: skip
CATEGORIES = ("investigate", "mitigate-now", "repair", "detect", "mitigate-future", "prevent", "process")
PRIORITIES = ("P1", "P2", "P3", "P4")
STATUSES = ("open", "in_progress", "done", "wont_do")
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "done": "Done", "wont_do": "Won't do"}
CLOSED = ("done", "wont_do")
# Vague openings the SRE workbook warns about ("improve", "investigate" without a bound are still verbs,
# but a title that starts with a noun or "we should" is not an action).
_NOT_A_VERB = re.compile(r"^(the|a|an|we|our|this|that|there|it|maybe|should|more|better|no)\b", re.I)


@dataclass(frozen=True)
class ActionItemView:
    id: str
    key: str
    incident_id: str
    incident_key: str
    services: tuple[str, ...]
    title: str
    category: str
    priority: str
    owner: str | None
    owner_name: str | None
    due_on: str | None
    status: str
    tracking_url: str | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None

    def overdue(self, today: date) -> bool:
        return self.status not in CLOSED and bool(self.due_on) and date.fromisoformat(self.due_on) < today

    def age_days(self, now: datetime) -> float:
        end = self.done_at or now
        return (end - self.created_at).total_seconds() / 86400

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["services"] = list(self.services)
        for k in ("created_at", "updated_at", "done_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


@dataclass(frozen=True)
class ActionStats:
    total: int
    done: int
    open: int
    overdue: int
    completion_rate: float | None  # done / (total - won't do)
    median_open_age_days: float | None
    median_days_to_done: float | None


def title_problem(title: str) -> str | None:
    words = title.split()
    if not words:
        return "An action item needs a title."
    if _NOT_A_VERB.match(title) or (words[0].lower().endswith("ing") and len(words[0]) > 6):
        return (f"'{title}' does not start with a verb: say what will be done, e.g. 'Add an alert on ...', "
                "'Document ...', 'Remove ...'.")
    return None


def _check_due(due_on: str | None) -> str | None:
    if due_on in (None, ""):
        return None
    try:
        return date.fromisoformat(due_on).isoformat()
    except ValueError:
        raise ValidationError(f"'{due_on}' is not a date (YYYY-MM-DD).", field="due") from None


class ActionItemService:
    def __init__(self, store, now: Callable[[], datetime], publish) -> None:
        self._store = store
        self._now = now
        self._publish = publish

    # -- reading ----------------------------------------------------------------------------------
    def _select(self):
        return (select(_A, _I.c.key.label("incident_key"), _I.c.services.label("incident_services"),
                       _P.c.name.label("owner_name"), _P.c.email.label("owner_email"),
                       _TRACKER_URL.label("tracker_url"))
                .join(_I, _I.c.id == _A.c.incident_id).outerjoin(_P, _P.c.handle == _A.c.owner))  # fmt: skip

    @staticmethod
    def _view(r) -> ActionItemView:
        return ActionItemView(r["id"], r["key"], r["incident_id"], r["incident_key"],
                              tuple(r["incident_services"] or ()), r["title"], r["category"], r["priority"],
                              r["owner"], r["owner_name"], r["due_on"], r["status"], r["tracking_url"] or r["tracker_url"],
                              r["created_at"], r["updated_at"], r["done_at"])  # fmt: skip

    def list(self, *, overdue: bool = False, owner: str | None = None, service: str | None = None,
             incident_id: str | None = None, open_only: bool = False) -> list[ActionItemView]:  # fmt: skip
        stmt = self._select().order_by(_A.c.number)
        if owner:
            stmt = stmt.where(_A.c.owner == owner.lstrip("@"))
        if incident_id:
            stmt = stmt.where(_A.c.incident_id == incident_id)
        if open_only or overdue:
            stmt = stmt.where(_A.c.status.not_in(CLOSED))
        with self._store.read_connection() as c:
            rows = [self._view(r) for r in c.execute(stmt).mappings()]
        if service:
            rows = [r for r in rows if service in r.services]
        if overdue:
            today = self._now().date()
            rows = [r for r in rows if r.overdue(today)]
        return rows

    def for_incident(self, incident_id: str) -> list[ActionItemView]:
        return self.list(incident_id=incident_id)

    def get(self, key: str) -> ActionItemView:
        key = key.strip().upper()
        if key.isdigit():
            key = f"ACT-{int(key):04d}"
        with self._store.read_connection() as c:
            row = c.execute(self._select().where(_A.c.key == key)).mappings().first()
        if row is None:
            raise NotFound(f"There is no action item {key}.")
        return self._view(row)

    def stats(self) -> ActionStats:
        items = self.list()
        now = self._now()
        counted = [a for a in items if a.status != "wont_do"]
        done = [a for a in counted if a.status == "done"]
        open_items = [a for a in counted if a.status not in CLOSED]
        today = now.date()
        return ActionStats(
            total=len(items), done=len(done), open=len(open_items),
            overdue=sum(a.overdue(today) for a in open_items),
            completion_rate=(len(done) / len(counted)) if counted else None,
            median_open_age_days=_median([a.age_days(now) for a in open_items]),
            median_days_to_done=_median([a.age_days(now) for a in done]),
        )  # fmt: skip

    # -- writing ----------------------------------------------------------------------------------
    def _entry(self, conn, item: dict[str, Any], op: str, body: str, author: str, now: datetime,
               extra: dict[str, Any] | None = None) -> None:  # fmt: skip
        person = conn.execute(select(_P.c.name, _P.c.email).where(_P.c.handle == item.get("owner"))).first() \
            if item.get("owner") else None  # fmt: skip
        facts = {"op": op, "id": item["id"], "key": item["key"], "title": item["title"], "category": item["category"],
                 "priority": item["priority"], "owner": item.get("owner"), "owner_name": person[0] if person else None,
                 "owner_email": person[1] if person else None, "due_on": item.get("due_on"), "status": item["status"],
                 **(extra or {})}  # fmt: skip
        append_entry(conn, item["incident_id"], EntryKind.SYSTEM, body, author=author, now=now,
                     data={"action_item": facts}, hooks=self._store.entry_hooks)  # fmt: skip

    def add(self, ref: str, title: str, *, category: str, priority: str = "P2", owner: str | None = None,
            due_on: str | None = None, tracking_url: str | None = None, author: str) -> ActionItemView:  # fmt: skip
        title = " ".join((title or "").split())
        problem = title_problem(title)
        if problem:
            raise ValidationError(problem, field="title")
        if len(title) > 300:
            raise ValidationError("An action item title is at most 300 characters.", field="title")
        if category not in CATEGORIES:
            raise ValidationError(f"Category is one of: {', '.join(CATEGORIES)}.", field="category")
        priority = priority.upper()
        if priority not in PRIORITIES:
            raise ValidationError(f"Priority is one of: {', '.join(PRIORITIES)}.", field="priority")
        due_on = _check_due(due_on)
        now = self._now()
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            conn = s.connection()
            if owner:
                owner = owner.lstrip("@")
                if conn.execute(select(_P.c.id).where(_P.c.handle == owner)).first() is None:
                    raise NotFound(f"Nobody in the directory has the handle @{owner}.", field="owner")
            number = (conn.execute(select(func.max(_A.c.number))).scalar() or 0) + 1
            item = {"id": new_id(), "number": number, "key": f"ACT-{number:04d}", "incident_id": inc.id,
                    "title": title, "category": category, "priority": priority, "owner": owner or None,
                    "due_on": due_on, "status": "open", "tracking_url": tracking_url or None, "created_by": author,
                    "created_at": now, "updated_at": now, "done_at": None}  # fmt: skip
            conn.execute(insert(_A).values(**item))
            self._entry(conn, item, "added", f"Action item {item['key']} added ({category}, {priority}): {title}",
                        author, now)  # fmt: skip
            key, iid = item["key"], inc.id
        self._publish("actions", iid, None)
        self._publish("timeline", iid, None)
        return self.get(key)

    def update(self, key: str, *, author: str, **changes: Any) -> ActionItemView:
        """Change title, category, priority, owner, due date, tracking link or status."""
        item = self.get(key)
        allowed = {"title", "category", "priority", "owner", "due_on", "tracking_url", "status"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationError(f"An action item has no field {', '.join(sorted(unknown))}.")
        values = {k: v for k, v in changes.items() if v is not None}
        if "title" in values and title_problem(values["title"]):
            raise ValidationError(title_problem(values["title"]), field="title")
        if "category" in values and values["category"] not in CATEGORIES:
            raise ValidationError(f"Category is one of: {', '.join(CATEGORIES)}.", field="category")
        if "priority" in values:
            values["priority"] = values["priority"].upper()
            if values["priority"] not in PRIORITIES:
                raise ValidationError(f"Priority is one of: {', '.join(PRIORITIES)}.", field="priority")
        if "status" in values and values["status"] not in STATUSES:
            raise ValidationError(f"Status is one of: {', '.join(STATUSES)}.", field="status")
        if "due_on" in values:
            values["due_on"] = _check_due(values["due_on"])
        if "owner" in values:
            values["owner"] = values["owner"].lstrip("@") or None
        now = self._now()
        with self._store.transaction() as s:
            conn = s.connection()
            row = dict(conn.execute(select(_A).where(_A.c.id == item.id)).mappings().first())
            if values.get("owner") and conn.execute(select(_P.c.id).where(_P.c.handle == values["owner"])).first() is None:
                raise NotFound(f"Nobody in the directory has the handle @{values['owner']}.", field="owner")
            changed = {k: v for k, v in values.items() if row.get(k) != v}
            if not changed:
                return item
            if "status" in changed:
                changed["done_at"] = now if changed["status"] == "done" else None
            conn.execute(update(_A).where(_A.c.id == item.id).values(**changed, updated_at=now))
            row.update(changed)
            what = ", ".join(f"{k} → {v}" for k, v in changed.items() if k != "done_at")
            op = "status" if set(changed) <= {"status", "done_at"} else "updated"
            self._entry(conn, row, op, f"Action item {item.key}: {what}", author, now,
                        {"changed": sorted(k for k in changed if k != "done_at")})  # fmt: skip
        self._publish("actions", item.incident_id, None)
        self._publish("timeline", item.incident_id, None)
        return self.get(key)


def apply_remote_action_status(db, item_id: str, status: str, *, at: datetime, now: datetime, author: str,
                               caused_by: dict[str, Any], hooks) -> list:  # fmt: skip
    """A status changed in a tracker (pulled) moves the item, in the pull's transaction. The entry is
    marked `caused_by`, so the tracker it came from is not sent the change back."""
    if status not in STATUSES:
        return []
    row = db.execute(select(_A).where(_A.c.id == item_id)).mappings().first()
    if row is None or row["status"] == status:
        return []
    item = dict(row)
    done_at = min(as_utc(at), now) if status == "done" else None
    db.execute(update(_A).where(_A.c.id == item_id).values(status=status, done_at=done_at, updated_at=now))
    item.update(status=status)
    label = caused_by.get("label") or caused_by.get("backend") or "a tracker"
    facts = {"op": "status", "id": item["id"], "key": item["key"], "title": item["title"], "status": status,
             "category": item["category"], "priority": item["priority"], "owner": item["owner"],
             "due_on": item["due_on"]}  # fmt: skip
    entry = append_entry(db, item["incident_id"], EntryKind.SYSTEM,
                         f"Action item {item['key']}: status → {status} (changed in {label})", author=author[:120],
                         now=now, occurred_at=min(as_utc(at), now), source=str(caused_by.get("backend") or "sitrep"),
                         data={"action_item": facts, "caused_by": caused_by}, hooks=hooks)  # fmt: skip
    return [entry]


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    v = sorted(values)
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
