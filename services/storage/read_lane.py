"""The read lane: what the console's first paint shows, read through plain sqlite3.

Importing SQLAlchemy and mapping the models costs more than the whole bare window (docs/performance.md),
so the first paint reads the incidents list, the last incident's header and the visible page of its
timeline here, with prebuilt statements, while the services load on a background thread. The append
lane writes the same way. Each query is defined once, below; `tests/test_read_lane.py` holds every one
to what the services return for the same store, so the two paths cannot come to mean different things.

Nothing here imports SQLAlchemy or a model: the values are converted as the models' column types do
(fixed-width UTC text to aware datetimes, JSON text to Python), and rows come back as the services' own
plain rows (`EntryRow`, `IncidentView` from services/record/views.py, which needs no ORM to be imported).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from models.enums import Milestone, Status
from services.record.rows import EntryRow, IncidentView

ENTRY_FIELDS = EntryRow._fields
# IncidentView's stored fields; milestones and flagged_pairs are read beside them.
INCIDENT_FIELDS = tuple(f for f in IncidentView.__slots__ if f not in ("milestones", "flagged_pairs"))
_MILESTONE_COLUMNS = tuple(m.column for m in Milestone)
_CLOSED = (Status.RESOLVED.value, Status.CLOSED.value)

# One definition per query. The incidents list's order is IncidentService.list's: open first, then by the
# most recent declaration, then by number.
_SELECT_INCIDENT = (
    f"SELECT {', '.join(INCIDENT_FIELDS + _MILESTONE_COLUMNS)}, flagged_pairs FROM incidents"
)
_LIST_ORDER = " ORDER BY status IN (?, ?), declared_at DESC, number DESC"
_INCIDENT_LIST = _SELECT_INCIDENT + _LIST_ORDER + " LIMIT ?"
_OPEN_INCIDENT_LIST = _SELECT_INCIDENT + " WHERE status NOT IN (?, ?)" + _LIST_ORDER + " LIMIT ?"
_INCIDENT_BY_ID = _SELECT_INCIDENT + " WHERE id = ?"
_INCIDENT_BY_KEY = _SELECT_INCIDENT + " WHERE key = ?"
_INCIDENT_BY_NUMBER = _SELECT_INCIDENT + " WHERE number = ?"
_SELECT_ENTRY = f"SELECT {', '.join(ENTRY_FIELDS)} FROM timeline_entries"
_ENTRIES_AFTER = _SELECT_ENTRY + " WHERE incident_id = ? AND seq > ? ORDER BY seq LIMIT ?"
_LAST_ENTRIES = (
    f"SELECT * FROM ({_SELECT_ENTRY} WHERE incident_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq"
)
_LAST_OCCURRED = (
    f"SELECT * FROM ({_SELECT_ENTRY} WHERE incident_id = ? ORDER BY occurred_at DESC, seq DESC LIMIT ?) "
    "ORDER BY occurred_at, seq"
)  # the timeline's default order (TimelineService ENTRY_ORDERS["occurred"]): how people read it
_ENTRY_COUNT = "SELECT count(*) FROM timeline_entries WHERE incident_id = ?"
_INCIDENT_COUNT = "SELECT count(*) FROM incidents"
_LAST_SEQ = "SELECT max(seq) FROM timeline_entries WHERE incident_id = ?"
_SUPERSEDED = "SELECT supersedes_id FROM timeline_entries WHERE incident_id = ? AND supersedes_id IS NOT NULL"
_VISIBLE_SEQS = (
    "SELECT seq FROM timeline_entries WHERE incident_id = ? AND id NOT IN "
    "(SELECT supersedes_id FROM timeline_entries WHERE incident_id = ? AND supersedes_id IS NOT NULL) ORDER BY seq"
)
_ALL_SEQS = "SELECT seq FROM timeline_entries WHERE incident_id = ? ORDER BY seq"
_SCHEMA_REVISION = "SELECT version_num FROM alembic_version"
_NO_LIMIT = -1  # SQLite's "LIMIT -1": every row


class ReadLaneUnavailable(Exception):
    """The store cannot be read this way (missing, not yet at this schema, damaged, locked): the console
    starts the way it always did and the services say why."""


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # a year before 1000 stored unpadded by older versions (models/types.py reads it too)
        year, rest = text.split("-", 1)
        return datetime.fromisoformat(f"{year.zfill(4)}-{rest}")


def _json(text: str | None):
    return None if text is None else json.loads(text)


def entry_row(raw: tuple) -> EntryRow:
    """A stored entry as the services' EntryRow holds it (same Python types)."""
    (id_, incident_id, seq, kind, body, rationale, author, source,
     occurred, recorded, data, supersedes_id, prev_hash, hash_) = raw  # fmt: skip
    return EntryRow(id_, incident_id, seq, kind, body, rationale, author, source,
                    _when(occurred), _when(recorded), _json(data), supersedes_id, prev_hash, hash_)  # fmt: skip


