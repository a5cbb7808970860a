"""Benchmark 1: log one timeline entry through the service vs a raw sqlite3 INSERT + COMMIT.

Both sides write the same row shape into the same table (both stores are built by the migrations),
on the same file system, with the pragmas services/storage/store.py sets: WAL, synchronous=FULL, foreign
keys on. So both pay the same fsync; the difference is what Sitrep does around it (validation,
the chain lookup, the hash, SQLAlchemy, the change notice).
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.fixtures import declare_incident, open_sitrep
from bench.measure import result
from bench.scale import Scale
from models.types import iso, new_id, utcnow
from services.storage.store import BUSY_TIMEOUT_MS

NAME = "append_entry"
TARGET_RATIO = 1.5
BODY = "p99 latency for payments-gateway 950 ms, was 180 ms before the deploy"


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=FULL")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    assert mode == "wal", mode
    return conn


def run(scale: Scale, workdir: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-append-", dir=workdir) as tmp:
        return _run(scale, Path(tmp))


def _run(scale: Scale, tmp: Path) -> dict:
    sitrep = open_sitrep(tmp / "subject")
    floor_sitrep = open_sitrep(tmp / "floor")
    incident = declare_incident(sitrep)
    floor_incident = declare_incident(floor_sitrep)
    floor_sitrep.close()
    raw = raw_connection(tmp / "floor" / "sitrep.db")
    insert = (
        "INSERT INTO timeline_entries (id, incident_id, seq, kind, body, rationale, author, source, "
        "occurred_at, recorded_at, data, supersedes_id, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, NULL, ?, 'sitrep', ?, ?, NULL, NULL, ?, ?)"
    )
    floor_seq = [1000]
    n = scale.appends_per_round
    log = sitrep.timeline.log

    def subject_commit() -> float:
        t = time.perf_counter()
        log(incident.id, BODY, author="ana", kind="observation")
        return time.perf_counter() - t

    def floor_commit() -> float:
        floor_seq[0] += 1
        stamp = iso(utcnow())
        digest = f"{floor_seq[0]:064x}"
        params = (
            new_id(),
            floor_incident.id,
            floor_seq[0],
            "observation",
            BODY,
            "ana",
            stamp,
            stamp,
            digest,
            digest,
        )
        t = time.perf_counter()
        raw.execute(insert, params)
        raw.commit()
        return time.perf_counter() - t

    def one_round(first_subject: bool) -> tuple[float, float]:
        # Commit by commit, alternating: the disk's fsync latency drifts by 10-40x within seconds on a
        # shared VM, and pairing keeps both sides under the same conditions.
        s_times, f_times = [], []
        for i in range(n):
            if (i % 2 == 0) == first_subject:
                s_times.append(subject_commit())
                f_times.append(floor_commit())
            else:
                f_times.append(floor_commit())
                s_times.append(subject_commit())
        return statistics.median(s_times) * 1000, statistics.median(f_times) * 1000

    subject_rounds: list[float] = []
    floor_rounds: list[float] = []
    try:
        for _ in range(min(10, n)):  # untimed: statements compile, pages come into cache
            subject_commit()
            floor_commit()
        for r in range(scale.rounds):
            s_ms, f_ms = one_round(first_subject=r % 2 == 0)
            subject_rounds.append(s_ms)
            floor_rounds.append(f_ms)
    finally:
        raw.close()
        sitrep.close()
    overhead = [s - f for s, f in zip(subject_rounds, floor_rounds, strict=True)]
    return result(
        NAME,
        "Log one timeline entry (WAL, synchronous=FULL)",
        subject="Sitrep.timeline.log (validate, chain lookup, hash, insert, commit, notify)",
        floor="raw sqlite3 INSERT + COMMIT, same table and pragmas",
        subject_rounds=subject_rounds,
        floor_rounds=floor_rounds,
        ratio_at_most=TARGET_RATIO,
        extra={
            "commits_per_round": n,
            "statistic": "median per commit within a round; commits alternate subject/floor",
            # What Sitrep adds in absolute terms: the part that does not depend on the disk's fsync.
            "overhead_ms_median": statistics.median(overhead),
        },
    )
