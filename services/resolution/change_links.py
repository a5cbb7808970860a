"""The changes that may have caused an incident (ITIL's "caused by change"): entered by hand (a change
reference, summary, when, the CI or service) or a Jira issue of the organisation's change type, as fetched.

Not the same as a change record (change_records.py), which is a configuration change *made during* the
incident. Each link and unlink is a timeline entry (who, when); the rows keep the current set, and an unlinked
one stays inactive so an import of an older file cannot bring it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.entities import ChangeLink
from models.enums import EntryKind
from models.types import as_utc, iso, new_id
from services.adapters.values import ItilRecord
from services.changes import Topic
from services.errors import ValidationError
from services.record.incidents import IncidentService
from services.record.timeline import _clean_author, append_entry
from services.text.limits import check_text

SOURCES = ("hand", "jira")


@dataclass(frozen=True)
class ChangeLinkView:
    id: str
    incident_key: str
    source: str
    ref: str
    summary: str
    changed_at: datetime | None
    ci: str
    remote_status: str | None
    linked_by: str
    linked_at: datetime

    @property
    def line(self) -> str:
        when = f"{self.changed_at:%Y-%m-%d %H:%M}Z" if self.changed_at else "time unknown"
        status = f" [{self.remote_status}]" if self.remote_status else ""
        return f"{self.ref}{status}  {when}  {self.ci or '-'}  {self.summary}"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "incident": self.incident_key, "source": self.source, "ref": self.ref,
                "summary": self.summary, "changed_at": iso(self.changed_at) if self.changed_at else None,
                "ci": self.ci, "remote_status": self.remote_status, "linked_by": self.linked_by,
                "linked_at": iso(self.linked_at)}  # fmt: skip


class ChangeLinkService:
    def __init__(self, store, now: Callable[[], datetime], publish) -> None:
        self._store = store
        self._now = now
        self._publish = publish

    def list(self, incident_ref: str) -> list[ChangeLinkView]:
        with self._store.read() as s:
            inc = IncidentService._load(s, incident_ref)
            rows = s.scalars(select(ChangeLink).where(ChangeLink.incident_id == inc.id, ChangeLink.active.is_(True))
                             .order_by(ChangeLink.changed_at.is_(None), ChangeLink.changed_at, ChangeLink.ref))  # fmt: skip
            return [ChangeLinkView(c.id, inc.key, c.source, c.ref, c.summary, c.changed_at, c.ci, c.remote_status,
                                   c.linked_by, c.linked_at) for c in rows]  # fmt: skip

    def link(self, incident_ref: str, *, author: str, ref: str, summary: str, changed_at: datetime | None = None,
             ci: str = "", why: str | None = None) -> ChangeLinkView:  # fmt: skip
        """A change entered by hand."""
        ref, summary, ci = (ref or "").strip(), (summary or "").strip(), (ci or "").strip()
        if not ref:
            raise ValidationError("Give the change's reference (its number in the change system).", field="ref")
        check_text(ref, field="ref", label="The change reference", limit=64, one_line=True)
        if not summary:
            raise ValidationError("Say what the change was, in a line.", field="summary")
        check_text(summary, field="summary", label="The summary", limit=300, one_line=True)
        check_text(ci, field="ci", label="The configuration item", limit=200, one_line=True)
        if changed_at is not None and as_utc(changed_at) > self._now():
            raise ValidationError("A change that may have caused the incident cannot be in the future.", field="when")
        return self._write(incident_ref, author=author, source="hand", ref=ref, summary=summary,
                           changed_at=changed_at, ci=ci, status=None, why=why)  # fmt: skip

    def link_tracked(self, incident_ref: str, record: ItilRecord, *, backend: str, author: str,
                     why: str | None = None) -> ChangeLinkView:  # fmt: skip
        """A change record from a tracker (a Jira issue of the change type), as just fetched."""
        return self._write(incident_ref, author=author, source=backend, ref=record.key,
                           summary=record.summary or record.key, changed_at=record.created_at,
                           ci=", ".join(record.components), status=record.status, why=why)  # fmt: skip

    def _write(self, incident_ref: str, *, author: str, source: str, ref: str, summary: str,
               changed_at: datetime | None, ci: str, status: str | None, why: str | None) -> ChangeLinkView:  # fmt: skip
        author = _clean_author(author)
        changed_at = as_utc(changed_at) if changed_at else None
        with self._store.transaction() as s:
            inc = IncidentService._load(s, incident_ref)
            row = s.scalar(select(ChangeLink).where(ChangeLink.incident_id == inc.id, ChangeLink.ref == ref))
            if row is not None and row.active:
                raise ValidationError(f"{ref} is already linked to {inc.key}.", field="ref")
            now = self._now()
            values = {"source": source, "summary": summary[:300], "changed_at": changed_at, "ci": ci[:200],
                      "remote_status": status, "active": True, "linked_by": author, "linked_at": now,
                      "updated_at": now}  # fmt: skip
            if row is None:
                row = ChangeLink(id=new_id(), incident_id=inc.id, ref=ref, **values)
                s.add(row)
            else:
                for k, v in values.items():
                    setattr(row, k, v)
            when = f" at {changed_at:%Y-%m-%d %H:%M}Z" if changed_at else ""
            body = f"Change {ref} linked as a possible cause: {summary}{when}" + (f" on {ci}" if ci else "") + "."
            if (why or "").strip():
                body += f" Why: {why.strip()}"
            data = {"sync": False, "change_link": {"ref": ref, "source": source, "action": "linked"}}
            inc.updated_at = now
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now, data=data,
                         hooks=self._store.entry_hooks)  # fmt: skip
            s.flush()
            view = ChangeLinkView(row.id, inc.key, row.source, row.ref, row.summary, row.changed_at, row.ci,
                                  row.remote_status, row.linked_by, row.linked_at)  # fmt: skip
            iid = inc.id
        self._publish(Topic.PROBLEMS, iid, None)
        self._publish(Topic.TIMELINE, iid, None)
        return view

    def unlink(self, incident_ref: str, ref: str, *, author: str, why: str | None = None) -> None:
        author = _clean_author(author)
        ref = (ref or "").strip()
        with self._store.transaction() as s:
            inc = IncidentService._load(s, incident_ref)
            row = s.scalar(select(ChangeLink).where(ChangeLink.incident_id == inc.id, ChangeLink.ref == ref,
                                                    ChangeLink.active.is_(True)))  # fmt: skip
            if row is None:
                raise ValidationError(f"No change '{ref}' is linked to {inc.key}.", field="ref")
            now = self._now()
            row.active, row.updated_at = False, now
            body = f"Change {ref} unlinked: not a cause" + (f" ({why.strip()})." if (why or "").strip() else ".")
            data = {"sync": False, "change_link": {"ref": ref, "source": row.source, "action": "unlinked"}}
            inc.updated_at = now
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now, data=data,
                         hooks=self._store.entry_hooks)  # fmt: skip
            iid = inc.id
        self._publish(Topic.PROBLEMS, iid, None)
        self._publish(Topic.TIMELINE, iid, None)
