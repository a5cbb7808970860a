"""Benchmark: a metric grouped by problem record (`sitrep metrics --by problem`, the charts' Problem rows) against
the same metric grouped by severity, a plain column. Timings, never assertions.

The store holds `100,000 * scale` incidents (bench.metrics_bench's generated history); one in ten is linked to
one of 200 problems (and each such incident's earlier links to other problems, made inactive, stay as rows, as
unlinking keeps them). The floor is the severity table: what the per-incident look-up of the problem adds is
the difference.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.metrics_bench import _measure, _result, _store_with_history
from models.types import iso, new_id


def _link_problems(db: Path, problems: int = 200, every: int = 10) -> int:
    now = iso(datetime(2026, 3, 2, tzinfo=UTC))
    conn = sqlite3.connect(db)
    with conn:
        ids = [new_id() for _ in range(problems)]
        conn.executemany(
            "INSERT INTO problems (id, number, key, title, description, status, created_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, '', 'open', 'bench', ?, ?)",
            [(pid, n, f"PRB-{n:04d}", f"cause {n}", now, now) for n, pid in enumerate(ids, start=1)],
        )
        incidents = [r[0] for r in conn.execute("SELECT id FROM incidents ORDER BY number")][::every]
        rows = []
        for i, iid in enumerate(incidents):
            rows.append((new_id(), iid, ids[i % problems], 1, "bench", now, now))
            rows.append((new_id(), iid, ids[(i + 1) % problems], 0, "bench", now, now))  # an earlier, unlinked one
        conn.executemany("INSERT INTO problem_links (id, incident_id, problem_id, active, linked_by, linked_at, "
                         "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
    conn.close()
    return len(incidents)


def bench_table_by_problem(scale: float) -> dict[str, Any]:
    count = max(1000, int(100_000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        app = _store_with_history(Path(tmp), count)
        try:
            linked = _link_problems(Path(tmp) / "bench.db")
            raw = sqlite3.connect(Path(tmp) / "bench.db")

            def touch() -> None:  # a commit elsewhere: the figures are computed afresh each run
                with raw:
                    raw.execute("UPDATE incidents SET summary = CASE summary WHEN '' THEN 'x' ELSE '' END WHERE number = 1")

            app.metrics.table("time_to_resolve", "problem")
            subject = _measure(lambda: app.metrics.table("time_to_resolve", "problem"), setup=touch)
            floor = _measure(lambda: app.metrics.table("time_to_resolve", "severity"), setup=touch)
            raw.close()
        finally:
            app.close()
    return _result(f"metrics: time-to-resolve table by problem, {count:,} incidents ({linked:,} linked)", subject,
                   floor, "none set; floor: the same table by severity", incidents=count)  # fmt: skip


def run_problems_benchmarks(scale: float = 1.0) -> list[dict[str, Any]]:
    return [bench_table_by_problem(scale)]


if __name__ == "__main__":  # python -m bench.problems_bench [scale]
    import sys

    for row in run_problems_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(json.dumps(row))
