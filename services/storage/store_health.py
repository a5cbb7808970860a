"""The store's disk and file in trouble: damage found early, a full disk named, reading kept possible.

Damage: SQLite reports a corrupted page only when something reads it, so a store with a bad page went
on accepting entries while `integrity_check` failed. The store is checked when it is opened (cheaply:
`quick_check` on a store of ordinary size) and whenever SQLite reports damage; from then on writes are
refused, so nothing more is written into a file that is losing it, until a backup is restored. The
finding is kept beside the store (`<store>.damaged`), so the next process knows without reading every page.

A full disk: a WAL store's readers need its -shm file, which cannot be made or grown on a full disk, so
every command (even `--read-only list`) failed with "disk I/O error". The store is then read from a
snapshot of its file and WAL on another file system (or, with an empty WAL, read in place as immutable),
and writes are refused naming the cause.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

# quick_check reads every page: ~10 ms per MB here. Above this, the open-time check is left to the daily
# backup (which reads every page anyway) and to SQLite's reports of damage.
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024
# Below this much free space, an I/O error is taken to be the full disk.
FULL_DISK_BYTES = 64 * 1024


def marker(path: Path) -> Path:
    return path.with_name(path.name + ".damaged")


def read_marker(path: Path) -> str | None:
    try:
        return marker(path).read_text(encoding="utf-8").strip() or "damaged"
    except OSError:
        return None


def write_marker(path: Path, finding: str) -> None:
    try:
        marker(path).write_text(finding + "\n", encoding="utf-8")
    except OSError as exc:  # a full or read-only disk: the finding holds for this process anyway
        log.warning("could not note the damage beside %s: %s", path, exc)


def clear_marker(path: Path) -> None:
    marker(path).unlink(missing_ok=True)


def quick_check(path: Path) -> str | None:
    """The first problem `PRAGMA quick_check` finds in the file (read-only), or None."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            return str(exc)
        return None  # busy, I/O: not a finding about the file's content
    return None if problems == ["ok"] else "; ".join(problems)


def small_enough_to_check(path: Path) -> bool:
    try:
        return path.stat().st_size <= QUICK_CHECK_MAX_BYTES
    except OSError:
        return False


def free_bytes(path: Path) -> int | None:
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def disk_full(path: Path | None) -> bool:
    if path is None:
        return False
    free = free_bytes(path)
    return free is not None and free < FULL_DISK_BYTES


def full_disk_message(path: Path) -> str:
    return (
        f"The disk holding {path.parent} is full ({free_bytes(path) or 0:,} bytes free). Nothing was saved; "
        "free some space and try again. Reading still works."
    )


def snapshot_for_reading(path: Path) -> str:
    """A SQLite URL to read the store from while its disk is full.

    With an empty WAL the file itself holds everything: read in place, immutable (no -shm needed).
    Otherwise the committed entries may sit in the WAL: the file and its WAL are copied to a temporary
    folder on another file system and read there.
    """
    wal = path.with_name(path.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true"
    room = tempfile.mkdtemp(prefix="sitrep-full-disk-")
    copy = Path(room) / path.name
    try:
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    except OSError:
        shutil.rmtree(room, ignore_errors=True)
        raise
    return f"sqlite:///{copy}"
