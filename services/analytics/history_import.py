"""Importing incident histories: a CSV with a column mapping, a Statuspage `incidents.json`, or a Sitrep export.

What holds for every format:
- each imported incident is marked with its source and carries an external reference (`external_ref`), so
  importing the same file again finds it and changes nothing;
- a bad row is reported with file, row and reason, and the good rows still import (in one transaction);
- each incident gets a real timeline (a declaration entry, and for Statuspage one entry per status update),
  hash-chained exactly as `services.record.timeline.append_entry` chains it, so `sitrep verify` holds.

The rows are written with Core executemany, not the ORM, because a history is thousands of incidents.
Store entry hooks (the sync outbox) are deliberately not run, as for `sitrep import`: years of history are not
news the backends are owed.

Longer than ~500 lines: three formats share one checked, chained, single-transaction write path; split by
format it would spread that path over modules that each need all of it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import column as sql_column
from sqlalchemy import func, insert, select
from sqlalchemy import table as sql_table

from models import metric_durations
from models.entities import Incident, TimelineEntry
from models.enums import Milestone
from models.milestone_numbers import is_derived, num_column, number_sql
from models.types import iso
from services.analytics.history_csv import CsvHistory
from services.analytics.history_mapping import CSV_FIELDS, ColumnMapping
from services.analytics.history_rows import (
    Candidate,
    HistoryReport,
    Progress,
    RowProblem,
    no_progress,
    parse_history_time,
    read_json,
    zone,
)
from services.analytics.history_statuspage import StatuspageHistory
from services.changes import Topic
from services.errors import ImportFailure, StoreError, ValidationError
from services.record.catalog import UNKNOWN_SEVERITY, Catalog
from services.record.chain_heads import advance_heads_of
from services.record.timeline import GENESIS_HASH, _clean_author, entry_digest
from services.storage.store import storage_error

# Re-exported: what callers of the import take from here.
__all__ = [
    "CSV_FIELDS",
    "FIRST_UPDATE_MEANS",
    "FORMATS",
    "ColumnMapping",
    "HistoryImport",
    "HistoryReport",
    "RowProblem",
    "parse_history_time",
    "zone",
]

FORMATS = ("csv", "statuspage", "sitrep")
FIRST_UPDATE_MEANS = ("declared", "detected")  # what a Statuspage incident's first update stands for

_I = Incident.__table__
_T = TimelineEntry.__table__
_CHUNK = 1000


# -- the service ------------------------------------------------------------------------------------------
class HistoryImport:
    def __init__(self, store, catalog: Catalog, now: Callable[[], datetime], publish, exchange) -> None:
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        self._exchange = exchange

    def detect_format(self, path: Path) -> str:
        return self._detect(Path(path))[0]

    @staticmethod
    def _detect(path: Path) -> tuple[str, Any]:
        """The file's format and, for JSON, the parsed document (a large file is not parsed twice)."""
        if path.suffix.lower() in (".csv", ".tsv", ".txt"):
            return "csv", None
        doc = read_json(path)
        if isinstance(doc, dict) and doc.get("format") == "sitrep.export":
            return "sitrep", doc
        if isinstance(doc, dict) and isinstance(doc.get("incidents"), list):
            return "statuspage", doc
        raise ImportFailure(f"{path}: cannot tell what this file is; say --format csv, statuspage or sitrep.")

    def import_file(
        self,
        path: Path | str,
        *,
        author: str,
        format: str | None = None,
        mapping: ColumnMapping | None = None,
        timezone: str | None = None,
        dry_run: bool = False,
        progress: Progress = no_progress,
        first_update: str = "declared",
    ) -> HistoryReport:
        """`first_update` says what a Statuspage incident's first update was: its declaration (the page
        is where it was declared) or its detection (declared elsewhere, or never)."""
        path = Path(path)
        author = _clean_author(author)
        if first_update not in FIRST_UPDATE_MEANS:
            raise ValidationError(
                f"The first update is one of {', '.join(FIRST_UPDATE_MEANS)}, not '{first_update}'.",
                field="first_update",
            )
        fmt, doc = (format, None) if format else self._detect(path)
        fmt = fmt.strip().lower()
        if fmt not in FORMATS:
            raise ValidationError(
                f"Unknown format '{fmt}'. Use one of: {', '.join(FORMATS)}.", field="format"
            )
        if fmt == "sitrep":
            return self._import_sitrep(path, dry_run)
        if mapping and mapping.default_severity and mapping.default_severity.lower() != UNKNOWN_SEVERITY:
            mapping.default_severity = self._catalog.severity(mapping.default_severity).id
        tz_name = timezone or (mapping.timezone if mapping else None)
        tz = zone(tz_name)
        if fmt == "csv":
            report, candidates = CsvHistory(self._catalog, self._now).read(
                path, mapping or ColumnMapping(), tz, progress
            )
        else:
            report, candidates = StatuspageHistory(self._catalog, self._now).read(
                path, tz, progress, first_update, doc if fmt == "statuspage" else None
            )
        report.dry_run = dry_run
        self._write(report, candidates, author, dry_run, progress)
        if report.changed:
            self._publish(Topic.INCIDENT, None, None)
        return report

    # -- Sitrep's own export ------------------------------------------------------------------------------
    def _import_sitrep(self, path: Path, dry_run: bool) -> HistoryReport:
        if dry_run:
            raise ValidationError("--dry-run is for CSV and Statuspage files; `sitrep import` validates a Sitrep "
                                  "export completely before writing anything.")  # fmt: skip
        result = self._exchange.import_file(path)
        report = HistoryReport(str(path), "sitrep", "sitrep")
        report.created = list(result.created)
        report.unchanged = len(result.unchanged) + len(result.extended)
        report.rows = len(result.created) + len(result.unchanged) + len(result.extended)
        return report

    # -- writing ------------------------------------------------------------------------------------------
    def _write(
        self,
        report: HistoryReport,
        candidates: list[Candidate],
        author: str,
        dry_run: bool,
        progress: Progress,
    ) -> None:
        if not candidates:
            return
        now = self._now()
        now_text = iso(now)
        with self._store.write_connection() as conn:
            existing: set[str] = set()
            refs = [c.external_ref for c in candidates]
            for i in range(0, len(refs), 500):
                chunk = refs[i : i + 500]
                existing.update(
                    conn.execute(select(_I.c.external_ref).where(_I.c.external_ref.in_(chunk))).scalars()
                )
            fresh = [c for c in candidates if c.external_ref not in existing]
            report.unchanged = len(candidates) - len(fresh)
            name = Path(report.file).name
            report.flagged = [RowProblem(name, c.row, c.flag_text) for c in fresh if c.flagged_pairs]
            number = (conn.execute(select(func.max(_I.c.number))).scalar() or 0) + 1
            first_number = number
            total = len(fresh)
            bulk = not dry_run and conn.dialect.name == "sqlite" and total > 0
            if bulk:
                _hold_durations(conn)
            for start in range(0, total, _CHUNK):
                batch = fresh[start : start + _CHUNK]
                ids = _new_ids(len(batch) + sum(len(c.entries) for c in batch))
                incident_rows: list[dict[str, Any]] = []
                entry_rows: list[dict[str, Any]] = []
                for cand in batch:
                    key = f"INC-{number:04d}"
                    incident_id = next(ids)
                    incident_rows.append(_incident_row(cand, incident_id, number, key, now_text))
                    entry_rows.extend(_chain(incident_id, cand, author, now, now_text, ids))
                    report.created.append(key)
                    number += 1
                if not dry_run:
                    _insert_stored(conn, _I_INSERT, _I_NAMES, incident_rows)
                    _insert_stored(conn, _T_INSERT, _T_NAMES, entry_rows)
                    advance_heads_of(conn, entry_rows)
                progress("writing", min(start + _CHUNK, total), total)
            if bulk:
                _fill_durations(conn, first_number)


