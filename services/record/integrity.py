"""Checks that the record is what was written: the hash chain, and the database file itself."""

from __future__ import annotations

import json
import platform
import sqlite3
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import NamedTuple

from sqlalchemy import inspect, select, text

from models.entities import CommsLogEntry, Incident, TimelineEntry
from models.migrations import SCHEMA_HEAD
from models.types import UTCDateTime
from services.comms.log import LOG_COLUMNS, LogRow, first_break
from services.errors import StoreError
from services.record.chain_heads import STAKEHOLDER_LOG, TIMELINE, head_problem, read_heads
from services.record.incidents import IncidentService
from services.record.replay import stored_state_problem
from services.record.timeline import GENESIS_HASH, digest_with_stored_times, entry_digest
from services.record.views import EntryRow

_T = TimelineEntry.__table__
_COLS = [_T.c[name] for name in EntryRow._fields]
_CL = CommsLogEntry.__table__
# The entries of one incident as stored (times as their text, data as its JSON), for SQLite's own driver.
_STORED_ENTRIES = f"SELECT {', '.join(EntryRow._fields)} FROM {_T.name} WHERE incident_id = ? ORDER BY seq"
_TIME = UTCDateTime()


class StoredEntry(NamedTuple):
    """What verify needs of an entry past its hash: the replay's kind, data, seq and body, the head's hash."""

    id: str
    seq: int
    kind: str
    body: str
    data: object
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    incident_key: str
    seq: int
    entry_id: str
    reason: str

    def __str__(self) -> str:
        if not self.entry_id:  # about the incident or its chain as a whole, not one entry
            return f"{self.incident_key}: {self.reason}"
        return f"{self.incident_key} entry #{self.seq} ({self.entry_id}): {self.reason}"


@dataclass(frozen=True)
class VerifyReport:
    incidents: int
    entries: int
    breaks: list[ChainBreak]
    log_entries: int = 0  # stakeholder log lines checked

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_rows(incident_key: str, rows: list[EntryRow]) -> ChainBreak | None:
    """The first place a chain of entries (in seq order) does not hold, or None."""
    prev = GENESIS_HASH
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return ChainBreak(incident_key, row.seq, row.id, f"entry #{expected_seq} is missing (deleted?)")
        if row.prev_hash != prev:
            return ChainBreak(
                incident_key, row.seq, row.id, "does not follow the entry before it (reordered or replaced)"
            )
        if entry_digest(prev, row._asdict()) != row.hash:
            return ChainBreak(incident_key, row.seq, row.id, "its content was changed after it was written")
        prev = row.hash
    return None


def verify_stored(incident_key: str, stored: list[tuple]) -> tuple[ChainBreak | None, list[StoredEntry]]:
    """`verify_rows` over entries as the database holds them (EntryRow's fields, times as text, data as
    JSON text): the first break or None, and the entries for the replay and the head check.

    Each digest is first made from the stored time texts as they are (the services store exactly the text
    the digest was made with); only a mismatch is checked again the reference way, the times read and
    written back, so an entry whose text differs only in form is not called changed. A match cannot be
    wrong: it would take a sha256 collision."""
    entries, rows = [], []
    for raw in stored:
        row = dict(zip(EntryRow._fields, raw, strict=True))
        if row["data"] is not None:
            row["data"] = json.loads(row["data"])
        rows.append(row)
        entries.append(StoredEntry(row["id"], row["seq"], row["kind"], row["body"], row["data"], row["hash"]))
    prev = GENESIS_HASH
    for expected_seq, row in enumerate(rows, start=1):
        if row["seq"] != expected_seq:
            return ChainBreak(incident_key, row["seq"], row["id"], f"entry #{expected_seq} is missing (deleted?)"), entries
        if row["prev_hash"] != prev:
            return ChainBreak(incident_key, row["seq"], row["id"],
                              "does not follow the entry before it (reordered or replaced)"), entries  # fmt: skip
        digest = digest_with_stored_times(prev, row)
        if digest != row["hash"]:
            as_read = {**row, "occurred_at": _TIME.process_result_value(row["occurred_at"], None),
                       "recorded_at": _TIME.process_result_value(row["recorded_at"], None)}  # fmt: skip
            if entry_digest(prev, as_read) != row["hash"]:
                return ChainBreak(incident_key, row["seq"], row["id"],
                                  "its content was changed after it was written"), entries  # fmt: skip
        prev = row["hash"]
    return None, entries


