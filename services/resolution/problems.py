"""ITIL problem records and each incident's link to one, so repeated incidents of one cause become visible.

A problem is kept here (title, description, root cause when known, the known-error workaround, status, owner)
or tracked as a Jira issue of the problem type (linked by key; its summary and status as last fetched).
Several incidents share one problem; an incident has at most one. Linking and unlinking write a timeline
entry on the incident (who, when), and linking to a known error puts its workaround in that entry, so the
people on a new incident see the fix that worked before. A problem is referred to by its key (PRB-0003),
its tracker key (OPS-77) or its id; its id is what an export carries, so an import merges by it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.entities import Incident, Problem, ProblemLink
from models.enums import EntryKind
from models.types import iso, new_id
from services.adapters.values import ItilRecord
from services.changes import Topic
from services.errors import NotFound, ValidationError
from services.record.incidents import IncidentService
from services.record.timeline import _clean_author, append_entry
from services.text.limits import check_text

STATUSES = {"open": "Open", "known_error": "Known error", "resolved": "Resolved"}
NO_PROBLEM = "(no problem)"
_EDITABLE = ("title", "description", "root_cause", "workaround", "status", "owner")


@dataclass(frozen=True)
class ProblemView:
    id: str
    key: str
    title: str
    description: str
    root_cause: str | None
    workaround: str | None
    status: str
    owner: str | None
    remote_backend: str | None
    remote_key: str | None
    remote_status: str | None
    fetched_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    incidents: tuple[str, ...] = ()  # keys of the incidents linked to it now, oldest first

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def is_known_error(self) -> bool:
        return self.status == "known_error"

    @property
    def label(self) -> str:
        """How lists name it: "PRB-0003 Card authorisations time out (OPS-77)"."""
        return f"{self.key} {self.title}" + (f" ({self.remote_key})" if self.remote_key else "")

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("fetched_at", "created_at", "updated_at"):
            out[k] = iso(out[k]) if out[k] else None
        out["incidents"] = list(self.incidents)
        return out


@dataclass(frozen=True)
class ProblemIncident:
    """An incident linked to a problem, as the problem's view lists it."""

    id: str
    key: str
    title: str
    severity: str
    status: str
    started_at: datetime
    linked_by: str
    linked_at: datetime


@dataclass(frozen=True)
class LinkOutcome:
    incident_key: str
    problem: ProblemView
    replaced: str | None  # the problem it was linked to before, if another
    already: bool  # it was linked to this problem already: nothing written


def _view(p: Problem, incidents: tuple[str, ...] = ()) -> ProblemView:
    return ProblemView(p.id, p.key, p.title, p.description or "", p.root_cause, p.workaround, p.status, p.owner,
                       p.remote_backend, p.remote_key, p.remote_status, p.fetched_at, p.created_by, p.created_at,
                       p.updated_at, incidents)  # fmt: skip


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


_TEXT_LIMITS = {"title": ("The title", 300, True), "owner": ("The owner", 120, True),
                "description": ("The description", 10_000, False), "root_cause": ("The root cause", 10_000, False),
                "workaround": ("The workaround", 10_000, False)}  # fmt: skip


def check_fields(fields: dict[str, Any]) -> None:
    if "title" in fields and not (fields["title"] or "").strip():
        raise ValidationError("A problem needs a title: the cause in a line.", field="title")
    for name, (label, limit, one_line) in _TEXT_LIMITS.items():
        check_text(fields.get(name), field=name, label=label, limit=limit, one_line=one_line)
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValidationError(f"Status '{fields['status']}' is not one of: {', '.join(STATUSES)}.", field="status")


