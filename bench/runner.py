"""`python -m bench`: run every benchmark, print the table, write the JSON.

    python -m bench                    # everything, full size (a few minutes)
    python -m bench --quick            # fewer rounds and appends; same 100,000-entry incident (a few minutes)
    python -m bench --only append_entry --only startup --rounds 9
    python -m bench --list             # the names --only takes

Results go to bench/results/<date>T<time>.json (gitignored) unless --no-save; --out names the file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.measure import load_average, machine_info, normalise
from bench.scale import FULL, QUICK, Scale

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"

# Benchmarks other areas contribute; they plug in when their module is on the branch.
EXTERNAL = (
    ("metrics", "bench.metrics_bench", "run_metrics_benchmarks"),
    ("sync", "bench.sync_bench", "run_sync_benchmarks"),
    ("exercises", "bench.exercises_bench", "run_exercises_benchmarks"),
    ("runbooks", "bench.runbooks_bench", "run_runbooks_benchmarks"),
    ("detection", "bench.detection_bench", "run_detection_benchmarks"),
    ("outbox", "bench.outbox_bench", "run_outbox_benchmarks"),
    ("store", "bench.store_bench", "run_store_benchmarks"),
    ("problems", "bench.problems_bench", "run_problems_benchmarks"),
)


class Workspace:
    """A scratch folder for one run, and the long incident the view benchmarks share (built once)."""

    def __init__(self, root: Path, scale: Scale) -> None:
        self.root = root
        self.scale = scale
        self._long: tuple[Path, str] | None = None

    def long_incident(self) -> tuple[Path, str]:
        """(data dir, incident id) of a store with one incident of scale.timeline_entries entries."""
        if self._long is None:
            from bench.fixtures import build_long_incident

            data_dir = self.root / "long-incident"
            started = time.perf_counter()
            incident_id = build_long_incident(data_dir, self.scale.timeline_entries)
            log(
                f"  built a {self.scale.timeline_entries:,}-entry incident in {time.perf_counter() - started:.1f} s"
            )
            self._long = (data_dir, incident_id)
        return self._long

    def copy_of_long_incident(self, name: str) -> tuple[Path, str]:
        from bench.fixtures import copy_store

        src, incident_id = self.long_incident()
        dst = self.root / name
        copy_store(src, dst)
        return dst, incident_id


def _append(ws: Workspace) -> list[dict[str, Any]]:
    from bench import append_bench

    return [append_bench.run(ws.scale, ws.root)]


def _open(ws: Workspace) -> list[dict[str, Any]]:
    from bench.child import child_run

    data_dir, incident_id = ws.long_incident()
    args = {
        "data_dir": str(data_dir),
        "incident_id": incident_id,
        "entries": ws.scale.timeline_entries,
        "rounds": ws.scale.rounds,
    }
    return [child_run("open_incident", args)]


def _startup(ws: Workspace) -> list[dict[str, Any]]:
    from bench import startup_bench

    return startup_bench.run(ws.scale, ws.root)


def _live(ws: Workspace) -> list[dict[str, Any]]:
    from bench.child import child_run

    results = []
    # "console": the service path in the whole console window, where every panel hears of the commit.
    for mode in ("service", "other_connection", "console"):
        data_dir, incident_id = ws.copy_of_long_incident(f"live-{mode}")
        args = {
            "data_dir": str(data_dir),
            "incident_id": incident_id,
            "entries": ws.scale.timeline_entries,
            "rounds": ws.scale.rounds,
            # Another connection's entry waits for the notifier's poll (a second each, today): fewer of them.
            "per_round": ws.scale.live_appends_per_round
            if mode != "other_connection"
            else max(1, ws.scale.live_appends_per_round // 4),
            "mode": mode,
            "floor_db": str(ws.root / f"live-floor-{mode}.db"),
            "warmup": ws.scale.warmup,
        }
        results.append(child_run("live_append", args))
    return results


BUILTIN: dict[str, tuple[str, Callable[[Workspace], list[dict[str, Any]]]]] = {
    "append_entry": ("1. log one timeline entry vs raw INSERT + COMMIT", _append),
    "open_incident": ("2. open a 100,000-entry incident until painted vs bare QTableView", _open),
    "startup": ("3. process start to main window shown and idle vs bare QMainWindow", _startup),
    "live_append": ("4. committed entry to painted row, 100,000 open vs bare model", _live),
}


def external_runner(module_name: str, func_name: str) -> Callable[[Scale], list[dict]] | None:
    """The module's entry point, or None when that module is not on this branch yet."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:  # the module exists but something it imports does not: a real error
            raise
        return None
    return getattr(module, func_name)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(names: list[str] | None, scale: Scale, workdir: Path | None = None) -> dict[str, Any]:
    """Run the chosen benchmarks (all when names is None); returns the report (machine + results)."""
    report: dict[str, Any] = {
        "machine": machine_info(),
        "scale": asdict(scale),
        "results": [],
        "skipped": [],
        "errors": [],
    }
    wanted = set(names) if names else None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    base = workdir or RESULTS_DIR
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="work-", dir=base) as tmp:
        ws = Workspace(Path(tmp), scale)
        for name, (what, func) in BUILTIN.items():
            if wanted is not None and name not in wanted:
                continue
            log(f"{what} ...")
            _collect(report, name, lambda func=func: func(ws))
        for name, module_name, func_name in EXTERNAL:
            if wanted is not None and name not in wanted:
                continue
            try:
                func = external_runner(module_name, func_name)
            except Exception:
                report["errors"].append({"benchmark": name, "error": traceback.format_exc()})
                continue
            if func is None:
                report["skipped"].append(
                    {"benchmark": name, "why": f"{module_name} is not on this branch yet"}
                )
                continue
            log(f"{name} ({module_name}) ...")
            # Their modules take a float: 1.0 is the full workload (bench/sync_bench.py: 10,000 items).
            _collect(report, name, lambda func=func: func(scale.factor))
    report["machine"]["load_average_at_end"] = load_average()
    return report


