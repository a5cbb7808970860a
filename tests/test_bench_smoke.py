"""Every benchmark runs once on tiny sizes, so `python -m bench` cannot rot.

Nothing here is timed against a limit (speed is measured by bench/, not asserted); the checks are
that each benchmark runs, measures both sides, and that what it measured is the thing it claims
(the right row painted, the right number of rows, the JSON the runner writes).
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import pytest

from bench import append_bench, runner, startup_bench
from bench.scale import TINY


def assert_sane(result: dict, name: str) -> None:
    assert result["name"] == name
    for key in ("subject_ms", "floor_ms", "ratio"):
        value = result[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)
    assert result["rounds"] == len(result["subject_rounds"]) == len(result["floor_rounds"]) >= 1
    assert result["met"] in (True, False)
    assert result["target"]


def test_append_entry(tmp_path: Path) -> None:
    result = append_bench.run(TINY, tmp_path)
    assert_sane(result, "append_entry")
    assert result["extra"]["commits_per_round"] == TINY.appends_per_round
    assert list(tmp_path.iterdir()) == []  # its stores were cleaned up


def test_open_incident_and_live_append_paint_the_right_rows(tmp_path: Path) -> None:
    report = runner.run(["open_incident", "live_append"], TINY, workdir=tmp_path)
    assert report["errors"] == []
    by_name = {r["name"]: r for r in report["results"]}
    assert set(by_name) == {
        "open_incident", "live_append_service", "live_append_other_connection", "live_append_console"
    }
    opened = by_name["open_incident"]
    assert_sane(opened, "open_incident")
    extra = opened["extra"]
    assert extra["subject_rows"] == TINY.timeline_entries
    assert extra["subject_last_visible_row"] == TINY.timeline_entries - 1  # scrolled to the latest entry
    assert extra["floor_rows"] == TINY.timeline_entries
    assert isinstance(extra["extra_rss_mb"], float)
    for mode in ("service", "other_connection", "console"):
        live = by_name[f"live_append_{mode}"]
        assert_sane(live, f"live_append_{mode}")
        assert live["extra"]["wrong_rows"] == []  # the painted last row was the entry just committed


def test_startup(tmp_path: Path) -> None:
    results = startup_bench.run(TINY, tmp_path)
    assert [r["name"] for r in results] == ["startup"]  # tiny: one variant (--demo when it exists)
    for result in results:
        assert_sane(result, result["name"])
        assert result["extra"]["subject_exit_ms"][0] >= result["subject_ms"]


def test_command_line_writes_the_table_and_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "result.json"
    code = runner.main(
        ["--quick", "--rounds", "1", "--only", "append_entry", "--out", str(out), "--workdir", str(tmp_path)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "append_entry" in printed and "<= 1.5x floor" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    machine = report["machine"]
    for key in ("date", "python", "qt", "pyside6", "sqlite", "sqlalchemy", "cpu", "load_average_at_end"):
        assert machine.get(key) is not None, key
    assert report["command"].startswith("python -m bench --quick")
    assert [r["name"] for r in report["results"]] == ["append_entry"]


def test_unknown_benchmark_is_refused(capsys) -> None:
    assert runner.main(["--only", "nope", "--no-save"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_other_areas_benchmarks_plug_in(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "smoke_metrics_bench.py").write_text(
        textwrap.dedent(
            """
            def run_metrics_benchmarks(scale):
                return [{"name": "metrics_aggregate", "subject_ms": 2.0 * scale, "floor_ms": 1.0 * scale,
                         "spread": 0.1, "target": "<= 100 ms", "met": True},
                        {"name": "drain", "items_per_s": 400.0, "ceiling_per_s": 500.0, "ratio_of_ceiling": 0.8}]
            """
        )
    )
    (tmp_path / "smoke_broken_bench.py").write_text("import not_installed_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(
        runner,
        "EXTERNAL",
        (
            ("metrics", "smoke_metrics_bench", "run_metrics_benchmarks"),
            ("sync", "smoke_sync_bench_absent", "run_sync_benchmarks"),
            ("broken", "smoke_broken_bench", "run"),
        ),
    )
    report = runner.run(["metrics", "sync", "broken"], TINY, workdir=tmp_path)
    metrics, drain = report["results"]
    assert metrics["name"] == "metrics_aggregate" and metrics["ratio"] == pytest.approx(2.0)
    # A throughput result reads as time per item against the floor's, with the 80% target.
    assert drain["subject_ms"] == pytest.approx(2.5) and drain["floor_ms"] == pytest.approx(2.0)
    assert drain["ratio"] == pytest.approx(1.25) and drain["met"] is True and "80%" in drain["target"]
    assert report["skipped"] == [
        {"benchmark": "sync", "why": "smoke_sync_bench_absent is not on this branch yet"}
    ]
    # A module that is there but cannot import its own dependency is an error, not "not merged yet".
    (error,) = report["errors"]
    assert error["benchmark"] == "broken" and "not_installed_dependency_xyz" in error["error"]
    assert "metrics_aggregate" in runner.table(report)
    sys.modules.pop("smoke_metrics_bench", None)


def test_the_other_areas_benchmarks_on_this_branch_run_tiny(tmp_path: Path) -> None:
    present = [
        name for name, module, func in runner.EXTERNAL if runner.external_runner(module, func) is not None
    ]
    report = runner.run(present, TINY, workdir=tmp_path)
    assert report["errors"] == []
    assert {r["benchmark"] for r in report["results"]} == set(present)
    for r in report["results"]:
        assert isinstance(r["subject_ms"], float) and r["subject_ms"] > 0, r
    runner.table(report)
