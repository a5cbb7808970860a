"""The store at size: `sitrep verify` over 1,000,000 timeline entries, `sitrep export` of 10,000 incidents, and
the file's size per 100,000 entries. Timings, never assertions.

- verify: `integrity.verify()` (every chain recomputed, heads and each incident's state checked); floor: the
  same entries read with one plain sqlite3 SELECT and sha256 run over the very bytes verify hashes (made
  before the clock starts), so the floor is reading plus hashing with nothing of Sitrep in it.
- export: `exchange.export()` and the JSON text `sitrep export` writes (indent 2); floor: the incidents and
  their entries read with plain sqlite3 and dumped as JSON.
- size: the store file after a checkpoint, per 100,000 timeline entries (entries of the length the other
  benchmarks use, bench/fixtures.py), and how much of it is the incidents' figures index.

    .venv/bin/python -m bench.store_bench [scale]     # scale 1.0 = 1,000,000 entries, 10,000 incidents
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fixtures import declare_incident, extend_timeline, open_sitrep
from models.entities import TimelineEntry
from services.analytics.sample_history import generate, write_csv
from services.record.chain_heads import ADVANCE_SQL, TIMELINE

_T = TimelineEntry.__table__
_ENTRIES_PER_INCIDENT = 10_000
# The canonical JSON verify hashes (services/record/timeline.py), for the floor's bytes.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_HASHED = ("id", "incident_id", "seq", "kind", "body", "rationale", "author", "source", "occurred_at",
           "recorded_at", "data", "supersedes_id")  # fmt: skip


def _timings(fn, runs: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def _row(name: str, subject, floor, target: str, **extra) -> dict[str, Any]:
    med = statistics.median(subject[0])
    return {
        "name": name, "subject_ms": round(med, 1),
        "floor_ms": round(statistics.median(floor[0]), 1) if floor else None,
        "spread": round((max(subject[0]) - min(subject[0])) / med, 3) if med else 0.0,
        "subject_cpu_ms": round(statistics.median(subject[1]), 1),
        "floor_cpu_ms": round(statistics.median(floor[1]), 1) if floor else None,
        "target": target, "runs": len(subject[0]), **extra,
    }  # fmt: skip


def _build_entries(folder: Path, entries: int) -> Path:
    """A store of `entries` timeline entries, 10,000 per incident (a valid chain each, heads advanced)."""
    app = open_sitrep(folder)
    try:
        left, n = entries, 0
        while left > 0:
            n += 1
            inc = declare_incident(app, f"Incident {n}")
            size = min(_ENTRIES_PER_INCIDENT, left)
            left -= extend_timeline(app, inc.id, size, seed=n)  # the declaration's entry counts
        db = app.store.path
    finally:
        app.close()
    conn = sqlite3.connect(db)
    with conn:
        heads = conn.execute(
            f"SELECT incident_id, seq, hash FROM {_T.name} AS t WHERE seq = "
            f"(SELECT MAX(seq) FROM {_T.name} WHERE incident_id = t.incident_id)"
        ).fetchall()
        conn.executemany(ADVANCE_SQL, [(TIMELINE, i, s, h) for i, s, h in heads])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def bench_verify_and_size(scale: float) -> list[dict[str, Any]]:
    """verify over a store of `entries`, and that store's size."""
    entries = max(2000, int(1_000_000 * scale))
    with tempfile.TemporaryDirectory(prefix="sitrep-store-bench-") as tmp:
        folder = Path(tmp)
        db = _build_entries(folder, entries)
        size = db.stat().st_size
        conn = sqlite3.connect(db)
        counted = conn.execute(f"SELECT count(*) FROM {_T.name}").fetchone()[0]
        pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()) \
            if _has_dbstat(conn) else {}  # fmt: skip
        # The bytes verify hashes, made before the clock starts: the floor only reads and hashes.
        payloads = [
            _CANONICAL.encode({**dict(zip(_HASHED, r, strict=True)), "data": json.loads(r[10])})
            for r in conn.execute(f"SELECT {', '.join(_HASHED)} FROM {_T.name}")
        ]
        conn.close()

        def floor() -> None:
            c = sqlite3.connect(db)
            for (prev,), payload in zip(c.execute(f"SELECT prev_hash FROM {_T.name}"), payloads, strict=True):
                hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()
            c.close()

        app = open_sitrep(folder)
        try:
            report = app.integrity.verify()
            assert report.ok and report.entries == counted, report.breaks[:3]
            runs = 3 if entries <= 200_000 else 1
            subject = _timings(app.integrity.verify, runs)
        finally:
            app.close()
        floor_t = _timings(floor, runs)
    per_100k = size * 100_000 / counted
    # The size rides on the verify row: the runner's table reads a row as a timing.
    return [
        _row(f"verify: {counted:,} timeline entries", subject, floor_t, "none stated (the issue asks for the figure)",
             entries=counted, store_bytes_per_100k_entries=round(per_100k),
             store_mib_per_100k_entries=round(per_100k / 2**20, 1), store_file_bytes=size,
             largest_objects_bytes=dict(sorted(pages.items(), key=lambda kv: -kv[1])[:6])),  # fmt: skip
    ]


def _has_dbstat(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1 FROM dbstat LIMIT 1")
        return True
    except sqlite3.Error:
        return False


def bench_export(scale: float) -> dict[str, Any]:
    count = max(200, int(10_000 * scale))
    with tempfile.TemporaryDirectory(prefix="sitrep-export-bench-") as tmp:
        folder = Path(tmp)
        csv_path = write_csv(generate(count, seed=31, start=datetime(2022, 1, 1, tzinfo=UTC)), folder / "h.csv")
        app = open_sitrep(folder)
        try:
            app.history.import_file(csv_path, author="bench")
            db = app.store.path
            sizes: list[int] = []

            def export() -> None:
                sizes.append(len(json.dumps(app.exchange.export(), indent=2, ensure_ascii=False)))

            subject = _timings(export, 3)
        finally:
            app.close()

        def floor() -> None:
            c = sqlite3.connect(db)
            c.row_factory = sqlite3.Row
            doc = {"incidents": [dict(r) for r in c.execute("SELECT * FROM incidents")],
                   "timeline": [dict(r) for r in c.execute(f"SELECT * FROM {_T.name}")]}  # fmt: skip
            json.dumps(doc, indent=2, ensure_ascii=False)
            c.close()

        floor_t = _timings(floor, 3)
    return _row(f"export: {count:,} incidents", subject, floor_t, "none stated (the issue asks for the figure)",
                incidents=count, json_bytes=sizes[-1])  # fmt: skip


def run_store_benchmarks(scale: float = 1.0) -> list[dict[str, Any]]:
    return [*bench_verify_and_size(scale), bench_export(scale)]


if __name__ == "__main__":
    for row in run_store_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(json.dumps(row))