class IntegrityService:
    def __init__(self, store) -> None:
        self._store = store

    def verify(self, ref: str | None = None) -> VerifyReport:
        breaks: list[ChainBreak] = []
        entries = 0
        wanted = None
        if ref is not None:  # resolved first: an in-memory store has one connection, not two at once
            with self._store.read() as s:
                wanted = IncidentService._load(s, ref).id
        log_entries = 0
        with self._store.read_connection() as conn:
            stmt = select(Incident.__table__.c.id, Incident.__table__.c.key).order_by(
                Incident.__table__.c.number
            )
            incidents = conn.execute(stmt).all()
            if wanted is not None:
                incidents = [i for i in incidents if i[0] == wanted]
            heads = read_heads(conn) if self._store_has_heads(conn) else None
            # SQLite's own driver, the stored texts hashed as they are: ~3x faster over a million entries than
            # reading datetimes through SQLAlchemy and writing them back (docs/performance.md).
            driver = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
            for inc_id, key in incidents:
                if driver is not None:
                    problem, rows = verify_stored(key, driver.execute(_STORED_ENTRIES, (inc_id,)).fetchall())
                else:
                    rows = [
                        EntryRow(*r)
                        for r in conn.execute(select(*_COLS).where(_T.c.incident_id == inc_id).order_by(_T.c.seq))
                    ]
                    problem = verify_rows(key, rows)
                entries += len(rows)
                if problem:
                    breaks.append(problem)
                log_rows = [LogRow(*r) for r in conn.execute(
                    select(*LOG_COLUMNS).where(_CL.c.incident_id == inc_id).order_by(_CL.c.seq))]  # fmt: skip
                log_entries += len(log_rows)
                broken = first_break(log_rows)
                if broken:
                    row, reason = broken
                    breaks.append(ChainBreak(key, row.seq, row.id, f"stakeholder log line {reason}"))
                if heads is not None:
                    for chain, chain_rows, words in ((TIMELINE, rows, "timeline"), (STAKEHOLDER_LOG, log_rows, "stakeholder log")):
                        said = head_problem(words, heads.get((chain, inc_id)), chain_rows)
                        if said:
                            breaks.append(ChainBreak(key, 0, "", said))
                if not rows:
                    breaks.append(ChainBreak(key, 0, "", "it has no timeline at all (every entry was deleted)"))
                elif problem is None:
                    said = stored_state_problem(conn, inc_id, rows)
                    if said:
                        breaks.append(ChainBreak(key, 0, "", said))
        return VerifyReport(len(incidents), entries, breaks, log_entries)

    @staticmethod
    def _store_has_heads(conn) -> bool:
        """A store written before chain heads (opened read-only, not migrated) has none to check."""
        return "chain_heads" in inspect(conn).get_table_names()

    def doctor(self, paths: dict[str, str]) -> dict[str, object]:
        """Facts about this installation, for a support request or a bug report."""
        report: dict[str, object] = {
            "sitrep": _version("sitrep"),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "sqlalchemy": _version("SQLAlchemy"),
            "alembic": _version("alembic"),
            "pyside6": _version("PySide6-Essentials") or _version("PySide6"),
            "sqlite": sqlite3.sqlite_version,
            "database_url": _redact(self._store.url),
            "schema_revision": self._store.schema_revision(),
            "schema_expected": SCHEMA_HEAD,
            "paths": paths,
        }
        try:
            self._facts_from_the_file(report)
        except StoreError as err:  # a damaged file still gets its report, saying so
            report["integrity_check"] = [self._store.damaged or err.message]
        report["damaged"] = self._store.damaged
        try:
            import keyring

            report["keyring_backend"] = (
                type(keyring.get_keyring()).__module__ + "." + type(keyring.get_keyring()).__name__
            )
        except Exception as exc:  # keyring's discovery can fail in many environment-specific ways
            report["keyring_backend"] = f"unavailable ({type(exc).__name__})"
        return report

    def _facts_from_the_file(self, report: dict[str, object]) -> None:
        with self._store.read_connection() as conn:
            if self._store.is_sqlite:
                report["journal_mode"] = conn.execute(text("PRAGMA journal_mode")).scalar()
                report["synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                    conn.execute(text("PRAGMA synchronous")).scalar()
                )
                report["foreign_keys"] = bool(conn.execute(text("PRAGMA foreign_keys")).scalar())
                problems = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                report["integrity_check"] = "ok" if problems == ["ok"] else problems
                fk = conn.execute(text("PRAGMA foreign_key_check")).all()
                report["foreign_key_check"] = "ok" if not fk else [list(map(str, r)) for r in fk]
            report["incidents"] = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
            report["timeline_entries"] = conn.execute(text("SELECT count(*) FROM timeline_entries")).scalar()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _redact(url: str) -> str:
    """Never print a database password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
