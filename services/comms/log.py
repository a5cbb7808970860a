"""The stakeholder log's chain: append-only, hash-chained per incident like the timeline."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select

from models.entities import CommsLogEntry
from models.types import as_utc, iso, new_id
from services.record.chain_heads import STAKEHOLDER_LOG, advance_head

GENESIS_HASH = "0" * 64
_L = CommsLogEntry.__table__


class LogRow(NamedTuple):
    id: str
    incident_id: str
    seq: int
    kind: str
    direction: str
    channel: str
    audience: str
    recipients: list[str]
    subject: str
    content: str
    author: str
    approver: str | None
    approved_at: datetime | None
    occurred_at: datetime
    recorded_at: datetime
    message_id: str | None
    entry_id: str | None
    data: dict[str, Any] | None
    prev_hash: str
    hash: str


LOG_COLUMNS = [_L.c[name] for name in LogRow._fields]
_HASHED = [f for f in LogRow._fields if f not in ("prev_hash", "hash")]


def log_digest(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256 over the previous hash and a canonical JSON of the log line's content."""
    payload = {k: (iso(row[k]) if isinstance(row[k], datetime) else row[k]) for k in _HASHED}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def append_log_entry(db, incident_id: str, *, now: datetime, **values: Any) -> LogRow:
    """Append one line to an incident's stakeholder log, inside the caller's transaction."""
    last = db.execute(
        select(_L.c.seq, _L.c.hash).where(_L.c.incident_id == incident_id).order_by(_L.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    row: dict[str, Any] = {
        "id": new_id(), "incident_id": incident_id, "seq": seq, "kind": values["kind"],
        "direction": values.get("direction", "outbound"), "channel": values["channel"],
        "audience": values["audience"], "recipients": list(values.get("recipients") or []),
        "subject": values.get("subject", "")[:300], "content": values["content"], "author": values["author"],
        "approver": values.get("approver"), "approved_at": values.get("approved_at"),
        "occurred_at": as_utc(values.get("occurred_at") or now), "recorded_at": now,
        "message_id": values.get("message_id"), "entry_id": values.get("entry_id"), "data": values.get("data"),
        "prev_hash": prev,
    }  # fmt: skip
    if row["approved_at"] is not None:
        row["approved_at"] = as_utc(row["approved_at"])
    row["hash"] = log_digest(prev, row)
    db.execute(insert(_L), row)
    advance_head(db, STAKEHOLDER_LOG, incident_id, seq, row["hash"])
    return LogRow(**row)


def first_break(rows: list[LogRow]) -> tuple[LogRow, str] | None:
    """Where a chain of log lines (in seq order) stops holding, and why; None when it holds."""
    prev = GENESIS_HASH
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected:
            return row, f"log line #{expected} is missing (deleted?)"
        if row.prev_hash != prev:
            return row, "does not follow the log line before it (reordered or replaced)"
        if log_digest(prev, row._asdict()) != row.hash:
            return row, "its content was changed after it was written"
        prev = row.hash
    return None
