"""Benchmarks for the metric engine and the history import. Timings, never assertions.

`run_metrics_benchmarks(scale)` returns one dict per benchmark:
  name, subject_ms (median), floor_ms (median of the least work that could give the same answer, or None),
  spread (max - min over median, of the subject), target (what the issue asks), runs.
scale=1.0 is the issue's size: 100,000 incidents for the figures, 10,000 for an import.

Each benchmark builds its own store in a temporary folder; the clock of record is time.perf_counter.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models import metric_durations
from models.enums import Milestone
from models.milestone_numbers import NUM_COLUMNS, number_sql
from models.types import iso, new_id
from services.analytics.metrics import MetricFilter
from services.analytics.sample_history import generate, write_csv
from services.core import Sitrep

RUNS = 7


class _Timings(list):
    """Wall-clock milliseconds per run, with the process CPU milliseconds alongside (`cpu`): on a shared
    machine the CPU time says what the work costs, the wall time what a person waits."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu: list[float] = []


def _measure(fn: Callable[[], Any], runs: int = RUNS, setup: Callable[[], Any] | None = None) -> _Timings:
    out = _Timings()
    for _ in range(runs):
        if setup is not None:
            setup()
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
        out.cpu.append((time.process_time() - c0) * 1000)
    return out


def _result(name: str, subject: _Timings, floor: _Timings | None, target: str, **extra) -> dict[str, Any]:
    med = statistics.median(subject)
    return {
        "name": name,
        "subject_ms": round(med, 2),
        "floor_ms": round(statistics.median(floor), 2) if floor else None,
        "spread": round((max(subject) - min(subject)) / med, 3) if med else 0.0,
        "target": target,
        "runs": len(subject),
        "subject_cpu_ms": round(statistics.median(subject.cpu), 2),
        "floor_cpu_ms": round(statistics.median(floor.cpu), 2) if floor else None,
        **extra,
    }


def _store_with_history(folder: Path, count: int) -> Sitrep:
    """A store holding `count` generated incidents, written straight into the table (the fastest way to
    set up; the figures do not read the timeline)."""
    app = Sitrep.open(f"sqlite:///{folder / 'bench.db'}")
    incidents = generate(
        count, seed=99, start=datetime(2021, 1, 1, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC)
    )
    now = iso(datetime(2026, 3, 2, tzinfo=UTC))
    cols = ["id", "number", "key", "title", "summary", "incident_type", "severity", "status", "is_major",
            "is_exercise", "services", "affected_users", "source", "created_at", "updated_at",
            *(m.column for m in Milestone)]  # fmt: skip
    rows = []
    for n, inc in enumerate(incidents, start=1):
        rows.append(
            (
                new_id(),
                n,
                f"INC-{n:04d}",
                inc.title,
                "",
                inc.incident_type,
                inc.severity,
                "resolved",
                inc.severity in ("SEV1", "SEV2"),
                inc.is_exercise,
                json.dumps(list(inc.services)),
                inc.affected_users,
                "bench",
                now,
                now,
                *(iso(inc.milestones[m]) for m in Milestone),
            )  # fmt: skip
        )
    # Written as the history import writes (services/analytics/history_import.py): the milestone numbers
    # computed in the INSERT and the durations index filled set-wise, which gives the rows its triggers
    # would give (tests/test_metric_durations.py) in a fraction of the time.
    numbers = [number_sql(f"?{cols.index(m.column) + 1}") for m in Milestone]
    placeholders = ", ".join((*(f"?{k}" for k in range(1, len(cols) + 1)), *numbers))
    conn = sqlite3.connect(folder / "bench.db")
    with conn:
        conn.execute(f"DROP TRIGGER {metric_durations.INSERT_TRIGGER}")
        conn.executemany(
            f"INSERT INTO incidents ({', '.join((*cols, *NUM_COLUMNS))}) VALUES ({placeholders})", rows
        )
        for sql in (*metric_durations.fill_statements("1 = 1"), metric_durations.insert_trigger_statement()):
            conn.execute(sql)
    conn.close()
    return app


