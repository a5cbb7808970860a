"""Configuration change records: what was changed under pressure, so the CMDB stays true.

A change record is a config-change timeline entry whose data carries the structured record (configuration
item, attribute, before, after, why, how to undo, the linked checklist step); who and when are the entry's.
Being an entry, it is chained, exported and offered to the sync outbox like everything else. The CSV and
JSON exports use the CMDB's change_request column names (custom columns prefixed u_), and read back
unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.entities import Incident, TimelineEntry
from models.enums import EntryKind
from models.types import as_utc, iso
from services.changes import Topic
from services.errors import ImportFailure, ValidationError
from services.record.incidents import IncidentService
from services.record.timeline import _clean_author, append_entry

RECORD_KEY = "change_record"
# CMDB import columns, in order: change_request's own fields, then the record's own (u_ = custom column).
CSV_COLUMNS = ("correlation_id", "cmdb_ci", "u_attribute", "u_before", "u_after", "requested_by", "start_date",
               "justification", "backout_plan", "u_checklist_step", "u_made_through", "u_incident", "type", "short_description")  # fmt: skip


@dataclass(frozen=True)
class ChangeRecord:
    id: str  # the timeline entry's id; the CMDB's correlation id
    incident_key: str
    ci: str
    attribute: str
    before: str
    after: str
    who: str
    when: datetime
    why: str
    undo: str
    checklist_step: str | None = None
    made_through: str = "hand"  # hand | checklist | flag | ...

    @property
    def summary(self) -> str:
        return f"{self.ci}: {self.attribute} {self.before or '∅'} → {self.after or '∅'}"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["when"] = iso(self.when)
        return out

    def as_cmdb_row(self) -> dict[str, str]:
        return {
            "correlation_id": self.id, "cmdb_ci": self.ci, "u_attribute": self.attribute, "u_before": self.before,
            "u_after": self.after, "requested_by": self.who, "start_date": iso(self.when), "justification": self.why,
            "backout_plan": self.undo, "u_checklist_step": self.checklist_step or "", "u_made_through": self.made_through, "u_incident": self.incident_key,
            "type": "emergency", "short_description": f"[{self.incident_key}] {self.summary}",
        }  # fmt: skip

    @classmethod
    def from_cmdb_row(cls, row: dict[str, str]) -> ChangeRecord:
        try:
            return cls(id=row["correlation_id"], incident_key=row["u_incident"], ci=row["cmdb_ci"],
                       attribute=row["u_attribute"], before=row["u_before"], after=row["u_after"],
                       who=row["requested_by"], when=as_utc(datetime.fromisoformat(row["start_date"].replace("Z", "+00:00"))), why=row["justification"],
                       undo=row["backout_plan"], checklist_step=row["u_checklist_step"] or None,
                       made_through=row.get("u_made_through") or "hand")  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ImportFailure(f"A change row is missing or has a bad {exc}.") from None


def record_fields(ci: str, attribute: str, before: str, after: str, why: str, undo: str) -> dict[str, str]:
    values = {"ci": ci, "attribute": attribute, "before": before, "after": after, "why": why, "undo": undo}
    values = {k: (v or "").strip() for k, v in values.items()}
    for name, label in (("ci", "the configuration item"), ("attribute", "the attribute changed"),
                        ("why", "why it was changed"), ("undo", "how to undo it")):  # fmt: skip
        if not values[name]:
            raise ValidationError(f"A change record needs {label}.", field=name)
    if values["before"] == values["after"]:
        raise ValidationError("Before and after are the same: nothing changed.", field="after")
    return values


def append_change(s: Session, inc: Incident, record: dict[str, str], *, author: str, now: datetime, hooks,
                  checklist_step: str | None = None, made_through: str = "hand") -> None:  # fmt: skip
    """Write a change record's entry inside the caller's transaction (a checklist tick writes its own)."""
    data = {RECORD_KEY: {**record, "checklist_step": checklist_step, "made_through": made_through}}
    body = f"Change: {record['ci']}: {record['attribute']} {record['before'] or '∅'} → {record['after'] or '∅'}. " \
           f"Why: {record['why']}. Undo: {record['undo']}"  # fmt: skip
    append_entry(s, inc.id, EntryKind.CONFIG_CHANGE, body, author=author, now=now, data=data, hooks=hooks)


class ChangeService:
    def __init__(self, store, now: Callable[[], datetime], publish) -> None:
        self._store = store
        self._now = now
        self._publish = publish

    def add(self, ref: str, *, author: str, ci: str, attribute: str, before: str, after: str, why: str,
            undo: str, checklist_step: str | None = None) -> ChangeRecord:  # fmt: skip
        record = record_fields(ci, attribute, before, after, why, undo)
        author = _clean_author(author)
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            now = self._now()
            inc.updated_at = now
            append_change(s, inc, record, author=author, now=now, hooks=self._store.entry_hooks,
                          checklist_step=checklist_step)  # fmt: skip
            key = inc.key
        self._publish(Topic.TIMELINE, inc.id, None)
        return self.list(key)[-1]

    def list(self, ref: str | None = None) -> list[ChangeRecord]:
        with self._store.read() as s:
            stmt = (select(TimelineEntry, Incident.key).join(Incident, Incident.id == TimelineEntry.incident_id)
                    .where(TimelineEntry.kind == EntryKind.CONFIG_CHANGE.value))  # fmt: skip
            if ref:
                stmt = stmt.where(TimelineEntry.incident_id == IncidentService._load(s, ref).id)
            rows = s.execute(stmt.order_by(TimelineEntry.occurred_at, TimelineEntry.seq)).all()
        out = []
        for e, key in rows:
            r = (e.data or {}).get(RECORD_KEY)
            if not r:
                continue  # a config-change note typed as free text: no structured record
            out.append(ChangeRecord(id=e.id, incident_key=key, ci=r["ci"], attribute=r["attribute"],
                                    before=r["before"], after=r["after"], who=e.author, when=e.occurred_at,
                                    why=r["why"], undo=r["undo"], checklist_step=r.get("checklist_step"),
                                    made_through=r.get("made_through") or "hand"))  # fmt: skip
        return out


def to_csv(records: Iterable[ChangeRecord]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for r in records:
        writer.writerow(r.as_cmdb_row())
    return buf.getvalue()


def from_csv(text: str) -> list[ChangeRecord]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailure(f"The change CSV lacks the column(s) {', '.join(missing)}.")
    return [ChangeRecord.from_cmdb_row(row) for row in reader]


def to_json(records: Iterable[ChangeRecord]) -> str:
    return json.dumps({"records": [r.as_cmdb_row() for r in records]}, indent=2, ensure_ascii=False)


def from_json(text: str) -> list[ChangeRecord]:
    try:
        rows = json.loads(text)["records"]
    except (ValueError, KeyError, TypeError):
        raise ImportFailure("The change JSON is not {\"records\": [...]}.") from None
    return [ChangeRecord.from_cmdb_row(row) for row in rows]
