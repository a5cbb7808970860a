"""Benchmark 3: process start until the main window is shown and idle, vs a bare PySide6 QMainWindow.

Both are fresh interpreters started the same way (`python -c`, same environment, offscreen), and both
report readiness through bench/startup_probe.py. The clock starts in this process just before the
child is spawned, so interpreter start-up and every import count. The subject opens the `--demo`
store when services/demo.py exists, otherwise a store seeded by bench.fixtures (a few incidents,
one live) with `--data-dir`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.child import ROOT, child_env
from bench.fixtures import build_console_store
from bench.measure import result
from bench.scale import Scale

NAME = "startup"
TARGET_RATIO = 1.5
TIMEOUT_S = 60

SUBJECT_CODE = "import sys; from bench.startup_probe import run_sitrep; sys.exit(run_sitrep(sys.argv[1:]))"
FLOOR_CODE = "import sys; from bench.startup_probe import run_floor; sys.exit(run_floor())"


def has_demo() -> bool:
    return (ROOT / "services" / "demo.py").is_file()


def start_once(code: str, args: list[str]) -> tuple[float, float, float]:
    """(ms from spawn to the first paint shown and idle, ms to every panel live, ms to exit) for one child."""
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
    marks = {line.split()[0]: (float(line.split()[1]) - t0) * 1000 for line in out.splitlines()
             if line.startswith(("READY ", "LIVE "))}  # fmt: skip
    if "READY" in marks:
        return marks["READY"], marks.get("LIVE", marks["READY"]), (t_exit - t0) * 1000
    raise RuntimeError(f"start-up child exited {proc.returncode} without becoming ready:\n{err[-3000:]}")


def run(scale: Scale, workdir: Path | None = None) -> list[dict]:
    """`startup` (the --demo store, as issue 7 asks, when services/demo.py exists) and
    `startup_existing_store` (the everyday start: a store that already holds the demo's content).

    --demo makes a fresh store every time: migrations and the demo's seeding are part of its start.
    """
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-startup-", dir=workdir) as tmp:
        data_dir = Path(tmp) / "console"
        build_console_store(data_dir)
        existing = (["--data-dir", str(data_dir)], "an existing store with the demo's content")
        subjects = (
            {"startup": (["--demo"], "--demo (a fresh store, migrated and seeded)")} if has_demo() else {}
        )
        if not subjects or scale.every_variant:
            subjects["startup_existing_store" if subjects else "startup"] = existing
        ready: dict[str, list[float]] = {name: [] for name in [*subjects, "floor"]}
        live: dict[str, list[float]] = {name: [] for name in ready}
        gone: dict[str, list[float]] = {name: [] for name in ready}

        def start(name: str) -> None:
            code, args = (FLOOR_CODE, []) if name == "floor" else (SUBJECT_CODE, subjects[name][0])
            t_ready, t_live, t_gone = start_once(code, args)
            ready[name].append(t_ready)
            live[name].append(t_live)
            gone[name].append(t_gone)

        order = list(ready)
        if scale.warmup:  # untimed: settings files and bytecode caches appear, the OS caches libraries
            for name in order:
                start(name)
            for values in (*ready.values(), *live.values(), *gone.values()):
                values.clear()
        for r in range(scale.rounds):  # each round starts every variant once, in a rotated order
            for name in order[r % len(order) :] + order[: r % len(order)]:
                start(name)
    return [
        result(
            name,
            f"Start-up to the first paint shown and idle: {store}",
            subject=f"python -c 'app main' {' '.join(args) if args[0] == '--demo' else '--data-dir DIR'}",
            floor="python -c: QApplication + bare QMainWindow (1400x880) shown",
            subject_rounds=ready[name],
            floor_rounds=ready["floor"],
            ratio_at_most=TARGET_RATIO,
            extra={
                "store": store,
                # The subject's figure is its first paint; the console is fully live (every panel built
                # on the services, painted and idle) at this time:
                "all_panels_live_ms": live[name],
                "all_panels_live_ms_median": statistics.median(live[name]),
                "subject_exit_ms": gone[name],
                "floor_exit_ms": gone["floor"],
            },
        )
        for name, (args, store) in subjects.items()
    ]
