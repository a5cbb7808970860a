"""The review panel makes the B6 document from the record each time it is read (the panel on every change;
`sitrep review export`): the timeline, roles, clocks, metrics and action items of one incident, rendered to
Markdown and HTML. Measured against a long incident record.

    python -m bench.review_bench [scale]     # scale 1: 2,000 timeline entries; the floor reads them raw
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from models.enums import Status
from services.core import Sitrep


def _median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_review_document(scale: float) -> dict[str, Any]:
    entries = max(100, int(2000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sitrep.db"
        app = Sitrep.open(f"sqlite:///{db}")
        try:
            app.people.add("Ana Ruiz", "ana", email="ana@example.com")
            inc = app.incidents.declare("Checkout down", "SEV1", author="ana", affected_users=500)
            app.roles.assign(inc.key, "IC", "ana", author="ana")
            for n in range(entries):
                kind = ("note", "assumption", "observation", "action")[n % 4]
                app.timeline.log(inc.id, f"entry {n}: checked the pool and the gateway", author="ana", kind=kind)
            app.incidents.set_status(inc.key, Status.RESOLVED, author="ana")
            for n in range(5):
                app.action_items.add(inc.key, f"Add check {n}", category="detect", owner="ana", author="ana")
            markdown = _median_ms(lambda: app.reviews.markdown(inc.key), 10)
            html = _median_ms(lambda: app.reviews.report_html(inc.key), 10)
            raw = sqlite3.connect(db)
            floor = _median_ms(lambda: raw.execute("SELECT seq, kind, body, author, occurred_at, data FROM "
                                                   "timeline_entries").fetchall(), 10)  # fmt: skip
            raw.close()
        finally:
            app.close()
    return {"name": "review_document", "subject_ms": round(markdown, 1), "html_ms": round(html, 1),
            "floor_ms": round(floor, 2), "entries": entries,
            "target": "under 250 ms at 2,000 entries: the panel re-reads it on a change"}  # fmt: skip


def run_review_benchmarks(scale: float = 1.0) -> list[dict[str, Any]]:
    return [bench_review_document(scale)]


if __name__ == "__main__":  # python -m bench.review_bench [scale]
    import sys

    for row in run_review_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(json.dumps(row))
