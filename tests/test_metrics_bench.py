"""The benchmark module runs and reports what the bench runner expects (timings are not checked here)."""

from __future__ import annotations

from bench.metrics_bench import BENCHMARKS, run_metrics_benchmarks


def test_every_benchmark_reports_its_figures():
    rows = run_metrics_benchmarks(0.001)
    assert len(rows) == len(BENCHMARKS)
    for row in rows:
        assert {"name", "subject_ms", "floor_ms", "spread", "target"} <= set(row)
        assert row["subject_ms"] > 0 and row["spread"] >= 0
        assert row["floor_ms"] is None or row["floor_ms"] > 0