class ProblemService:
    def __init__(self, store, now: Callable[[], datetime], publish) -> None:
        self._store = store
        self._now = now
        self._publish = publish

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def _load(s: Session, ref: str) -> Problem:
        ref = (ref or "").strip()
        if not ref:
            raise ValidationError("Name the problem: its key (PRB-0001), Jira key or id.", field="problem")
        stmt = select(Problem)
        if ref.upper().startswith("PRB-"):
            stmt = stmt.where(Problem.key == ref.upper())
        elif ref.isdigit():
            stmt = stmt.where(Problem.number == int(ref))
        else:
            stmt = stmt.where((Problem.id == ref) | (Problem.remote_key == ref.upper()))
        p = s.scalar(stmt)
        if p is None:
            raise NotFound(f"No problem '{ref}'. `sitrep problem list` shows the problems there are.")
        return p

    @staticmethod
    def _linked_keys(s: Session, problem_ids: list[str]) -> dict[str, tuple[str, ...]]:
        rows = s.execute(select(ProblemLink.problem_id, Incident.key)
                         .join(Incident, Incident.id == ProblemLink.incident_id)
                         .where(ProblemLink.active.is_(True), ProblemLink.problem_id.in_(problem_ids))
                         .order_by(Incident.number)).all()  # fmt: skip
        out: dict[str, list[str]] = {}
        for pid, key in rows:
            out.setdefault(pid, []).append(key)
        return {k: tuple(v) for k, v in out.items()}

    def get(self, ref: str) -> ProblemView:
        with self._store.read() as s:
            p = self._load(s, ref)
            return _view(p, self._linked_keys(s, [p.id]).get(p.id, ()))

    def list(self, status: str | None = None) -> list[ProblemView]:
        if status:
            check_fields({"status": status})
        with self._store.read() as s:
            stmt = select(Problem).order_by(Problem.number)
            if status:
                stmt = stmt.where(Problem.status == status)
            problems = list(s.scalars(stmt))
            linked = self._linked_keys(s, [p.id for p in problems])
            return [_view(p, linked.get(p.id, ())) for p in problems]

    def for_incident(self, incident_ref: str) -> ProblemView | None:
        with self._store.read() as s:
            inc = IncidentService._load(s, incident_ref)
            # One at most; should an import have merged two copies that each linked one, the latest counts.
            pid = s.scalar(select(ProblemLink.problem_id)
                           .where(ProblemLink.incident_id == inc.id, ProblemLink.active.is_(True))
                           .order_by(ProblemLink.updated_at.desc()).limit(1))  # fmt: skip
            if pid is None:
                return None
            p = s.get(Problem, pid)
            return _view(p, self._linked_keys(s, [p.id]).get(p.id, ()))

    def incidents_of(self, ref: str) -> list[ProblemIncident]:
        """The incidents linked to a problem now, oldest first (by impact start, else detection, else creation)."""
        with self._store.read() as s:
            p = self._load(s, ref)
            rows = s.execute(select(Incident, ProblemLink)
                             .join(ProblemLink, ProblemLink.incident_id == Incident.id)
                             .where(ProblemLink.problem_id == p.id, ProblemLink.active.is_(True))).all()  # fmt: skip
            out = [ProblemIncident(i.id, i.key, i.title, i.severity, i.status,
                                   i.impact_started_at or i.detected_at or i.created_at, pl.linked_by, pl.linked_at)
                   for i, pl in rows]  # fmt: skip
        return sorted(out, key=lambda r: (r.started_at, r.key))

    def by_incident(self) -> dict[str, ProblemView]:
        """incident id -> its problem, for every incident linked to one (the incidents list's column)."""
        with self._store.read() as s:
            rows = s.execute(select(ProblemLink.incident_id, Problem)
                             .join(Problem, Problem.id == ProblemLink.problem_id)
                             .where(ProblemLink.active.is_(True)).order_by(ProblemLink.updated_at)).all()  # fmt: skip
            views: dict[str, ProblemView] = {}  # the latest link of an incident is the one kept
            return {iid: views.setdefault(p.id, _view(p)) for iid, p in rows}

    # -- writing -------------------------------------------------------------------------
    def add(self, title: str, *, author: str, description: str = "", root_cause: str | None = None,
            workaround: str | None = None, status: str | None = None, owner: str | None = None) -> ProblemView:  # fmt: skip
        fields = {"title": (title or "").strip(), "description": (description or "").strip(),
                  "root_cause": _clean(root_cause), "workaround": _clean(workaround), "owner": _clean(owner),
                  "status": status or ("known_error" if _clean(workaround) else "open")}  # fmt: skip
        check_fields(fields)
        self._check_known_error(fields["status"], fields["workaround"])
        return self._insert(fields, author=_clean_author(author))

    def add_tracked(self, record: ItilRecord, *, backend: str, author: str) -> ProblemView:
        """A problem tracked in a backend (a Jira issue of the problem type), as just fetched. Adding one
        already here refreshes its summary and status instead."""
        author = _clean_author(author)
        with self._store.transaction() as s:
            existing = s.scalar(select(Problem).where(Problem.remote_key == record.key))
            if existing is not None:
                self._apply_fetched(existing, record)
                view = _view(existing)
        if existing is not None:
            self._publish(Topic.PROBLEMS, None, None)
            return view
        return self._insert({"title": record.summary or record.key, "description": "", "root_cause": None,
                             "workaround": None, "owner": None, "status": "open", "remote_backend": backend,
                             "remote_key": record.key, "remote_status": record.status, "fetched_at": self._now()},
                            author=author)  # fmt: skip

    def refresh_tracked(self, ref: str, record: ItilRecord) -> ProblemView:
        with self._store.transaction() as s:
            p = self._load(s, ref)
            self._apply_fetched(p, record)
        self._publish(Topic.PROBLEMS, None, None)
        return self.get(ref)

    def _apply_fetched(self, p: Problem, record: ItilRecord) -> None:
        p.title, p.remote_status = record.summary or p.title, record.status
        p.fetched_at = p.updated_at = self._now()

    def _insert(self, fields: dict[str, Any], *, author: str) -> ProblemView:
        with self._store.transaction() as s:
            number = (s.scalar(select(func.max(Problem.number))) or 0) + 1
            now = self._now()
            p = Problem(id=new_id(), number=number, key=f"PRB-{number:04d}", created_by=author, created_at=now,
                        updated_at=now, **fields)  # fmt: skip
            s.add(p)
            s.flush()
            view = _view(p)
        self._publish(Topic.PROBLEMS, None, None)
        return view

    @staticmethod
    def _check_known_error(status: str, workaround: str | None) -> None:
        if status == "known_error" and not workaround:
            raise ValidationError("A known error needs its workaround: what to do until the cause is fixed.",
                                  field="workaround")  # fmt: skip

    def update(self, ref: str, *, author: str, **changes: Any) -> ProblemView:
        unknown = [k for k in changes if k not in _EDITABLE]
        if unknown:
            raise ValidationError(f"A problem has no field '{unknown[0]}'.", field=unknown[0])
        changes = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items() if v is not None}
        for k in ("root_cause", "workaround", "owner"):
            if k in changes:
                changes[k] = _clean(changes[k])
        check_fields(changes)
        _clean_author(author)
        with self._store.transaction() as s:
            p = self._load(s, ref)
            status = changes.get("status", p.status)
            if "workaround" in changes and changes["workaround"] and "status" not in changes and p.status == "open":
                status = changes["status"] = "known_error"  # a workaround is what makes it a known error
            self._check_known_error(status, changes.get("workaround", p.workaround))
            for k, v in changes.items():
                setattr(p, k, v)
            p.updated_at = self._now()
            key = p.key
        self._publish(Topic.PROBLEMS, None, None)
        return self.get(key)

    def link(self, incident_ref: str, problem_ref: str, *, author: str, why: str | None = None) -> LinkOutcome:
        """Link the incident to the problem (replacing the problem it had, if another), on its timeline."""
        author = _clean_author(author)
        check_text(why, field="why", label="The reason", limit=2000)
        with self._store.transaction() as s:
            inc = IncidentService._load(s, incident_ref)
            p = self._load(s, problem_ref)
            links = {pl.problem_id: pl for pl in s.scalars(select(ProblemLink).where(ProblemLink.incident_id == inc.id))}
            active = sorted((pl for pl in links.values() if pl.active), key=lambda pl: pl.updated_at)
            current = active[-1] if active else None
            if current is not None and current.problem_id == p.id and len(active) == 1:
                return LinkOutcome(inc.key, self._linked_view(s, p), None, True)
            now = self._now()
            replaced = None
            for old in active:  # one at a time: whatever it was linked to before is unlinked
                if old.problem_id != p.id:
                    old.active, old.updated_at = False, now
                    replaced = s.get(Problem, old.problem_id).key
            link = links.get(p.id)
            if link is None:
                s.add(ProblemLink(id=new_id(), incident_id=inc.id, problem_id=p.id, active=True, linked_by=author,
                                  linked_at=now, updated_at=now))  # fmt: skip
            else:
                link.active, link.linked_by, link.linked_at, link.updated_at = True, author, now, now
            s.flush()
            view = self._linked_view(s, p)
            tracked = f", Jira {p.remote_key}" if p.remote_key else ""
            body = f"Linked to problem {p.key} “{p.title}” ({view.status_label.lower()}{tracked})"
            body += f", replacing {replaced}." if replaced else "."
            if (why or "").strip():
                body += f" Why: {why.strip()}"
            if p.workaround:
                body += f"\nKnown-error workaround: {p.workaround}"
            others = [k for k in view.incidents if k != inc.key]
            if others:
                body += f"\nAlso linked to it: {', '.join(others)}."
            data = {"sync": False, "problem_link": {"problem_id": p.id, "problem": p.key, "action": "linked",
                                                    "replaced": replaced, "remote_key": p.remote_key}}  # fmt: skip
            inc.updated_at = now
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now, data=data,
                         hooks=self._store.entry_hooks)  # fmt: skip
            key, iid = inc.key, inc.id
        self._publish(Topic.PROBLEMS, iid, None)
        self._publish(Topic.TIMELINE, iid, None)
        return LinkOutcome(key, view, replaced, False)

    def unlink(self, incident_ref: str, *, author: str, why: str | None = None) -> ProblemView:
        author = _clean_author(author)
        with self._store.transaction() as s:
            inc = IncidentService._load(s, incident_ref)
            active = list(s.scalars(select(ProblemLink).where(ProblemLink.incident_id == inc.id,
                                                              ProblemLink.active.is_(True))
                                    .order_by(ProblemLink.updated_at)))  # fmt: skip
            if not active:
                raise ValidationError(f"{inc.key} is not linked to a problem.", field="problem")
            now = self._now()
            link = active[-1]
            for old in active:
                old.active, old.updated_at = False, now
            p = s.get(Problem, link.problem_id)
            body = f"Unlinked from problem {p.key} “{p.title}”" + (f": {why.strip()}" if (why or "").strip() else ".")
            data = {"sync": False, "problem_link": {"problem_id": p.id, "problem": p.key, "action": "unlinked"}}
            inc.updated_at = now
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now, data=data,
                         hooks=self._store.entry_hooks)  # fmt: skip
            s.flush()
            view = self._linked_view(s, p)
            iid = inc.id
        self._publish(Topic.PROBLEMS, iid, None)
        self._publish(Topic.TIMELINE, iid, None)
        return view

    def _linked_view(self, s: Session, p: Problem) -> ProblemView:
        return replace(_view(p), incidents=self._linked_keys(s, [p.id]).get(p.id, ()))
