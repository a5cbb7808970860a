"""What the sync outbox costs an entry being logged: the entry rate with every backend enabled against none.

With backends enabled, `timeline.log` runs the outbox writer inside the append transaction (under the write
lock): it reads the incident's sync facts, asks each adapter what it is owed and inserts the items. Nothing
is sent here (no worker runs), so the difference between the two rates is the hook alone.

    .venv/bin/python -m bench.outbox_bench [scale]     # scale 1.0 = 2,000 entries each way
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_SETTING_SAMPLES = {"str": "bench", "url": "http://127.0.0.1:9", "int": 1, "float": 1.0, "bool": True,
                    "list": ["bench"], "map": {"bench": "bench"}}  # fmt: skip


def _enable_every_backend(app) -> list[str]:
    """Every installed backend switched on with a value for each setting it requires (no network is used:
    nothing is sent)."""
    for name, cls in app.sync.available.items():
        values: dict[str, Any] = {"enabled": True}
        for f in cls.fields:
            if f.required and f.default in (None, "", [], {}):
                values[f.key] = _SETTING_SAMPLES.get(f.kind, "bench")
        app.sync.configure(name, values)
    return sorted(app.sync.writer.adapters)


def _rate(app, incident_id: str, n: int) -> tuple[float, float]:
    """Entries per second (wall) and CPU ms per entry, over n entries logged one by one."""
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(n):
        app.timeline.log(incident_id, f"decision {i}", author="bench", kind="decision", rationale="bench")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, cpu / n * 1000


def run_outbox_benchmarks(scale: float = 1.0) -> list[dict]:
    from services.core import Sitrep
    from services.storage.secrets import MemorySecrets

    n = max(20, int(2000 * scale))
    rounds = 3 if scale >= 0.2 else 1
    with tempfile.TemporaryDirectory(prefix="sitrep-outbox-bench-") as tmp:
        data = Path(tmp)
        secrets = MemorySecrets({})
        app = Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", config_dir=data / "config",
                          sync_options={"secrets": secrets})  # fmt: skip
        try:
            inc = app.incidents.declare("Bench incident", "SEV2", author="bench", services=["checkout"])
            for name, cls in app.sync.available.items():
                for s in cls.secrets:
                    secrets.set(name, s.name, "bench-secret")
            off, on, off_cpu, on_cpu = [], [], [], []
            enabled: list[str] = []
            for _ in range(rounds):  # alternated, so both sides see the same load
                app.sync.writer.adapters = {}
                rate, cpu = _rate(app, inc.id, n)
                off.append(rate)
                off_cpu.append(cpu)
                enabled = _enable_every_backend(app)
                rate, cpu = _rate(app, inc.id, n)
                on.append(rate)
                on_cpu.append(cpu)
            items = app.sync.queue.counts()
        finally:
            app.close()
    owed = sum(sum(v.values()) for v in items.values())
    return [{
        "name": "outbox_hook_entry_rate", "entries": n, "rounds": rounds, "backends": enabled,
        "items_per_s": round(statistics.median(on), 1), "ceiling_per_s": round(statistics.median(off), 1),
        "ratio_of_ceiling": round(statistics.median(on) / statistics.median(off), 3),
        "cpu_ms_per_entry": {"every_backend": round(statistics.median(on_cpu), 3),
                             "no_backend": round(statistics.median(off_cpu), 3)},
        "outbox_items_written": owed,
    }]  # fmt: skip


if __name__ == "__main__":
    for row in run_outbox_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(row)