def incident_view(raw: tuple) -> IncidentView:
    """A stored incident as IncidentView.of makes it from the ORM object."""
    base = len(INCIDENT_FIELDS)
    values = dict(zip(INCIDENT_FIELDS, raw[:base], strict=True))
    values["status"] = Status(values["status"])
    values["is_major"], values["is_exercise"] = bool(values["is_major"]), bool(values["is_exercise"])
    values["services"] = tuple(_json(values["services"]) or ())
    values["created_at"], values["updated_at"] = _when(values["created_at"]), _when(values["updated_at"])
    milestones = {m: _when(raw[base + i]) for i, m in enumerate(Milestone)}
    pairs = tuple((p[0], p[1]) for p in _json(raw[-1]) or ())
    return IncidentView(**values, milestones=milestones, flagged_pairs=pairs)


class ReadLane:
    """One read-only sqlite3 connection to the store file; every read is one prebuilt statement.

    The connection is opened with check_same_thread=False and used under the caller's discipline: the
    console reads on the GUI thread only.
    """

    def __init__(self, path: Path, expected_revision: str) -> None:
        if not Path(path).is_file():
            raise ReadLaneUnavailable(f"{path} does not exist yet")
        try:
            self._conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=0.2, check_same_thread=False, isolation_level=None
            )
            row = self._conn.execute(_SCHEMA_REVISION).fetchone()
        except sqlite3.Error as exc:
            self.close()
            raise ReadLaneUnavailable(str(exc)) from None
        if row is None or row[0] != expected_revision:
            self.close()
            raise ReadLaneUnavailable(f"schema {row[0] if row else 'none'}, not {expected_revision}")

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
            self._conn = None

    def _all(self, sql: str, params: tuple) -> list[EntryRow]:
        conn = self._conn
        if conn is None:  # closed with its store; a read after that goes the services' way, as it always did
            raise ReadLaneUnavailable("the read lane is closed")
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise ReadLaneUnavailable(str(exc)) from None

    # -- incidents ----------------------------------------------------------------------------
    def incidents(self, *, open_only: bool = False, limit: int | None = None) -> list[IncidentView]:
        """IncidentService.list(open_only=..., limit=...): open incidents first, newest declaration first."""
        sql = _OPEN_INCIDENT_LIST if open_only else _INCIDENT_LIST
        params = (*(_CLOSED if open_only else ()), *_CLOSED, limit or _NO_LIMIT)
        return [incident_view(r) for r in self._all(sql, params)]

    def incident_count(self) -> int:
        """len(IncidentService.list()): every incident, exercises included."""
        return self._all(_INCIDENT_COUNT, ())[0][0]

    def incident(self, ref: str) -> IncidentView | None:
        """IncidentService.get(ref) (by id, key or number), or None where it would raise NotFound."""
        ref = (ref or "").strip()
        if ref.upper().startswith("INC-"):
            rows = self._all(_INCIDENT_BY_KEY, (ref.upper(),))
        elif ref.isdigit():
            rows = self._all(_INCIDENT_BY_NUMBER, (int(ref),))
        else:
            rows = self._all(_INCIDENT_BY_ID, (ref,))
        return incident_view(rows[0]) if rows else None

    # -- timeline -----------------------------------------------------------------------------
    def entries(self, incident_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[EntryRow]:
        """TimelineService.entries: the entries after `after_seq`, in the chain's order."""
        return [entry_row(r) for r in self._all(_ENTRIES_AFTER, (incident_id, after_seq, limit or _NO_LIMIT))]

    def last_entries(self, incident_id: str, count: int) -> list[EntryRow]:
        """The latest `count` entries, oldest first: the page a timeline opens on (its live edge)."""
        return [entry_row(r) for r in self._all(_LAST_ENTRIES, (incident_id, count))]

    def last_occurred(self, incident_id: str, count: int) -> list[EntryRow]:
        """The `count` entries that happened last, in order of occurrence: the page the console's timeline
        opens on (matching_seqs(order="occurred")'s tail, read whole)."""
        return [entry_row(r) for r in self._all(_LAST_OCCURRED, (incident_id, count))]

    def count(self, incident_id: str) -> int:
        return self._all(_ENTRY_COUNT, (incident_id,))[0][0]

    def last_seq(self, incident_id: str) -> int:
        return self._all(_LAST_SEQ, (incident_id,))[0][0] or 0

    def superseded_ids(self, incident_id: str) -> set[str]:
        return {r[0] for r in self._all(_SUPERSEDED, (incident_id,))}

    def seqs(self, incident_id: str, *, hide_superseded: bool = False) -> list[int]:
        """TimelineService.matching_seqs(incident_id, hide_superseded=...) in the chain's order."""
        if hide_superseded:
            return [r[0] for r in self._all(_VISIBLE_SEQS, (incident_id, incident_id))]
        return [r[0] for r in self._all(_ALL_SEQS, (incident_id,))]
