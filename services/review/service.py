"""The post-incident review: opened when an incident that owes one is resolved, written by people,
checked against B6's checklist, closed with the incident.

(Over 500 lines: the review's rules (opening, writing, evidence, checklist, status) read as one unit; the
meeting is in meeting.py, the document in document.py.)

Opening is an entry hook, so the review and its clocks exist in the same transaction as the
"Resolved" entry that owes them. Every change to the review writes a timeline entry, so the record
says who moved it and when.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, update

from models.entities import Incident, PostIncidentReview, TimelineEntry
from models.enums import EntryKind, Milestone, Status
from models.types import as_utc, new_id
from services.analytics.metrics import MetricsService
from services.errors import InvalidTransition, NotFound, ValidationError
from services.record.clocks import Clock
from services.record.incidents import IncidentService
from services.record.people import PeopleService
from services.record.roles import RoleService
from services.record.timeline import TimelineService, append_entry
from services.record.views import EntryRow, IncidentView
from services.review.document import (
    FACTOR_KINDS,
    SECTION_IDS,
    STATUS_LABELS,
    TITLES,
    ClockLine,
    ReviewRecord,
    build_sections,
    parse_factors,
    parse_markdown,
    to_markdown,
)
from services.review.lint import LintFinding, lint_texts
from services.review.meeting import ReviewMeetings
from services.review.policy import TRIGGER_LABELS, ReviewPolicy, load_policy
from services.review.report import markdown_to_html
from services.text.timetext import utc_text

_R = PostIncidentReview.__table__
_I = Incident.__table__
STATUSES = ("draft", "in_review", "reviewed", "closed")
NEXT = {"draft": ("in_review",), "in_review": ("draft", "reviewed"), "reviewed": ("in_review", "closed"),
        "closed": ()}  # fmt: skip
# B6's review checklist. "auto": Sitrep can tell from the record; the others a reviewer ticks.
CHECKLIST: tuple[tuple[str, str, bool], ...] = (
    ("impact", "Impact fully quantified", True),
    ("depth", "Root cause deep enough to drive actions (contributing factors, at least one systemic)", True),
    ("facts_vs_fixes", "Facts separated from fixes", False),
    ("actions", "Every action owned, prioritised, tracked and measurable (SEV1/2: a detect and a prevent item)", True),
    ("tone", "External message tone checked", False),
    ("shared", "Shared beyond the team", False),
    ("circulated", "Draft circulated at least 24 hours before the meeting", True),
    ("published", "Published within 5 business days", True),
)
SEV_RULE_LEVELS = ("SEV1", "SEV2")


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    met: bool
    missing: str  # what is missing, when not met
    automatic: bool


@dataclass(frozen=True)
class ReviewOverview:
    record: ReviewRecord
    sections: list
    checklist: list[ChecklistItem]
    lint: list[LintFinding]


@dataclass(frozen=True)
class ReviewView:
    incident_id: str
    incident_key: str
    status: str
    triggers: tuple[str, ...]
    opened_at: datetime
    meeting_due_at: datetime
    publish_due_at: datetime
    meeting_at: datetime | None
    meeting_held_at: datetime | None
    published_at: datetime | None
    closed_at: datetime | None
    row: dict[str, Any]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def trigger_labels(self) -> list[str]:
        return [TRIGGER_LABELS.get(t, t) for t in self.triggers]

    def clocks(self) -> list[Clock]:
        # Short labels: they sit beside the severity clocks in the header's one row of chips.
        return [Clock("review_meeting", "Review", self.meeting_due_at, self.meeting_held_at),
                Clock("review_published", "Publication", self.publish_due_at, self.published_at)]  # fmt: skip


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


class ReviewService(ReviewMeetings):
    def __init__(self, store, incidents: IncidentService, timeline: TimelineService, roles: RoleService,
                 people: PeopleService, metrics: MetricsService, clocks, now: Callable[[], datetime], publish,
                 config_dir: Path | None) -> None:  # fmt: skip
        self._store = store
        self._incidents = incidents
        self._timeline = timeline
        self._roles = roles
        self._people = people
        self._metrics = metrics
        self._clocks = clocks
        self._now = now
        self._publish = publish
        self._config_dir = config_dir
        self._policy: ReviewPolicy | None = None
        self.action_items = None  # set by Sitrep (ActionItemService), read for the document and checklist
        clocks.extra_sources.append(self._clock_source)
        # What other areas add to the document made from the record: (section id, provider of Markdown for
        # the incident). Vendor cases add their contracts' outcome to "response".
        self.section_sources: list[tuple[str, Callable[[IncidentView], str]]] = []

    @property
    def policy(self) -> ReviewPolicy:
        if self._policy is None:
            self._policy = load_policy(self._config_dir)
        return self._policy

    @property
    def attachments_dir(self) -> Path | None:
        path = getattr(self._store, "path", None)
        return Path(path).parent / "attachments" if path else None

    # -- opening ----------------------------------------------------------------------------------
    def open_when_resolved(self, db, entry: EntryRow) -> None:
        """Entry hook: a Resolved status change opens the review when the incident owes one."""
        data = entry.data or {}
        if entry.kind != EntryKind.STATUS_CHANGE.value or data.get("to") != Status.RESOLVED.value:
            return
        if db.execute(select(_R.c.id).where(_R.c.incident_id == entry.incident_id)).first():
            return
        row = db.execute(select(_I).where(_I.c.id == entry.incident_id)).mappings().first()
        if row is None or row["is_exercise"]:
            return
        # The hook may run on a bare connection (no ORM objects): the view is built from the row's values.
        inc = IncidentView.of(SimpleNamespace(**row))
        entries = [EntryRow(*r) for r in db.execute(
            select(*_ENTRY_COLS).where(_T.c.incident_id == entry.incident_id).order_by(_T.c.seq))]
        triggers = self.policy.triggers(inc, entries, resolved_at=entry.occurred_at)
        if triggers:
            # The Resolved entry is the record of it; the review adds no entry of its own, so the
            # resolve stays the last word on the timeline.
            self._insert(db, inc, triggers, None, entry.recorded_at, start=entry.occurred_at, record=False)

    def _insert(self, db, inc: IncidentView, triggers: list[str], requested_by: str | None, now: datetime,
                *, start: datetime, record: bool = True) -> None:  # fmt: skip
        meeting_due = self.policy.meeting_due(start)
        publish_due = self.policy.publish_due(start)
        db.execute(insert(_R).values(
            id=new_id(), incident_id=inc.id, status="draft", triggers=triggers, requested_by=requested_by,
            opened_at=now, meeting_due_at=meeting_due, publish_due_at=publish_due, meeting_minutes=30,
            sections={}, factors=[], evidence=[], attendees=[], checklist={}, updated_at=now,
        ))  # fmt: skip
        if not record:
            return
        why = ", ".join(TRIGGER_LABELS.get(t, t) for t in triggers)
        body = (f"Post-incident review opened ({why}): meeting due {utc_text(meeting_due)}, "
                f"publication due {utc_text(publish_due)}")  # fmt: skip
        append_entry(db, inc.id, EntryKind.SYSTEM, body, author=requested_by or "sitrep", now=now,
                     data={"review": {"action": "opened", "triggers": triggers}},
                     hooks=self._store.entry_hooks)  # fmt: skip

    def request(self, ref: str, *, author: str, reason: str | None = None) -> ReviewView:
        """Anyone may ask for a review, whatever the triggers say."""
        now = self._now()
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            conn = s.connection()
            if conn.execute(select(_R.c.id).where(_R.c.incident_id == inc.id)).first():
                raise ValidationError(f"{inc.key} already has a post-incident review.")
            view = IncidentView.of(inc)
            start = view.milestones.get(Milestone.RESOLVED) or now
            self._insert(conn, view, ["requested"], author, now, start=start)
            if reason:
                append_entry(conn, inc.id, EntryKind.NOTE, f"Review asked for: {reason}", author=author, now=now,
                             hooks=self._store.entry_hooks)  # fmt: skip
            iid = inc.id
        self._publish("review", iid, None)
        return self.get(ref)

    # -- reading ----------------------------------------------------------------------------------
    def find(self, ref: str) -> ReviewView | None:
        inc = self._incidents.get(ref)
        with self._store.read_connection() as c:
            row = c.execute(select(_R).where(_R.c.incident_id == inc.id)).mappings().first()
        return _view(dict(row), inc.key) if row else None

    def get(self, ref: str) -> ReviewView:
        view = self.find(ref)
        if view is None:
            key = self._incidents.get(ref).key
            raise NotFound(f"{key} has no post-incident review. It opens when an incident that owes one is "
                           f"resolved; ask for one with `sitrep review open {key}`.")
        return view

    def all(self) -> dict[str, ReviewView]:
        """Every review, by incident id (for the incidents list)."""
        with self._store.read_connection() as c:
            rows = c.execute(select(_R, _I.c.key).join(_I, _I.c.id == _R.c.incident_id)).mappings().all()
        return {r["incident_id"]: _view({c.name: r[c.name] for c in _R.columns}, r["key"]) for r in rows}

    def _clock_source(self, conn, inc: IncidentView) -> list[Clock]:
        row = conn.execute(select(_R).where(_R.c.incident_id == inc.id)).mappings().first()
        return _view(dict(row), inc.key).clocks() if row else []

    def record(self, ref: str) -> ReviewRecord:
        review = self.get(ref)
        inc = self._incidents.get(ref)
        now = self._now()
        clocks = [ClockLine(c.label, c.due_at, c.met_at, c.state(now))
                  for c in self._clocks.clocks(inc, everything=True)]  # fmt: skip
        actions = self.action_items.for_incident(inc.id) if self.action_items else []
        row = dict(review.row)
        row["trigger_labels"] = review.trigger_labels
        return ReviewRecord(
            incident=inc, review=row, entries=self._timeline.entries(inc.id),
            superseded=self._timeline.superseded_ids(inc.id), roles=self._roles.history(inc.id), clocks=clocks,
            metrics=list(self._metrics.definitions.values()), actions=[a.as_dict() for a in actions],
            people_names={p.handle: p.name for p in self._people.list()},
            added={sid: text for sid, source in self.section_sources if (text := source(inc))},
        )  # fmt: skip

    def markdown(self, ref: str, *, editable: bool = False) -> str:
        return to_markdown(self.record(ref), editable=editable)

    def report_html(self, ref: str) -> str:
        inc = self._incidents.get(ref)
        return markdown_to_html(self.markdown(ref), f"Post-incident review {inc.key}")

    def sections(self, ref: str):
        return build_sections(self.record(ref))

    # -- writing ----------------------------------------------------------------------------------
    def _change(self, ref: str, author: str, body: str, detail: dict[str, Any], mutate) -> ReviewView:
        now = self._now()
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            conn = s.connection()
            row = conn.execute(select(_R).where(_R.c.incident_id == inc.id)).mappings().first()
            if row is None:
                raise NotFound(f"{inc.key} has no post-incident review.")
            row = dict(row)
            if row["status"] == "closed" and detail.get("action") != "status":
                raise InvalidTransition(f"The review of {inc.key} is closed; it can no longer change.")
            values = mutate(row, now) or {}
            values["updated_at"] = now
            conn.execute(update(_R).where(_R.c.id == row["id"]).values(**values))
            append_entry(conn, inc.id, EntryKind.SYSTEM, body, author=author, now=now,
                         data={"review": detail}, hooks=self._store.entry_hooks)  # fmt: skip
            iid = inc.id
        self._publish("review", iid, None)
        self._publish("timeline", iid, None)
        return self.get(ref)

    def write_section(self, ref: str, section: str, text: str, *, author: str) -> ReviewView:
        if section not in SECTION_IDS:
            raise ValidationError(f"'{section}' is not a review section; they are: {', '.join(SECTION_IDS)}.",
                                  field="section")  # fmt: skip
        text = (text or "").strip()

        def mutate(row, now):
            values: dict[str, Any] = {}
            if section == "factors":
                factors, text_rest = parse_factors(text)
                values["factors"] = factors
                body = text_rest
            else:
                body = text
            sections = dict(row["sections"] or {})
            if body:
                sections[section] = {"text": body, "by": author, "at": now.isoformat()}
            else:
                sections.pop(section, None)
            values["sections"] = sections
            return values

        return self._change(ref, author, f"Review: {TITLES[section]} written",
                            {"action": "section", "section": section}, mutate)  # fmt: skip

    def add_factor(self, ref: str, text: str, *, kind: str = "proximate", whys: list[str] | None = None,
                   author: str) -> ReviewView:  # fmt: skip
        if kind not in FACTOR_KINDS:
            raise ValidationError(f"A factor is {' or '.join(FACTOR_KINDS)}, not '{kind}'.", field="kind")
        if not (text or "").strip():
            raise ValidationError("A contributing factor needs its text.", field="text")

        def mutate(row, now):
            return {"factors": [*(row["factors"] or []), {"kind": kind, "text": text.strip(),
                                                          "whys": [w for w in whys or [] if w.strip()]}]}

        return self._change(ref, author, f"Review: contributing factor added ({kind})",
                            {"action": "factor", "kind": kind}, mutate)  # fmt: skip

    def import_markdown(self, ref: str, text: str, *, author: str) -> list[str]:
        """Take the written parts of an edited export; returns the sections that changed."""
        found = parse_markdown(text)
        current = {s.id: (s.filled + ("\n\n" + s.written if s.written else "")).strip() if s.id == "factors"
                   else s.written for s in self.sections(ref)}  # fmt: skip
        changed = [sid for sid, body in found.items() if body.strip() != (current.get(sid) or "").strip()]
        for sid in changed:
            self.write_section(ref, sid, found[sid], author=author)
        return changed

    # -- evidence ---------------------------------------------------------------------------------
    def add_evidence(self, ref: str, *, author: str, url: str | None = None, entry_seq: int | None = None,
                     file: Path | None = None, label: str | None = None) -> ReviewView:  # fmt: skip
        if sum(x is not None for x in (url, entry_seq, file)) != 1:
            raise ValidationError("Give one piece of evidence: a URL, a timeline entry or a file.")
        inc = self._incidents.get(ref)
        if url is not None:
            if not url.startswith(("http://", "https://")):
                raise ValidationError(f"'{url}' is not an http(s) address.", field="url")
            item = {"kind": "url", "ref": url, "label": label or url}
        elif entry_seq is not None:
            rows = self._timeline.entries_by_seq(inc.id, [entry_seq])
            if not rows:
                raise NotFound(f"{inc.key} has no timeline entry #{entry_seq}.", field="entry")
            item = {"kind": "entry", "ref": rows[0].id, "seq": entry_seq,
                    "label": label or rows[0].body.splitlines()[0][:120]}  # fmt: skip
        else:
            folder = self.attachments_dir
            if folder is None:
                raise ValidationError("This store has no data folder to keep attachments in.")
            source = Path(file)
            if not source.is_file():
                raise NotFound(f"There is no file {source}.", field="file")
            digest = sha256_file(source)
            folder.mkdir(parents=True, exist_ok=True)
            kept = folder / digest
            if not kept.exists():
                shutil.copyfile(source, kept)
            item = {"kind": "file", "ref": digest, "sha256": digest, "label": label or source.name,
                    "size": source.stat().st_size}  # fmt: skip
        item["by"] = author

        def mutate(row, now):
            return {"evidence": [*(row["evidence"] or []), {**item, "at": now.isoformat()}]}

        return self._change(ref, author, f"Review: evidence added ({item['kind']}: {item['label']})",
                            {"action": "evidence", "kind": item["kind"], "ref": item["ref"]}, mutate)  # fmt: skip

    def attachment_problems(self) -> list[str]:
        """For `sitrep verify`: every attached file must still hold the bytes it was attached with."""
        folder = self.attachments_dir
        problems: list[str] = []
        for review in self.all().values():
            for item in review.row.get("evidence") or []:
                if item.get("kind") != "file":
                    continue
                path = folder / item["sha256"] if folder else None
                if path is None or not path.is_file():
                    problems.append(f"{review.incident_key}: attachment '{item['label']}' is missing ({path}).")
                elif sha256_file(path) != item["sha256"]:
                    problems.append(f"{review.incident_key}: attachment '{item['label']}' has changed: its bytes "
                                    f"no longer hash to {item['sha256'][:16]}…")  # fmt: skip
        return problems

    # -- lint and checklist -----------------------------------------------------------------------
    def overview(self, ref: str) -> ReviewOverview:
        """What the review panel shows, from one read of the record."""
        rec = self.record(ref)
        return ReviewOverview(rec, build_sections(rec), self.checklist(ref, rec), self.lint(ref, rec))

    def lint(self, ref: str, rec: ReviewRecord | None = None) -> list[LintFinding]:
        rec = rec or self.record(ref)
        texts = {s.id: s.written for s in build_sections(rec) if s.written}
        factor_text = "\n".join([f["text"] for f in rec.review.get("factors") or []]
                                + [w for f in rec.review.get("factors") or [] for w in f.get("whys") or []])
        if factor_text:
            texts["factors"] = (texts.get("factors", "") + "\n" + factor_text).strip()
        names = set()
        for p in self._people.list():
            names.add(p.name)
            names.update(part for part in p.name.split() if len(part) >= 3)
        fully_down = rec.incident.error_rate_pct is None or rec.incident.error_rate_pct >= 100
        return lint_texts(texts, names=sorted(names), fully_down=fully_down)

    def checklist(self, ref: str, rec: ReviewRecord | None = None) -> list[ChecklistItem]:
        rec = rec or self.record(ref)
        r, inc = rec.review, rec.incident
        ticked = r.get("checklist") or {}
        written = r.get("sections") or {}
        factors = r.get("factors") or []
        actions = rec.actions
        now = self._now()
        out = []
        for cid, label, auto in CHECKLIST:
            if cid == "impact":
                gaps = [w for w, ok in (("the Impact section", "impact" in written),
                                        ("affected users or error rate on the incident",
                                         inc.affected_users is not None or inc.error_rate_pct is not None)) if not ok]
                met, missing = not gaps, "missing: " + ", ".join(gaps)
            elif cid == "depth":
                met = len(factors) >= 2 and any(f.get("kind") == "systemic" for f in factors)
                missing = f"{len(factors)} contributing factor(s); need two or more, one of them systemic"
            elif cid == "actions":
                met, missing = _actions_ok(inc.severity, actions)
            elif cid == "circulated":
                circulated = ticked.get("circulated_at")
                meeting = r.get("meeting_at")
                met = bool(circulated and meeting and (meeting - _dt(circulated)).total_seconds() >= 24 * 3600)
                missing = ("the draft went to review less than 24 h before the meeting" if circulated and meeting
                           else "the draft has not been put In review and a meeting scheduled")
            elif cid == "published":
                met = now <= r["publish_due_at"]
                missing = f"publication was due {utc_text(r['publish_due_at'])}"
            else:
                met = bool(ticked.get(cid))
                missing = "not ticked by a reviewer"
            out.append(ChecklistItem(cid, label, met, "" if met else missing, auto))
        return out

    def tick(self, ref: str, item: str, done: bool, *, author: str) -> ReviewView:
        manual = {cid for cid, _l, auto in CHECKLIST if not auto}
        if item not in manual:
            raise ValidationError(f"'{item}' is not a checklist item a reviewer ticks; those are: "
                                  f"{', '.join(sorted(manual))}.", field="item")  # fmt: skip

        def mutate(row, now):
            ticked = dict(row["checklist"] or {})
            ticked[item] = bool(done)
            return {"checklist": ticked}

        label = dict((c, lbl) for c, lbl, _a in CHECKLIST)[item]
        return self._change(ref, author, f"Review checklist: '{label}' {'ticked' if done else 'unticked'}",
                            {"action": "tick", "item": item, "done": bool(done)}, mutate)  # fmt: skip

    # -- status -----------------------------------------------------------------------------------
    def set_status(self, ref: str, status: str, *, author: str, override_reason: str | None = None) -> ReviewView:
        status = status.strip().lower().replace(" ", "_").replace("-", "_")
        if status not in STATUSES:
            raise ValidationError(f"A review is one of: {', '.join(STATUS_LABELS.values())}.", field="status")
        review = self.get(ref)
        if status not in NEXT[review.status]:
            allowed = ", ".join(STATUS_LABELS[s] for s in NEXT[review.status]) or "nothing (it is closed)"
            raise InvalidTransition(f"The review of {review.incident_key} cannot go from {review.status_label} to "
                                    f"{STATUS_LABELS[status]}; from {review.status_label} it can go to: {allowed}.")
        reason = (override_reason or "").strip() or None
        unmet = [c for c in self.checklist(ref) if not c.met] if status == "reviewed" else []
        if unmet and not reason:
            lines = "; ".join(f"{c.label}: {c.missing}" for c in unmet)
            raise InvalidTransition(f"The review checklist is not met ({lines}). Fix those, or give a reason to "
                                    "override.", field="override_reason")
        if status == "closed":
            inc = self._incidents.get(ref)
            if inc.status is Status.RESOLVED:
                self._incidents.set_status(ref, Status.CLOSED, author=author)

        def mutate(row, now):
            values: dict[str, Any] = {"status": status}
            if status == "in_review":
                ticked = dict(row["checklist"] or {})
                ticked.setdefault("circulated_at", now.isoformat())
                values["checklist"] = ticked
            if status == "reviewed":
                values["published_at"] = now
                if unmet:
                    values["override_reason"] = reason
            if status == "closed":
                values["closed_at"] = now
            return values

        body = f"Review status: {review.status_label} → {STATUS_LABELS[status]}"
        if unmet:
            body += f" (checklist overridden: {reason}; unmet: {', '.join(c.id for c in unmet)})"
        return self._change(ref, author, body, {"action": "status", "from": review.status, "to": status,
                                                "override": reason if unmet else None}, mutate)  # fmt: skip

def _actions_ok(severity: str, actions: list[dict[str, Any]]) -> tuple[bool, str]:
    live = [a for a in actions if a["status"] != "wont_do"]
    gaps = []
    if not live:
        gaps.append("no action items")
    for a in live:
        lacks = [w for w, ok in (("owner", a.get("owner")), ("due date", a.get("due_on")),
                                 ("tracking link", a.get("tracking_url"))) if not ok]  # fmt: skip
        if lacks:
            gaps.append(f"{a['key']} has no {', '.join(lacks)}")
    if severity in SEV_RULE_LEVELS and live:
        cats = {a["category"] for a in live}
        if "detect" not in cats:
            gaps.append(f"{severity} needs a detect item")
        if not cats & {"prevent", "mitigate-future"}:
            gaps.append(f"{severity} needs a prevent or mitigate-future item")
    return not gaps, "; ".join(gaps)


def sev_rule_problem(severity: str, categories: set[str]) -> str | None:
    """B6's rule for SEV1/2: at least one detect and one prevent or mitigate-future item."""
    if severity not in SEV_RULE_LEVELS:
        return None
    missing = []
    if "detect" not in categories:
        missing.append("a detect item")
    if not categories & {"prevent", "mitigate-future"}:
        missing.append("a prevent or mitigate-future item")
    return f"{severity} needs {' and '.join(missing)}." if missing else None


def _dt(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


_T = TimelineEntry.__table__
_ENTRY_COLS = [_T.c[n] for n in EntryRow._fields]


def _view(row: dict[str, Any], key: str) -> ReviewView:
    return ReviewView(row["incident_id"], key, row["status"], tuple(row["triggers"] or ()), row["opened_at"],
                      row["meeting_due_at"], row["publish_due_at"], row["meeting_at"], row["meeting_held_at"],
                      row["published_at"], row["closed_at"], row)  # fmt: skip
