"""The local store: opening, migrating, backing up, and turning storage failures into words.

SQLite runs in WAL mode with synchronous=FULL (a committed timeline entry survives power loss)
and foreign keys on. Write transactions start with BEGIN IMMEDIATE so two writers queue on the
busy timeout instead of failing half-way; reads use a second engine with deferred transactions.

Logging a timeline entry is the one write a commander does dozens of times a minute, so it has its
own lane (`append_transaction`): one DBAPI connection kept open, statements sent straight to the
driver. Through SQLAlchemy the same commit cost 6-9x a bare INSERT + COMMIT (pool checkout, events,
statement caching: ~0.6 ms of Python around a ~0.1 ms fsync, see docs/performance.md).

Longer than 500 lines: opening, the write paths and what each failure means for the store (damage stops
writes, a full disk reads from a snapshot) are one lifecycle that reads best in one place; the mechanisms
themselves are in services/storage/backups.py and services/storage/store_health.py.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from models.entities import Base
from models.migrations import KNOWN_REVISIONS, MIGRATIONS_DIR, SCHEMA_HEAD
from services.errors import SchemaTooNew, StoreError
from services.storage.backups import copy_database, daily_due, rotate
from services.storage.backups import stamp as backup_stamp
from services.storage.read_lane import ReadLane, ReadLaneUnavailable
from services.storage.store_health import (
    clear_marker,
    disk_full,
    full_disk_message,
    quick_check,
    read_marker,
    small_enough_to_check,
    snapshot_for_reading,
    write_marker,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

# (fragment of the driver's message, what the user is told)
_STORAGE_FAILURES = (
    ("database is locked", "The database is busy in another program (locked). Nothing was saved; try again."),
    (
        "readonly database",
        "The database is read-only here. Nothing was saved. Check the data folder's permissions.",
    ),
    ("read-only", "The database is read-only here. Nothing was saved. Check the data folder's permissions."),
    (
        "unable to open database",
        "The database file cannot be opened. Check that the data folder exists and is writable.",
    ),
    ("file is not a database", "This file is not a Sitrep database (or it is damaged)."),
    ("database disk image is malformed", None),  # damage_message: the store stops writing, see store_health
    ("disk is full", "The disk is full. Nothing was saved; free some space and try again."),
    ("disk i/o error", "The disk reported an I/O error. Nothing was saved."),
)


def damage_message(finding: str) -> str:
    return (
        f"The database file is damaged ({finding[:200]}). Writing is stopped so nothing more is lost. "
        "`sitrep backup list` shows the backups in the data folder and `sitrep backup restore 1` puts the newest "
        "back (the damaged file is kept as a backup too); `sitrep export` may still save what can be read."
    )


def read_only_message(asked: bool) -> str:
    if asked:
        return "This store was opened read-only (--read-only), so nothing can be changed. Nothing was saved."
    return (
        "This store is read-only here (its file or folder cannot be written), so nothing can be changed. "
        "Nothing was saved. To work on it, copy the data folder somewhere writable or fix its permissions."
    )


def _cannot_write(path: Path) -> bool:
    """The file exists but this process may not write it, or (WAL) may not create files beside it."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def storage_error(exc: BaseException) -> StoreError:
    """Words for the user for an environment failure of the database."""
    detail = str(getattr(exc, "orig", exc)).lower()
    for fragment, message in _STORAGE_FAILURES:
        if fragment in detail:
            return StoreError(message or damage_message(detail))
    return StoreError(f"The database could not be used: {getattr(exc, 'orig', exc)}")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" hook decide how transactions start.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _make_engine(url: str, *, immediate: bool, single_connection: bool = False) -> Engine:
    engine = create_engine(url, poolclass=StaticPool) if single_connection else create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class AppendTransaction:
    """A write transaction (BEGIN IMMEDIATE) on the append lane: `execute` goes straight to sqlite3.

    All or nothing: leaving the `with` block by an exception rolls back, and storage failures leave
    it as StoreError in words. `connection()` gives a SQLAlchemy Connection on the same DBAPI
    connection, inside the same transaction, for entry hooks (written against SQLAlchemy); it is
    made only when asked for. A class rather than a @contextmanager: this runs on every entry logged.
    """

    __slots__ = ("_lane", "_sa", "execute")

    def __init__(self, lane: _AppendLane) -> None:
        self._lane = lane
        self._sa: Connection | None = None
        self.execute = lane.raw.execute

    def connection(self) -> Connection:
        if self._sa is None:
            self._sa = self._lane.engine.connect()
        return self._sa

    def connection_on_demand(self) -> ConnectionOnDemand:
        """What entry hooks get as `db`: most look at the entry and return without a query, and should
        not pay for a Connection (~30-60 us, a third of what the lane adds to a commit)."""
        return ConnectionOnDemand(self)

    def __enter__(self) -> AppendTransaction:
        self._lane.lock.acquire()
        try:
            self.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._lane.lock.release()
            raise self._lane.failed(exc) from None
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        raw = self._lane.raw
        try:
            if exc is None:
                try:
                    raw.execute("COMMIT")
                    return
                except sqlite3.Error as commit_failure:
                    exc = commit_failure
            if raw.in_transaction:
                try:
                    raw.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback on the append lane failed")
            if isinstance(exc, sqlite3.IntegrityError | IntegrityError):
                raise StoreError(
                    f"The change conflicts with what is stored ({getattr(exc, 'orig', exc)}). Nothing was saved."
                ) from None
            if isinstance(exc, sqlite3.Error | OperationalError | DatabaseError):
                raise self._lane.failed(exc) from None
        finally:
            if self._sa is not None:
                # Our COMMIT or ROLLBACK has ended the transaction; SQLAlchemy's own rollback on
                # close then finds none and does nothing (pool reset-on-return is off for this engine).
                self._sa.close()
                self._sa = None
            self._lane.lock.release()


