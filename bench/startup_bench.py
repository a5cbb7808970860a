"""Benchmark 3: process start until the main window is shown and idle, vs a bare PySide6 QMainWindow.

Both are fresh interpreters started the same way (`python -c`, same environment, offscreen), and both
report readiness through bench/startup_probe.py. The clock starts in this process just before the
child is spawned, so interpreter start-up and every import count. The subject opens the `--demo`
store when services/demo.py exists, otherwise a store seeded by bench.fixtures (a few incidents,
one live) with `--data-dir`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.child import ROOT, child_env
from bench.fixtures import build_console_store
from bench.measure import interleave, result
from bench.scale import Scale

NAME = "startup"
TARGET_RATIO = 1.5
TIMEOUT_S = 60

SUBJECT_CODE = "import sys; from bench.startup_probe import run_sitrep; sys.exit(run_sitrep(sys.argv[1:]))"
FLOOR_CODE = "import sys; from bench.startup_probe import run_floor; sys.exit(run_floor())"


def has_demo() -> bool:
    return (ROOT / "services" / "demo.py").is_file()


def start_once(code: str, args: list[str]) -> tuple[float, float]:
    """(ms from spawn to shown-and-idle, ms from spawn to exit) for one child."""
    env = child_env()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"start-up child never became ready:\n{err[-3000:]}") from None
    t_exit = time.monotonic()
    for line in out.splitlines():
        if line.startswith("READY "):
            return (float(line.split()[1]) - t0) * 1000, (t_exit - t0) * 1000
    raise RuntimeError(f"start-up child exited {proc.returncode} without becoming ready:\n{err[-3000:]}")


def run(scale: Scale, workdir: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-startup-", dir=workdir) as tmp:
        if has_demo():
            args, store = ["--demo"], "--demo (services/demo.py)"
        else:
            data_dir = Path(tmp) / "console"
            build_console_store(data_dir)
            args, store = (
                ["--data-dir", str(data_dir)],
                "a seeded store (services/demo.py not on this branch)",
            )
        exits: dict[str, list[float]] = {"subject": [], "floor": []}

        def subject() -> float:
            ready, gone = start_once(SUBJECT_CODE, args)
            exits["subject"].append(gone)
            return ready

        def floor() -> float:
            ready, gone = start_once(FLOOR_CODE, [])
            exits["floor"].append(gone)
            return ready

        if scale.warmup:  # untimed: settings files and bytecode caches appear, the OS caches libraries
            subject()
            floor()
            exits = {"subject": [], "floor": []}
        subject_rounds, floor_rounds = interleave(subject, floor, scale.rounds)
    return result(
        NAME,
        "Start-up: process start to main window shown and idle",
        subject=f"python -c 'app main' on {store}",
        floor="python -c: QApplication + bare QMainWindow (1400x880) shown",
        subject_rounds=subject_rounds,
        floor_rounds=floor_rounds,
        ratio_at_most=TARGET_RATIO,
        extra={"store": store, "subject_exit_ms": exits["subject"], "floor_exit_ms": exits["floor"]},
    )