def bench_per_service_table(scale: float) -> dict[str, Any]:
    """The issue's headline: one metric's per-service table over 100,000 incidents."""
    count = max(1000, int(100_000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        app = _store_with_history(Path(tmp), count)
        try:
            app.metrics.table("time_to_resolve", "service")  # warm the page cache and statement cache
            raw = sqlite3.connect(Path(tmp) / "bench.db")

            def touch() -> None:
                # A commit from another connection, as a new timeline entry would be: the figures computed
                # before it may no longer hold, so the engine must compute them again.
                with raw:
                    raw.execute(
                        "UPDATE incidents SET summary = CASE summary WHEN '' THEN 'x' ELSE '' END WHERE number = 1"
                    )

            # The subject is the figure computed afresh (the CLI's case, and the console's after any change).
            subject = _measure(lambda: app.metrics.table("time_to_resolve", "service"), setup=touch)
            # Asked again with nothing changed (the console moving between tabs, metrics and back).
            reused = _measure(lambda: app.metrics.table("time_to_resolve", "service"))
            # The floor: just reading the three columns the answer depends on, with no arithmetic at all.
            floor = _measure(
                lambda: raw.execute(
                    "SELECT impact_started_at, resolved_at, services FROM incidents"
                ).fetchall()
            )
            raw.close()
        finally:
            app.close()
    return _result(f"metrics: time-to-resolve table by service, {count:,} incidents", subject, floor,
                   "<= 100 ms at 100,000 incidents", incidents=count,
                   reused_ms=round(statistics.median(reused), 3),
                   reused_cpu_ms=round(statistics.median(reused.cpu), 3))  # fmt: skip


def bench_every_table(scale: float) -> dict[str, Any]:
    """All six shipped metrics by service, as `sitrep metrics --by service` computes them."""
    count = max(1000, int(100_000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        app = _store_with_history(Path(tmp), count)
        try:
            app.metrics.tables(by="service")
            subject = _measure(lambda: app.metrics.tables(by="service"), runs=3)
        finally:
            app.close()
    return _result(f"metrics: all six metrics by service, {count:,} incidents", subject, None,
                   "none (six tables; the issue's target is per table)", incidents=count)  # fmt: skip


def bench_dashboard(scale: float) -> dict[str, Any]:
    """What the charts panel computes off the GUI thread for one metric: trend, boxes, severities, dots."""
    count = max(1000, int(100_000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        app = _store_with_history(Path(tmp), count)
        try:
            app.metrics.dashboard("time_to_resolve", "month", MetricFilter())
            subject = _measure(
                lambda: app.metrics.dashboard("time_to_resolve", "month", MetricFilter()), runs=3
            )
        finally:
            app.close()
    return _result(f"metrics: charts panel figures (worker thread), {count:,} incidents", subject, None,
                   "none (runs off the GUI thread)", incidents=count)  # fmt: skip


def bench_csv_import(scale: float) -> dict[str, Any]:
    """Importing a CSV history into a fresh store: read, check, chain the timelines, write."""
    count = max(200, int(10_000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = write_csv(generate(count, seed=5), folder / "history.csv")
        stores: list[Sitrep] = []

        def fresh() -> None:
            for s in stores:
                s.close()
            stores.clear()
            for p in folder.glob("import.db*"):
                p.unlink()
            stores.append(Sitrep.open(f"sqlite:///{folder / 'import.db'}"))

        subject = _measure(
            lambda: stores[0].history.import_file(csv_path, author="bench"), runs=5, setup=fresh
        )
        # The floor: parsing the same CSV and inserting one row per incident and two entries with raw sqlite3.
        floor = _measure(lambda: _raw_import(csv_path, folder / "raw.db"), runs=5,
                         setup=lambda: [p.unlink() for p in folder.glob("raw.db*")])  # fmt: skip
        for s in stores:
            s.close()
    return _result(f"import: CSV history, {count:,} incidents", subject, floor, "<= 2,000 ms at 10,000 incidents",
                   incidents=count)  # fmt: skip


def _raw_import(csv_path: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE i (id TEXT PRIMARY KEY, title TEXT, severity TEXT, services TEXT, a TEXT, b TEXT, c TEXT)"
    )
    conn.execute("CREATE TABLE e (id TEXT PRIMARY KEY, incident_id TEXT, seq INT, body TEXT, hash TEXT)")
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    incidents, entries = [], []
    for r in rows:
        iid = new_id()
        incidents.append((iid, r[1], r[3], r[2], r[7], r[9], r[12]))
        entries.append((new_id(), iid, 1, r[1], "0" * 64))
        entries.append((new_id(), iid, 2, r[1], "0" * 64))
    with conn:
        conn.executemany("INSERT INTO i VALUES (?, ?, ?, ?, ?, ?, ?)", incidents)
        conn.executemany("INSERT INTO e VALUES (?, ?, ?, ?, ?)", entries)
    conn.close()


def bench_statuspage_import(scale: float) -> dict[str, Any]:
    """A Statuspage incidents.json of 10,000 incidents (the fixture's 50, repeated with new ids)."""
    count = max(200, int(10_000 * scale))
    fixture = Path(__file__).resolve().parent.parent / "tests" / "data" / "statuspage" / "incidents.json"
    doc = json.loads(fixture.read_text(encoding="utf-8"))
    base = [i for i in doc["incidents"] if i["status"] in ("resolved", "postmortem")]
    incidents = []
    for n in range(count):
        inc = json.loads(json.dumps(base[n % len(base)]))
        inc["id"] = f"bench{n:07d}"
        incidents.append(inc)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "incidents.json"
        path.write_text(json.dumps({"page": doc["page"], "incidents": incidents}), encoding="utf-8")
        stores: list[Sitrep] = []

        def fresh() -> None:
            for s in stores:
                s.close()
            stores.clear()
            for p in folder.glob("import.db*"):
                p.unlink()
            stores.append(Sitrep.open(f"sqlite:///{folder / 'import.db'}"))

        subject = _measure(lambda: stores[0].history.import_file(path, author="bench"), runs=3, setup=fresh)
        entries = sum(len(i["incident_updates"]) for i in incidents)
        for s in stores:
            s.close()
    return _result(f"import: Statuspage incidents.json, {count:,} incidents ({entries:,} updates)", subject, None,
                   "none (the issue's 2 s is for 10,000 incidents; each here has ~4 updates)", incidents=count)  # fmt: skip


BENCHMARKS = (
    bench_per_service_table,
    bench_every_table,
    bench_dashboard,
    bench_csv_import,
    bench_statuspage_import,
)


def run_metrics_benchmarks(scale: float = 1.0) -> list[dict[str, Any]]:
    return [bench(scale) for bench in BENCHMARKS]


if __name__ == "__main__":  # python -m bench.metrics_bench [scale]
    import sys

    for row in run_metrics_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(json.dumps(row))