class ConnectionOnDemand:
    """Stands for the append's SQLAlchemy Connection and makes it on first use (`db.execute(...)`,
    `db.dialect`, ...). Same transaction, same rules: see AppendTransaction.connection."""

    __slots__ = ("_txn", "raw_execute")

    def __init__(self, txn: AppendTransaction) -> None:
        self._txn = txn
        # sqlite3's execute in the same transaction, for a hook's prebuilt statements (the outbox writer):
        # no Connection is made for them.
        self.raw_execute = txn.execute

    def __getattr__(self, name: str):
        return getattr(self._txn.connection(), name)


class _AppendLane:
    """One long-lived sqlite3 connection in autocommit mode; we issue BEGIN IMMEDIATE / COMMIT ourselves.

    Several threads may log (the GUI, a sync worker), so a lock serialises the lane; other writers
    (the SQLAlchemy pool) queue on SQLite's own lock and the busy timeout, as any two writers do.
    """

    def __init__(self, url: str, path: Path, failed=storage_error) -> None:
        self.failed = failed  # words for a failure, and what it says about the store (Store.failed)
        raw = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA synchronous=FULL")
            self.engine = create_engine(
                url, creator=lambda: raw, poolclass=StaticPool, pool_reset_on_return=None
            )
            # SQLAlchemy's first connect initialises the dialect and then rolls back: let that happen
            # now, outside any transaction, not inside the first append that hands a hook a connection.
            self.engine.connect().close()
        except BaseException:
            raw.close()
            raise
        self.raw = raw
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.engine.dispose()
            self.raw.close()


def sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :].split("?", 1)[0])
    return None