# The rows below already hold what is stored (UTC text, JSON text, 0/1), so they go to the driver as
# tuples, inside the same transaction: Core's executemany spends ~15 us per row turning each dict into
# parameters, which at 30,000 rows was a fifth of an import.
_I_NAMES = tuple(c.name for c in _I.columns if not is_derived(c))
_T_NAMES = tuple(c.name for c in _T.columns)
# Each milestone's number is computed from its text in the INSERT itself (?N binds the text again), so the
# numbers' trigger, which would UPDATE every row just written, has nothing to do (models/milestone_numbers.py).
_I_NUMBERS = {num_column(m): number_sql(f"?{_I_NAMES.index(m.column) + 1}") for m in Milestone}
_I_INSERT = (
    f"INSERT INTO {_I.name} ({', '.join((*_I_NAMES, *_I_NUMBERS))}) "
    f"VALUES ({', '.join((*(f'?{k}' for k in range(1, len(_I_NAMES) + 1)), *_I_NUMBERS.values()))})"
)
_T_INSERT = f"INSERT INTO {_T.name} ({', '.join(_T_NAMES)}) VALUES ({', '.join('?' * len(_T_NAMES))})"


def _insert_stored(conn, sql: str, names: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name != "sqlite":  # another driver has its own parameter style: let Core speak it
        stored = sql_table(_I.name if names is _I_NAMES else _T.name, *(sql_column(n) for n in names))
        conn.execute(insert(stored), rows)
        return
    try:
        # Every row names every column (a new column the import forgets fails its tests, not silently NULL).
        conn.connection.driver_connection.executemany(sql, map(itemgetter(*names), rows))
    except sqlite3.IntegrityError as exc:  # the driver's own errors: SQLAlchemy is not there to wrap them
        raise StoreError(f"The change conflicts with what is stored ({exc}). Nothing was saved.") from None
    except sqlite3.Error as exc:
        raise storage_error(exc) from None


def _hold_durations(conn) -> None:
    """The durations index (models/metric_durations.py) is written for the whole import at once after its
    incidents, set-wise: its trigger, which would write it incident by incident, is dropped for the length of
    this transaction and created again before it commits, so no other writer ever runs without it."""
    _execute_stored(conn, f"DROP TRIGGER IF EXISTS {metric_durations.INSERT_TRIGGER}")


def _fill_durations(conn, first_number: int) -> None:
    for sql in metric_durations.fill_statements(f"i.number >= {int(first_number)}"):
        _execute_stored(conn, sql)
    _execute_stored(conn, metric_durations.insert_trigger_statement())


def _execute_stored(conn, sql: str) -> None:
    try:
        conn.connection.driver_connection.execute(sql)
    except sqlite3.Error as exc:
        raise storage_error(exc) from None


_MILESTONE_COLUMNS = tuple((m.value, m.column) for m in Milestone)


def _new_ids(count: int) -> Iterator[str]:
    """Random (version 4) UUIDs, from one read of the system's random source instead of one per id."""
    pool = bytearray(os.urandom(16 * count))
    # The version (4) and variant (RFC 4122) bits, set as uuid.UUID(version=4) sets them, for every id at once.
    pool[6::16] = bytes((b & 0x0F) | 0x40 for b in pool[6::16])
    pool[8::16] = bytes((b & 0x3F) | 0x80 for b in pool[8::16])
    text = pool.hex()
    for k in range(0, 32 * count, 32):
        h = text[k : k + 32]
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _incident_row(cand: Candidate, incident_id: str, number: int, key: str, now_text: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": incident_id,
        "number": number,
        "key": key,
        "title": cand.title,
        "summary": cand.summary,
        "incident_type": cand.incident_type,
        "severity": cand.severity,
        "status": cand.status.value,
        "is_major": int(cand.is_major),
        "is_exercise": int(cand.is_exercise),
        "services": json.dumps(cand.services),
        "affected_users": cand.affected_users,
        "error_rate_pct": None,
        "source": cand.source,
        "external_ref": cand.external_ref,
        "created_at": now_text,
        "updated_at": now_text,
        "flagged_pairs": json.dumps(cand.flagged_pairs),
    }
    text = cand.milestone_text
    for name, col in _MILESTONE_COLUMNS:
        row[col] = text.get(name)
    return row


def _chain(
    incident_id: str, cand: Candidate, author: str, now: datetime, now_text: str, ids: Iterator[str]
) -> Iterator[dict[str, Any]]:
    """A new incident's timeline, hashed entry by entry by the same function append_entry uses."""
    prev = GENESIS_HASH
    source = f"import:{cand.source}"
    for seq, e in enumerate(cand.entries, start=1):
        row: dict[str, Any] = {
            "id": next(ids),
            "incident_id": incident_id,
            "seq": seq,
            "kind": e.kind.value,
            "body": e.body,
            "rationale": None,
            "author": author,
            "source": source,
            "occurred_at": e.occurred_at,
            "recorded_at": now,
            "data": e.data,
            "supersedes_id": None,
            "prev_hash": prev,
        }
        row["hash"] = prev = entry_digest(prev, row)
        row["occurred_at"] = e.occurred_text or iso(e.occurred_at)
        row["recorded_at"] = now_text
        row["data"] = json.dumps(e.data) if e.data is not None else None
        yield row
