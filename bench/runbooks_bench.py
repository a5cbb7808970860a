"""Runbooks: how long the panel takes to show a 200-step runbook run, and what Sitrep adds to an
ansible-runner call (gates, provenance, step events and timeline entries around the same playbook run
directly through `ansible_runner.run`).

    QT_QPA_PLATFORM=offscreen python -m bench.runbooks_bench [scale]   # scale 1: 200 steps, 5 playbook runs
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from services.adapters.ansible import inventory_text
from services.core import Sitrep
from services.runbooks.library import SHIPPED_FOLDER, RunbookLibrary

_HEADER = """---
title: Long runbook
services: [checkout]
incident_types: [service_outage]
owner: bench
review_interval: 90d
version: 1
---
"""


def _long_runbook(folder: Path, steps: int) -> None:
    body = "".join(f"## {n}. Check item {n}\nkind: manual\n\nLook at dashboard {n} and note what you see.\n\n"
                   for n in range(1, steps + 1))  # fmt: skip
    (folder / "long.md").write_text(_HEADER + "\n" + body)


def bench_panel_200_steps(scale: float) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from services.storage.paths import Paths
    from ui.console import build_context
    from ui.panels.runbooks import RunbooksPanel

    steps = max(20, int(200 * scale))
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "books").mkdir()
        _long_runbook(root / "books", steps)
        s = Sitrep.open(f"sqlite:///{root / 'sitrep.db'}", config_dir=root / "config")
        try:
            s.runbooks.library = RunbookLibrary([root / "books"], include_shipped=False)
            s.people.add("Ines", "ines")
            inc = s.incidents.declare("Checkout errors", "SEV2", author="ines", services=["checkout"])
            run = s.runbooks.start("long", author="ines", incident=inc.id)
            for n in range(1, steps // 2):
                s.runbooks.tick(run.id, n, author="ines")
            paths = Paths(root, root / "config", root / "logs", root / "backups")
            paths.create()
            ctx = build_context(s, paths=paths, author="ines")
            panel = RunbooksPanel(ctx)
            panel.resize(1000, 700)
            panel.show()
            times = []
            for _ in range(7):
                started = time.perf_counter()
                panel.show_run(s.runbooks.run(run.id))  # read the run (file + events), fold, fill the table
                app.processEvents()
                times.append((time.perf_counter() - started) * 1000)
            panel.close()
            ctx.notifier.close()
        finally:
            s.close()
    return {"name": "runbook panel shows a run", "subject_ms": float(round(statistics.median(times), 1)),
            "floor_ms": None, "steps": steps, "half_ticked": True,
            "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def bench_overhead_over_ansible_runner(scale: float) -> dict[str, Any]:
    import ansible_runner

    rounds = max(2, int(5 * scale))
    playbook = SHIPPED_FOLDER / "playbooks" / "check_previous_release.yml"
    direct, through = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work = root / "work"
        for _ in range(rounds):
            private = Path(tempfile.mkdtemp(dir=root))
            (private / "inventory").write_text(inventory_text("localhost,"))
            started = time.perf_counter()
            result = ansible_runner.run(private_data_dir=str(private), project_dir=str(playbook.parent),
                                        playbook=str(playbook), inventory=str(private / "inventory"),
                                        extravars={"sitrep_work_dir": str(work)}, quiet=True,
                                        envvars={"PATH": str(Path(sys.executable).parent) + os.pathsep
                                                 + os.environ.get("PATH", "")},
                                        suppress_env_files=True)  # fmt: skip
            direct.append(time.perf_counter() - started)
            assert result.status == "successful", result.status
        s = Sitrep.open(f"sqlite:///{root / 'sitrep.db'}", config_dir=root / "config")
        try:
            s.people.add("Ines", "ines")
            inc = s.incidents.declare("Checkout errors", "SEV2", author="ines", services=["checkout"])
            for _ in range(rounds):
                run = s.runbooks.start("cache-flush", author="ines", incident=inc.id)
                started = time.perf_counter()
                view = s.runbooks.run_step(run.id, 1, author="ines")  # the same playbook, as a diagnostic
                through.append(time.perf_counter() - started)
                assert view.state_of(1).state == "passed", view.state_of(1).summary
        finally:
            s.close()
    d, t = statistics.median(direct), statistics.median(through)
    # The floor is the same playbook through ansible-runner directly, measured in the same run.
    return {"name": "overhead over a direct ansible-runner call", "subject_ms": float(round(t * 1000, 1)),
            "floor_ms": float(round(d * 1000, 1)), "rounds": rounds,
            "direct_median_s": round(d, 2), "sitrep_median_s": round(t, 2),
            "overhead_median_ms": round((t - d) * 1000), "overhead_pct": round((t - d) / d * 100, 1)}


def run_runbooks_benchmarks(scale: float = 1.0) -> list[dict[str, Any]]:
    return [bench_panel_200_steps(scale), bench_overhead_over_ansible_runner(scale)]


if __name__ == "__main__":  # python -m bench.runbooks_bench [scale]
    for row in run_runbooks_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(json.dumps(row))
