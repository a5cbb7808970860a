"""Profiles of the hot paths, for when a benchmark misses its target: `python -m bench.profile NAME`.

    python -m bench.profile append      # 2,000 entries logged through the service
    python -m bench.profile open        # opening a 100,000-entry incident in the timeline panel
    python -m bench.profile live        # 30 live appends into an open 100,000-entry timeline
    python -m bench.profile startup     # one start of the console, to shown and idle
    python -m bench.profile phases      # where a start's time goes: imports, store, (seed,) window, paint

Needs pyinstrument (`pip install -e '.[bench]'`). Prints pyinstrument's call tree; `--html FILE`
writes the interactive page instead. The stores are built in a temporary folder, as in bench/.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.child import ROOT, child_env


def _profiler():
    try:
        from pyinstrument import Profiler
    except ModuleNotFoundError:
        sys.exit("bench.profile needs pyinstrument: pip install -e '.[bench]'")
    return Profiler(interval=0.0002)


def profile_append(tmp: Path, entries: int):
    from bench.fixtures import declare_incident, open_sitrep

    sitrep = open_sitrep(tmp / "append")
    incident = declare_incident(sitrep)
    for _ in range(50):  # statements compiled, lane open
        sitrep.timeline.log(incident.id, "warm", author="ana", kind="observation")
    profiler = _profiler()
    with profiler:
        for _ in range(2000):
            sitrep.timeline.log(incident.id, "p99 latency 950 ms", author="ana", kind="observation")
    sitrep.close()
    return profiler


def _console(tmp: Path, entries: int):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from bench.fixtures import build_long_incident
    from bench.qt_views import Console, settle, show_and_settle

    app = QApplication.instance() or QApplication([])
    incident_id = build_long_incident(tmp / "long", entries)
    console = Console(tmp / "long")
    show_and_settle(app, console.panel)
    settle(app)
    return app, console, incident_id


def profile_open(tmp: Path, entries: int):
    from bench.qt_views import settle, wait_painted

    app, console, incident_id = _console(tmp, entries)
    profiler = _profiler()
    for i in range(6):
        console.panel.set_incident(None)
        settle(app)
        before = console.watch.paints
        if i >= 1:  # the first open compiles the queries: profile the steady state
            profiler.start()
        console.panel.set_incident(console.sitrep.incidents.get(incident_id))
        wait_painted(app, console.watch, before)
        if i >= 1:
            profiler.stop()
    console.close()
    return profiler


def profile_live(tmp: Path, entries: int):
    from bench.qt_views import last_visible_row, settle, wait_painted

    app, console, incident_id = _console(tmp, entries)
    console.panel.set_incident(console.sitrep.incidents.get(incident_id))
    settle(app, 10)
    model = console.panel.model
    profiler = _profiler()
    for i in range(30):
        settle(app)
        before, rows = console.watch.paints, model.rowCount()
        with profiler:
            console.sitrep.timeline.log(incident_id, f"live {i}", author="ana", kind="observation")
            while model.rowCount() == rows or last_visible_row(console.view) != model.rowCount() - 1:
                wait_painted(app, console.watch, before)
                before = console.watch.paints
    console.close()
    return profiler


def profile_startup(tmp: Path, entries: int) -> None:
    from bench.fixtures import build_console_store
    from bench.startup_bench import SUBJECT_CODE

    build_console_store(tmp / "console")
    args = ["--data-dir", str(tmp / "console")]
    env = child_env()
    subprocess.run(
        [sys.executable, "-c", SUBJECT_CODE, *args], cwd=ROOT, env=env, capture_output=True
    )  # warm
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "pyinstrument", "-i", "0.0005", "-c", SUBJECT_CODE, *args]
    subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    print(f"(wall with the profiler attached: {time.perf_counter() - started:.2f} s)")


# Runs in the child: stamps time.monotonic() at each phase of a start, prints them to stderr.
PHASES_CODE = r"""
import sys, time
T = {"process start (spawn)": float(sys.argv.pop(1))}
import PySide6.QtWidgets
T["PySide6 imported"] = time.monotonic()
import sqlalchemy.orm
T["SQLAlchemy (+ORM) imported"] = time.monotonic()
import services.core, ui.console, ui.main_window
T["Sitrep's modules imported"] = time.monotonic()
from services.core import Sitrep
_open = Sitrep.open.__func__
def _opened(cls, *a, **k):
    r = _open(cls, *a, **k); T["store opened"] = time.monotonic(); return r
Sitrep.open = classmethod(_opened)
from ui.main_window import MainWindow
_init = MainWindow.__init__
def _built(self, *a, **k):
    T["QApplication (+ --demo seed)"] = time.monotonic(); _init(self, *a, **k); T["main window built"] = time.monotonic()
MainWindow.__init__ = _built
_write = sys.stdout.write
def _ready(s):
    if s.startswith("READY"):
        T["shown, painted and idle"] = time.monotonic()
    return _write(s)
sys.stdout.write = _ready
import bench.startup_probe
rc = bench.startup_probe.run_sitrep(sys.argv[1:])
first = prev = next(iter(T.values()))
for name, t in T.items():
    print(f"{name:28} {1000 * (t - first):7.1f} ms   +{1000 * (t - prev):6.1f}", file=sys.stderr)
    prev = t
"""


def profile_phases(tmp: Path, entries: int) -> None:
    from bench.fixtures import build_console_store
    from bench.startup_bench import has_demo

    build_console_store(tmp / "console")
    variants = {"an existing store": ["--data-dir", str(tmp / "console")]}
    if has_demo():
        variants["--demo"] = ["--demo"]
    env = child_env()
    for label, args in variants.items():
        for run in range(3):  # the first writes bytecode and settings; show the others
            spawned = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-c", PHASES_CODE, repr(spawned), *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            if run:
                print(f"-- {label}")
                print(
                    "\n".join(
                        line
                        for line in proc.stderr.splitlines()
                        if line[:1] not in (" ", "") and ("ms" in line)
                    )
                )
                print()


PROFILES = {
    "append": profile_append,
    "open": profile_open,
    "live": profile_live,
    "startup": profile_startup,
    "phases": profile_phases,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(PROFILES))
    p.add_argument("--entries", type=int, default=100_000, help="timeline length for open/live")
    p.add_argument("--html", type=Path, help="write pyinstrument's HTML page here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sitrep-profile-") as tmp:
        profiler = PROFILES[args.name](Path(tmp), args.entries)
        if profiler is None:
            return 0
        if args.html:
            args.html.write_text(profiler.output_html(), encoding="utf-8")
            print(f"written to {args.html}")
        else:
            print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