def _collect(report: dict[str, Any], name: str, call: Callable[[], list[dict[str, Any]]]) -> None:
    started = time.perf_counter()
    try:
        results = [normalise(r) for r in call()]
    except Exception:
        report["errors"].append({"benchmark": name, "error": traceback.format_exc()})
        log(f"  FAILED: {traceback.format_exc(limit=3)}")
        return
    for r in results:
        r.setdefault("benchmark", name)
        r["wall_s"] = round(time.perf_counter() - started, 2)
    report["results"].extend(results)


# -- the table -------------------------------------------------------------------------------


def _ms(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    if value < 1:
        return f"{value:.3f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:,.0f} ms"


def table(report: dict[str, Any]) -> str:
    head = ("benchmark", "Sitrep (median)", "floor (median)", "ratio", "spread", "target", "met")
    rows = [head]
    for r in report["results"]:
        ratio = r.get("ratio")
        spread = r.get("spread")
        met = r.get("met")
        rows.append(
            (
                r.get("name", "?"),
                _ms(r.get("subject_ms")),
                _ms(r.get("floor_ms")),
                f"{ratio:.2f}x" if isinstance(ratio, int | float) else "-",
                f"±{spread * 50:.0f}%" if isinstance(spread, int | float) else "-",
                str(r.get("target") or "-"),
                {True: "yes", False: "NO", None: "-"}[met if met in (True, False) else None],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = []
    for r in report["results"]:
        extra = r.get("extra") or {}
        bits = [f"{k}={_short(v)}" for k, v in extra.items() if k in _NOTE_KEYS]
        if bits:
            notes.append(f"  {r['name']}: " + ", ".join(bits))
    for s in report["skipped"]:
        notes.append(f"  skipped {s['benchmark']}: {s['why']}")
    for e in report["errors"]:
        notes.append(f"  ERROR in {e['benchmark']}: {e['error'].strip().splitlines()[-1]}")
    m = report["machine"]
    header = (
        f"Sitrep benchmarks, {m['date']} on {m['cpu']} ({m['cpus']} CPUs), Python {m['python']}, "
        f"Qt {m.get('qt')} (PySide6 {m.get('pyside6')}), SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}; "
        f"load average {m.get('load_average_at_start')} -> {m.get('load_average_at_end')}"
    )
    footer = "spread: half the range of the per-round medians, as a share of the median"
    return "\n".join([header, "", *lines, "", *notes, footer] if notes else [header, "", *lines, "", footer])


_NOTE_KEYS = (
    "overhead_ms_median",
    "first_open_ms",
    "extra_rss_mb",
    "entries",
    "store",
    "change_poll_interval_ms",
    "wrong_rows",
)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return str(len(value)) if len(value) > 3 else str(value)
    return str(value)


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description="Sitrep's hot paths against their floors."
    )
    p.add_argument("--quick", action="store_true", help="fewer rounds and appends (a few minutes)")
    p.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)")
    p.add_argument("--rounds", type=int, help="interleaved rounds per benchmark (default 7, quick 3)")
    p.add_argument("--out", type=Path, help="write the JSON here (default bench/results/<date>T<time>.json)")
    p.add_argument("--no-save", action="store_true", help="print the table only")
    p.add_argument("--workdir", type=Path, help="scratch folder (default: inside bench/results)")
    p.add_argument("--list", action="store_true", help="list the benchmark names and exit")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    known = [*BUILTIN, *(name for name, _, _ in EXTERNAL)]
    if args.list:
        for name, (what, _) in BUILTIN.items():
            print(f"{name:<14} {what}")
        for name, module_name, _ in EXTERNAL:
            print(f"{name:<14} from {module_name} (when present)")
        return 0
    unknown = [n for n in args.only or [] if n not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scale = (QUICK if args.quick else FULL).with_rounds(args.rounds)
    report = run(args.only, scale, args.workdir)
    report["command"] = "python -m bench " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    print(table(report))
    if not args.no_save:
        out = args.out or RESULTS_DIR / f"{datetime.now().strftime('%Y-%m-%dT%H%M%S')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwritten to {out}")
    return 1 if report["errors"] else 0