class Store:
    """Engines and sessions for one database. Build with `Store.open(url, data_dir)`."""

    def __init__(
        self, url: str, backups_dir: Path | None, *, read_only: bool = False, read_only_asked: bool = False,
        full_disk: bool = False,
    ) -> None:
        self.url = url
        self.backups_dir = backups_dir
        self.path = sqlite_path(url)
        self.is_sqlite = url.startswith("sqlite")
        self.full_disk = full_disk  # read from a snapshot: see store_health.snapshot_for_reading
        self.read_only = read_only or read_only_asked or full_disk
        self.read_only_asked = read_only_asked
        self.damaged: str | None = None  # what a check or SQLite found wrong with the file; writes stop
        self._snapshot: Path | None = None  # a temporary copy read while the disk is full
        if full_disk and self.path is not None:
            url = snapshot_for_reading(self.path)
            if not url.startswith("sqlite:///file:"):
                self._snapshot = sqlite_path(url).parent
        elif read_only and self.path is not None:
            # mode=ro never writes; a WAL store whose -shm cannot be made here is read as immutable
            # (nothing here can change it, and a process that could would have to own the folder).
            shm = self.path.with_name(self.path.name + "-shm")
            flags = "mode=ro" + ("" if shm.exists() else "&immutable=1")
            url = f"sqlite:///file:{self.path}?{flags}&uri=true"
        # An in-memory SQLite database lives and dies with its one connection: everyone shares it.
        self.in_memory = self.is_sqlite and make_url(url).database in (None, "", ":memory:")
        self.writer = _make_engine(url, immediate=True, single_connection=self.in_memory)
        if self.is_sqlite and not self.in_memory:
            self.reader = _make_engine(url, immediate=False)
        else:
            self.reader = self.writer
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)
        self.last_backup: Path | None = None
        # Run inside every timeline append's transaction: (db, entry) -> None. See services.record.timeline.
        self.entry_hooks: list = []
        self._append_lane: _AppendLane | None = None
        self._append_lane_guard = threading.Lock()
        self._read_lanes = threading.local()
        self._open_read_lanes: list[ReadLane] = []

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, backups_dir: Path | None = None, *, read_only: bool = False) -> Store:
        path = sqlite_path(url)
        if read_only and (path is None or not path.exists()):
            raise StoreError("Only an existing SQLite store file can be opened read-only.")
        if path is not None:
            if not path.parent.is_dir():
                raise StoreError(f"The data folder {path.parent} does not exist.")
            if path.is_dir():
                raise StoreError(f"{path} is a folder, not a database file.")
            if path.exists() and path.stat().st_size > 0:
                with path.open("rb") as fh:
                    if fh.read(16) != b"SQLite format 3\x00":
                        raise StoreError(
                            f"{path} is not a Sitrep database (it is not an SQLite file). It was left untouched."
                        )
        cannot_write = path is not None and _cannot_write(path)
        full = disk_full(path)
        try:
            store = cls(url, backups_dir, read_only=cannot_write, read_only_asked=read_only, full_disk=full)
        except ArgumentError:
            # The driver's message repeats the URL, and a URL may carry a password: say it in our words.
            raise StoreError(
                "The database URL is not one Sitrep can use. Use e.g. sqlite:////path/to/sitrep.db "
                "or postgresql+psycopg://user@host/dbname."
            ) from None
        except ImportError as exc:
            raise StoreError(
                f"The driver for this database is not installed (Python module '{exc.name}')."
            ) from None
        try:
            store._prepare_schema()
            if not store.read_only and path is not None:
                store._check_health()
                store._daily_backup()
        except BaseException:
            store.close()
            raise
        return store

    def _check_health(self) -> None:
        """Damage found before anything more is written into the file (store_health)."""
        noted = read_marker(self.path)
        if noted is not None or small_enough_to_check(self.path):
            finding = quick_check(self.path)
            if finding is None and noted is not None:
                clear_marker(self.path)  # replaced or repaired since
                log.info("%s was noted as damaged and checks whole now", self.path)
            elif finding is not None:
                self._note_damage(finding)

    def _note_damage(self, finding: str) -> None:
        if self.damaged is None and self.path is not None:
            log.error("the store %s is damaged: %s; writes stop", self.path, finding)
            write_marker(self.path, finding)
        self.damaged = self.damaged or finding

    def _daily_backup(self) -> None:
        """A backup when the store is opened and none was taken in the last day (only of a store that
        holds something: a new, empty one has nothing to lose)."""
        if self.damaged or self.backups_dir is None or not daily_due(self.backups_dir, self.path.stem, datetime.now(UTC)):
            return
        with self.reader.connect() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM incidents LIMIT 1").first() is None:
                return
        try:
            self.backup(reason="daily")
        except StoreError as err:  # a failed daily copy must not stop the day's work: say so in the log
            log.warning("daily backup failed: %s", err)

    def failed(self, exc: BaseException) -> StoreError:
        """Words for a storage failure, and what it tells about the store (damage: writes stop)."""
        detail = str(getattr(exc, "orig", exc))
        lowered = detail.lower()
        if "malformed" in lowered:
            self._note_damage(detail)
            return StoreError(damage_message(detail))
        if ("disk i/o error" in lowered or "disk is full" in lowered) and disk_full(self.path):
            return StoreError(full_disk_message(self.path))
        return storage_error(exc)

    def refusal(self) -> str | None:
        """Why nothing can be written now, or None."""
        if self.damaged:
            return damage_message(self.damaged)
        if self.full_disk:
            return full_disk_message(self.path)
        if self.read_only:
            return read_only_message(self.read_only_asked)
        return None

    def read_lane(self) -> ReadLane | None:
        """This thread's read lane (plain sqlite3, services/storage/read_lane.py) for the reads that run at
        every live append, or None where it cannot serve (not a local SQLite file at this schema, read-only,
        a full disk's snapshot): the caller reads through SQLAlchemy then, with the same meaning."""
        if not self.is_sqlite or self.in_memory or self.path is None or self.read_only or self._snapshot:
            return None
        lane = getattr(self._read_lanes, "lane", None)
        if lane is None and not getattr(self._read_lanes, "refused", False):
            try:
                lane = self._read_lanes.lane = ReadLane(self.path, SCHEMA_HEAD)
            except ReadLaneUnavailable:
                self._read_lanes.refused = True
                return None
            with self._append_lane_guard:
                self._open_read_lanes.append(lane)
        return lane

    def close(self) -> None:
        with self._append_lane_guard:
            for lane in self._open_read_lanes:
                lane.close()
            self._open_read_lanes.clear()

            if self._append_lane is not None:
                self._append_lane.close()
                self._append_lane = None
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
        if self._snapshot is not None:
            shutil.rmtree(self._snapshot, ignore_errors=True)

    def schema_revision(self) -> str | None:
        try:
            with self.reader.connect() as conn:
                tables = self._table_names(conn)
                if "alembic_version" not in tables:
                    if tables - {"sqlite_sequence"}:
                        raise StoreError(
                            "This database has tables but no Sitrep schema version; it is not a Sitrep database. "
                            "It was left untouched."
                        )
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, DatabaseError) as exc:
            raise self.failed(exc) from None

    def _table_names(self, conn: Connection) -> set[str]:
        from sqlalchemy import inspect

        return set(inspect(conn).get_table_names())

    def _prepare_schema(self) -> None:
        current = self.schema_revision()
        if self.read_only:
            if current is not None and current not in KNOWN_REVISIONS:
                raise SchemaTooNew(
                    f"This database was written by a newer Sitrep (schema {current}; this version knows up to "
                    f"{SCHEMA_HEAD}). It was left untouched. Upgrade Sitrep to read it."
                )
            if current != SCHEMA_HEAD:
                why = "was asked to be opened read-only" if self.read_only_asked else "cannot be written here"
                fix = ("Open it once without --read-only" if self.read_only_asked
                       else "Copy the data folder somewhere writable")  # fmt: skip
                raise StoreError(
                    f"{self.path} {why}, and it needs its schema brought to this version of Sitrep "
                    f"({current or 'none'} → {SCHEMA_HEAD}) before it can be read. It was left untouched. "
                    f"{fix} to upgrade it."
                )
            log.warning("%s is not writable here: opened read-only", self.path)
            return
        if current == SCHEMA_HEAD:
            self._enable_wal()
            return
        if current is not None and current not in KNOWN_REVISIONS:
            raise SchemaTooNew(
                f"This database was written by a newer Sitrep (schema {current}; this version knows up to "
                f"{SCHEMA_HEAD}). It was left untouched. Upgrade Sitrep to open it."
            )
        self._enable_wal()
        if current is None and self.is_sqlite:
            self._create_at_head()
            return
        if current is not None:
            self.last_backup = self.backup(reason=f"before-upgrade-from-{current}")
        self._upgrade()

    def _create_at_head(self) -> None:
        """A new SQLite store is made from the models and stamped at the head: the same schema as replaying
        every migration (tests/test_store_creation.py compares the two), without importing Alembic and
        running a dozen revisions at a first start or a `--demo`."""
        try:
            with self.writer.begin() as conn:
                Base.metadata.create_all(conn)
                conn.exec_driver_sql(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
                conn.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES (?)", (SCHEMA_HEAD,))
        except (OperationalError, DatabaseError) as exc:
            raise self.failed(exc) from None
        log.info("new database created at schema %s", SCHEMA_HEAD)

    def _enable_wal(self) -> None:
        if not self.is_sqlite or self.path is None:
            return
        try:
            raw = (
                self.writer.raw_connection()
            )  # outside any transaction: journal_mode cannot change inside one
            try:
                cur = raw.cursor()
                mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                cur.close()
            finally:
                raw.close()
        except (OperationalError, DatabaseError, sqlite3.Error) as exc:
            raise self.failed(exc) from None
        if str(mode).lower() != "wal":
            log.warning("journal_mode is %s, not wal (file system without shared memory?)", mode)

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        try:
            with self.writer.connect() as conn:
                # A batch migration rebuilds a table (copy, drop, rename). With foreign keys on, dropping a
                # table that timeline entries reference fails, so the very first such migration would refuse
                # every populated database. SQLite ignores this pragma inside a transaction: it is switched
                # off before the migration's transaction, and the keys are checked before it commits.
                self._set_foreign_keys(conn, on=False)
                try:
                    with conn.begin():
                        cfg.attributes["connection"] = conn
                        command.upgrade(cfg, "head")
                        self._check_foreign_keys(conn)
                finally:
                    self._set_foreign_keys(conn, on=True)
        except (OperationalError, DatabaseError) as exc:
            raise self.failed(exc) from None
        log.info("database schema now at %s", SCHEMA_HEAD)

    def _set_foreign_keys(self, conn: Connection, *, on: bool) -> None:
        if self.is_sqlite:
            # On the driver connection: through SQLAlchemy it would open a transaction first.
            conn.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")

    def _check_foreign_keys(self, conn: Connection) -> None:
        if not self.is_sqlite:
            return
        dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if dangling:
            tables = ", ".join(sorted({str(row[0]) for row in dangling}))
            raise StoreError(
                f"The schema upgrade would leave rows pointing at nothing (in {tables}); it was rolled back "
                "and the database is as it was."
            )

    # -- backups -------------------------------------------------------------------------
    def backup(self, reason: str = "manual") -> Path | None:
        """A consistent one-step copy through SQLite's backup API (never a file copy of a WAL db), then
        the backups rotated (services/storage/backups.py)."""
        if self.path is None or self.backups_dir is None or not self.path.exists():
            return None
        target = self.backups_dir / f"{self.path.stem}-{backup_stamp(datetime.now(UTC))}-{reason}.db"
        try:
            self.backups_dir.mkdir(parents=True, exist_ok=True)
            copy_database(self.path, target)
        except (sqlite3.Error, OSError) as exc:
            target.unlink(missing_ok=True)
            why = full_disk_message(self.path) if disk_full(target) else str(exc)
            if reason.startswith("before-"):
                raise StoreError(f"Could not back up the database before changing it ({why}). Nothing was changed.") from None
            raise StoreError(f"Could not back up the database ({why}). The store itself is as it was.") from None
        log.info("backed up %s to %s", self.path, target)
        rotate(self.backups_dir, self.path.stem)
        return target

    # -- sessions ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: all or nothing. Storage failures become StoreError."""
        refused = self.refusal()
        if refused:
            raise StoreError(refused)
        session = self._write_sessions()
        try:
            with session.begin():
                yield session
        except IntegrityError as exc:
            raise StoreError(
                f"The change conflicts with what is stored ({exc.orig}). Nothing was saved."
            ) from None
        except (OperationalError, DatabaseError) as exc:
            raise self.failed(exc) from None
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._read_sessions()
        try:
            with session.begin():
                yield session
        except (OperationalError, DatabaseError) as exc:
            raise self.failed(exc) from None
        finally:
            session.close()

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core write transaction, for the hot paths (timeline append)."""
        refused = self.refusal()
        if refused:
            raise StoreError(refused)
        try:
            with self.writer.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise StoreError(
                f"The change conflicts with what is stored ({exc.orig}). Nothing was saved."
            ) from None
        except (OperationalError, DatabaseError) as exc:
            raise self.failed(exc) from None

    @property
    def has_append_lane(self) -> bool:
        """A file SQLite store has the fast lane; other databases (and a read-only store, whose
        write_connection says why it cannot) log through `write_connection`."""
        return (self.is_sqlite and self.path is not None and not self.in_memory and not self.read_only
                and not self.damaged)  # fmt: skip

    def append_transaction(self) -> AppendTransaction:
        """`with store.append_transaction() as txn:` a write transaction on the append lane."""
        return AppendTransaction(self._lane())

    def _lane(self) -> _AppendLane:
        lane = self._append_lane
        if lane is None:
            if not self.has_append_lane:
                raise RuntimeError("append_transaction needs a file SQLite store; use write_connection")
            with self._append_lane_guard:
                if self._append_lane is None:
                    try:
                        self._append_lane = _AppendLane(self.url, self.path, self.failed)
                    except (sqlite3.Error, OperationalError, DatabaseError) as exc:
                        raise self.failed(exc) from None
                lane = self._append_lane
        return lane

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        try:
            with self.reader.connect() as conn:
                yield conn
        except (OperationalError, DatabaseError) as exc:
            raise self.failed(exc) from None
