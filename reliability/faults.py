"""Store faults: a read-only folder, a full disk (a small tmpfs, where this process may mount one), a
corrupted page, a store from a newer Sitrep. Each must be answered with its true cause, reading must
work where it can, and the advice given must be advice that works.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from reliability.common import Figure, Size, internal_error, sitrep
from services.core import Sitrep

# Root ignores chmod; the tests' way of making a read-only folder real for a child process.
from tests.test_store import _give_up_overriding_file_permissions as _obey_file_modes


def _seeded(data: Path, entries: int = 40) -> None:
    """A store made by the real CLI, then filled in this process (the filling is not what is tested)."""
    data.mkdir(parents=True, exist_ok=True)
    res = sitrep(data, "declare", "Checkout: payments failing", "-s", "SEV2")
    assert res.returncode == 0, res.stderr
    app = Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", backups_dir=data / "backups")
    try:
        inc = app.incidents.get("INC-0001")
        for i in range(entries):
            app.timeline.log(inc.id, f"Observation {i}: " + "errors climbing " * 20, author="reliability")
    finally:
        app.close()


class _Check:
    def __init__(self, fig: Figure, fault: str) -> None:
        self.fig, self.fault = fig, fault

    def expect(self, what: str, res: subprocess.CompletedProcess, rc: int, *words: str) -> None:
        self.fig.runs += 1
        said = res.stdout + res.stderr
        if internal_error(res):
            self.fig.internal_errors += 1
            self.fig.missed.append(f"{self.fault}: {what}: internal error: {res.stderr.strip()[-200:]}")
        elif res.returncode == rc and all(w in said for w in words):
            self.fig.caught += 1
            if rc:
                last = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1]
                self.fig.notes.append(f"{self.fault}: {what}: rc {rc}: {last[:170]}")
        else:
            self.fig.missed.append(f"{self.fault}: {what}: rc {res.returncode} (wanted {rc} saying {words}): {said.strip()[-300:]}")


def _read_only(fig: Figure, work: Path) -> None:
    data = work / "read-only"
    _seeded(data, 3)
    modes = [(p, p.stat().st_mode) for p in [data, *data.rglob("*")]]
    for p, _ in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        check = _Check(fig, "read-only folder")
        run = lambda *a: sitrep(data, *a, preexec_fn=_obey_file_modes if os.geteuid() == 0 else None)  # noqa: E731
        check.expect("list", run("list"), 0, "INC-0001")
        check.expect("log", run("log", "INC-0001", "x"), 4, "read-only here")
        check.expect("a manual backup", run("backup"), 4, "Could not back up the database (", "store itself is as it was")
    finally:
        for p, mode in reversed(modes):
            p.chmod(mode)


def _full_disk(fig: Figure, work: Path) -> None:
    mount = Path(tempfile.mkdtemp(prefix="sitrep-full-disk-", dir=work))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode:
        fig.notes.append("full disk: skipped (this process may not mount a tmpfs)")
        return
    try:
        data = mount / "data"
        _seeded(data, 3)
        with open(mount / "filler", "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        check = _Check(fig, "full disk")
        check.expect("--read-only list", sitrep(data, "--read-only", "list"), 0, "INC-0001")
        check.expect("list", sitrep(data, "list"), 0, "INC-0001")
        check.expect("show", sitrep(data, "show", "INC-0001"), 0, "Timeline:")
        check.expect("log", sitrep(data, "log", "INC-0001", "x"), 4, "is full")
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
        shutil.rmtree(mount, ignore_errors=True)


def _corrupt_page(db: Path) -> None:
    """Garbage over a page in the middle of the timeline's b-tree (not the first pages: the schema). The
    page is found by what it holds (a seeded observation's text), so the schema's other tables, however
    many there are, never decide which page is hit."""
    c = sqlite3.connect(db)
    try:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
    finally:
        c.close()
    raw = db.read_bytes()
    marker = b"errors climbing errors climbing"
    pages = sorted({i // page_size for i in _find_all(raw, marker)} - {0})
    page = pages[len(pages) // 2] if pages else (len(raw) // page_size) * 2 // 3
    with open(db, "r+b") as fh:
        fh.seek(page_size * page)
        fh.write(bytes(range(256)) * (page_size // 256))


def _find_all(raw: bytes, marker: bytes) -> list[int]:
    found, at = [], raw.find(marker)
    while at != -1:
        found.append(at)
        at = raw.find(marker, at + len(marker))
    return found


def _corrupted(fig: Figure, work: Path) -> None:
    data = work / "corrupted"
    _seeded(data, 150)
    listed = sitrep(data, "backup", "list")
    if "daily" not in listed.stdout:
        fig.missed.append(f"corrupted page: no daily backup was taken when the store was opened: {listed.stdout.strip()}")
    sitrep(data, "log", "INC-0001", "the last entry before the damage")
    _corrupt_page(data / "sitrep.db")
    check = _Check(fig, "corrupted page")
    check.expect("log", sitrep(data, "log", "INC-0001", "after the damage"), 4, "damaged", "Writing is stopped")
    check.expect("log again", sitrep(data, "log", "INC-0001", "still refused"), 4, "damaged")
    check.expect("doctor", sitrep(data, "doctor"), 6, "integrity_check")
    check.expect("backup list", sitrep(data, "backup", "list"), 0, "daily")
    check.expect("backup restore 1", sitrep(data, "backup", "restore", "1"), 0, "Restored")
    check.expect("verify after the restore", sitrep(data, "verify"), 0, "every chain holds")
    check.expect("log after the restore", sitrep(data, "log", "INC-0001", "back in business"), 0, "back in business")


def _newer_schema(fig: Figure, work: Path) -> None:
    data = work / "newer"
    _seeded(data, 1)
    c = sqlite3.connect(data / "sitrep.db")
    with c:
        c.execute("UPDATE alembic_version SET version_num = '9999'")
    c.close()
    check = _Check(fig, "newer schema")
    check.expect("list", sitrep(data, "list"), 5, "newer Sitrep", "Upgrade Sitrep")
    res = sitrep(data, "--read-only", "list")
    check.expect("--read-only list", res, 5, "newer Sitrep", "Upgrade Sitrep")
    if "without --read-only" in res.stderr:
        fig.missed.append("newer schema: --read-only advises opening without --read-only, which would refuse too")


def store_faults(size: Size, work: Path) -> Figure:
    fig = Figure("store faults")
    work.mkdir(parents=True, exist_ok=True)
    for fault in (_read_only, _full_disk, _corrupted, _newer_schema):
        fault(fig, work)
    return fig
