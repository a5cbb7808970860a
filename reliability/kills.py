"""Writers killed with SIGKILL at random moments, and four writers at once on one incident."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from reliability.common import ROOT, Figure, Size, child_env
from services.core import Sitrep


def _new_store(data: Path) -> str:
    data.mkdir(parents=True, exist_ok=True)
    app = Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", backups_dir=data / "backups")
    try:
        return app.incidents.declare("Checkout: payments failing", "SEV2", author="reliability").key
    finally:
        app.close()


def _writer(data: Path, tag: str, incident: str, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "reliability.child", "writer", str(data), tag, incident, str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(), cwd=ROOT,
    )  # fmt: skip


def _stored(data: Path, incident: str) -> tuple[Counter, object, str]:
    """Bodies and severity-change reasons stored, the verify report, and the incident's severity."""
    app = Sitrep.open(f"sqlite:///{data / 'sitrep.db'}")
    try:
        inc = app.incidents.get(incident)
        seen: Counter = Counter()
        for e in app.timeline.entries(inc.id):
            if e.kind == "severity_change":
                seen[f"severity {(e.data or {}).get('reason')}"] += 1
            else:
                seen[f"entry {e.body}"] += 1
        return seen, app.integrity.verify(), inc.severity
    finally:
        app.close()


def write_kills(size: Size, work: Path) -> Figure:
    """A writer is killed at a random moment after it started writing, `size.kills` times."""
    fig = Figure("kill -9 mid-write")
    data = work / "kills"
    incident = _new_store(data)
    rng = random.Random(20)
    acked: list[str] = []
    for run in range(size.kills):
        proc = _writer(data, f"k{run}", incident, 10_000)
        first = proc.stdout.readline()  # it is writing
        if first:
            acked.append(first.rstrip("\n"))
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        # Only whole lines are acknowledgements: a line cut by the kill was never finished.
        lines = out.split("\n")
        acked += [line for line in lines[:-1] if line]
        if "Traceback" in err:
            fig.internal_errors += 1
            fig.missed.append(f"run {run}: {err.strip().splitlines()[-1]}")
        fig.runs += 1
    acked = [a for a in acked if not a.startswith(("refused", "skipped"))]
    seen, report, _ = _stored(data, incident)
    fig.acknowledged = len(acked)
    fig.lost = sum(1 for a in acked if seen[a] == 0)
    fig.duplicated = sum(n - 1 for n in seen.values() if n > 1)
    if not report.ok:
        fig.missed += [f"verify after the kills: {b}" for b in report.breaks]
    fig.notes.append(f"{report.entries} entries stored; verify {'holds' if report.ok else 'FAILS'}")
    return fig


def concurrent_writers(size: Size, work: Path) -> Figure:
    """`size.writers` processes log into the same incident at once."""
    fig = Figure("concurrent writers")
    data = work / "concurrent"
    incident = _new_store(data)
    procs = [_writer(data, f"w{n}", incident, size.entries_per_writer) for n in range(size.writers)]
    acked: list[str] = []
    refused = 0
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        for line in out.splitlines():
            if line.startswith("refused"):
                refused += 1
                fig.missed.append(line)  # a lock error is a failure here: writers must queue
            elif line and not line.startswith("skipped"):
                acked.append(line)
        if proc.returncode != 0 or "Traceback" in err:
            fig.internal_errors += 1
            fig.missed.append(f"a writer ended with {proc.returncode}: {err.strip()[-300:]}")
    fig.runs = len(procs)
    seen, report, _ = _stored(data, incident)
    fig.acknowledged = len(acked)
    fig.lost = sum(1 for a in acked if seen[a] == 0)
    fig.duplicated = sum(n - 1 for n in seen.values() if n > 1)
    fig.refused_clearly = refused
    if not report.ok:
        fig.missed += [f"verify: {b}" for b in report.breaks]
    fig.notes.append(f"{size.writers} writers x {size.entries_per_writer} writes; lock errors {refused}")
    return fig
