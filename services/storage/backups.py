"""Backups of the store: taken on their own, kept within a budget, listed and restored.

A backup is taken when the store is opened and none was taken in the last day, before every schema
upgrade, before a restore, and when asked (`sitrep backup`). Each is a consistent copy made through
SQLite's backup API (never a file copy of a WAL database), named `<store>-<UTC time>-<reason>.db`.
Rotation keeps the newest few of each kind and stops at a size budget, oldest first, but never removes
the newest good copy. A restore checks the copy before it touches anything, keeps the current file as a
backup of its own (even a damaged one: it may still hold entries the copy lacks), then copies the backup
in through the same API, so a console that has the store open sees the restored store on its next read.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.errors import StoreError, ValidationError

log = logging.getLogger(__name__)

DAILY = timedelta(days=1)
KEEP = {"daily": 7, "manual": 10, "before-restore": 3}  # per reason; upgrades: KEEP_OTHER
KEEP_OTHER = 5
BUDGET_BYTES = 2 * 1024**3  # all backups together; the newest is kept whatever its size
_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}T\d{6}\d{6}Z)-(?P<reason>[a-z0-9-]+)\.db$")


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    taken_at: datetime
    reason: str
    size: int

    def as_dict(self) -> dict:
        return {"file": str(self.path), "taken_at": self.taken_at.isoformat(), "reason": self.reason,
                "size": self.size}  # fmt: skip


def stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def list_backups(backups_dir: Path | None, stem: str) -> list[BackupInfo]:
    """This store's backups, newest first."""
    if backups_dir is None or not backups_dir.is_dir():
        return []
    found = []
    for path in backups_dir.glob(f"{stem}-*.db"):
        m = _NAME.match(path.name)
        if not m or m["stem"] != stem:
            continue
        taken = datetime.strptime(m["stamp"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        try:
            size = path.stat().st_size
        except OSError:
            continue
        found.append(BackupInfo(path, taken, m["reason"], size))
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def daily_due(backups_dir: Path | None, stem: str, now: datetime) -> bool:
    newest = next(iter(list_backups(backups_dir, stem)), None)
    return newest is None or now - newest.taken_at >= DAILY


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API. Raises sqlite3.Error."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def rotate(backups_dir: Path | None, stem: str, *, budget: int = BUDGET_BYTES) -> list[Path]:
    """Remove what the policy does not keep; returns what was removed."""
    backups = list_backups(backups_dir, stem)
    keep: list[BackupInfo] = []
    seen: dict[str, int] = {}
    for b in backups:  # newest first
        kind = b.reason if b.reason in KEEP else "other"
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= KEEP.get(kind, KEEP_OTHER):
            keep.append(b)
    total = 0
    kept: list[BackupInfo] = []
    for i, b in enumerate(keep):
        if i > 0 and total + b.size > budget:
            continue
        total += b.size
        kept.append(b)
    removed = []
    kept_paths = {b.path for b in kept}
    for b in backups:
        if b.path not in kept_paths:
            try:
                b.path.unlink()
                removed.append(b.path)
            except OSError as exc:
                log.warning("could not remove old backup %s: %s", b.path, exc)
    return removed


def check_copy(path: Path) -> str | None:
    """Whether a backup is a whole, readable Sitrep store (None) or what is wrong with it."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                return f"it is damaged itself ({problems[0]})"
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'").fetchone()[0] != 1:
                return "it is not a Sitrep store"
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"it cannot be read ({exc})"
    return None


def resolve(backups_dir: Path | None, stem: str, which: str) -> Path:
    """A backup named by its file name, its path, or its number in `sitrep backup list` (1 = newest)."""
    backups = list_backups(backups_dir, stem)
    if which.isdigit():
        n = int(which)
        if not 1 <= n <= len(backups):
            raise ValidationError(f"There is no backup number {n}; `sitrep backup list` shows {len(backups)}.")
        return backups[n - 1].path
    path = Path(which)
    if not path.is_absolute() and backups_dir is not None and (backups_dir / path).exists():
        path = backups_dir / path
    if not path.is_file():
        raise ValidationError(f"No backup {which}. `sitrep backup list` shows the backups there are.")
    return path


def restore(backup: Path, database: Path, backups_dir: Path) -> Path | None:
    """Put `backup` in place of the store at `database`. Returns the backup made of what was there."""
    problem = check_copy(backup)
    if problem:
        raise StoreError(f"{backup.name} cannot be restored: {problem}. The store was left as it was.")
    kept = None
    if database.exists():
        backups_dir.mkdir(parents=True, exist_ok=True)
        kept = backups_dir / f"{database.stem}-{stamp(datetime.now(UTC))}-before-restore.db"
        try:
            copy_database(database, kept)
        except sqlite3.Error:
            # Too damaged for the backup API: keep its bytes as they are (nothing has it open for writing
            # that could be half-way, or the restore below would wait for it).
            kept = kept.with_suffix(".damaged")
            kept.write_bytes(database.read_bytes())
    try:
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(database, timeout=5)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        if "malformed" not in str(exc) and "not a database" not in str(exc):
            raise StoreError(f"The backup could not be restored ({exc}). The store was left as it was.") from None
        # The damaged file cannot be written page by page: replace it whole.
        _replace_file(backup, database)
    return kept


def _replace_file(backup: Path, database: Path) -> None:
    part = database.with_name(database.name + ".restoring")
    copy_database(backup, part)
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    part.replace(database)

