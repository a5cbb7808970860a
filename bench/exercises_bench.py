"""The facilitator's view evaluates the whole exercise once a second on the GUI thread (and so does each
player's Exercise panel): `ExerciseService.tick_state()` folds the events, reads what is new in the
record and checks every expected action. Measured against a long exercise record.

    python -m bench.exercises_bench [scale]     # scale 1: 1,000 timeline entries; the floor reads them raw
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from services.core import Sitrep
from services.exercises.scenario import load_scenarios
from services.exercises.session import open_exercise
from services.exercises.workspace import DATABASE, build_vocabulary, create_exercise


def _median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_tick_state(scale: float) -> dict[str, Any]:
    entries = max(100, int(1000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        real = Sitrep.open(f"sqlite:///{root / 'sitrep.db'}", config_dir=root / "config")
        try:
            real.people.add("Ana Ruiz", "ana")
            shelf = load_scenarios(None, build_vocabulary(real.catalog, real.comms))
            folder = create_exercise(real, shelf.scenarios["ransomware-data-theft"], facilitator="fran",
                                     data_dir=root, config_dir=root / "config")  # fmt: skip
        finally:
            real.close()
        ex = open_exercise(folder)
        try:
            ex.exercises.start(by="fran", speed=10)
            inc = ex.incidents.declare("Files encrypting", "SEV1", author="ana", incident_type="ransomware")
            for n in range(entries):
                ex.timeline.log(inc.id, f"note {n}: checked backups and hosts", author="ana")
            ex.exercises.tick_state()  # the first read loads the record; later ones read what is new
            subject = _median_ms(ex.exercises.tick_state, 30)
            raw = sqlite3.connect(folder / DATABASE)
            floor = _median_ms(lambda: raw.execute("SELECT seq, kind, body, author, recorded_at, data FROM "
                                                   "timeline_entries").fetchall(), 30)  # fmt: skip
            raw.close()
        finally:
            ex.close()
    return {"name": "exercise_tick_state", "subject_ms": round(subject, 2), "floor_ms": round(floor, 2),
            "entries": entries, "target": "well under 100 ms: it runs on the GUI thread once a second"}  # fmt: skip


def run_exercises_benchmarks(scale: float = 1.0) -> list[dict[str, Any]]:
    return [bench_tick_state(scale)]


if __name__ == "__main__":  # python -m bench.exercises_bench [scale]
    import sys

    for row in run_exercises_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(json.dumps(row))
