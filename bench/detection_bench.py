"""Correlating an alert storm: 10,000 firing alerts over twelve services, spread over four
hours, some sharing a cluster label; `correlate()` alone (pure) and `AlertService.groups()` (read from
SQLite, then correlate: what the Alerts panel does on each refresh). Intake of the same storm in one
batch is measured too (one transaction, deduplicated by fingerprint).

    python -m bench.detection_bench [scale]     # scale 1: 10,000 alerts
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.core import Sitrep
from services.detection.correlation import correlate
from services.detection.metadata import IncomingAlert, load_service_map

SERVICES = ("core-network", "postgres-main", "redis-cache", "payments", "identity", "checkout", "search",
            "notifications", "billing", "reports", "ledger", "gateway")  # fmt: skip


@dataclass
class _Alert:
    id: str
    rule: str
    service: str | None
    layer: str | None
    severity: str
    starts_at: datetime
    labels: dict[str, str] = field(default_factory=dict)


def storm(n: int, seed: int = 7) -> list[_Alert]:
    rnd = random.Random(seed)
    t0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    return [
        _Alert(f"a{i:06d}", f"Rule{rnd.randrange(200)}", rnd.choice(SERVICES), "application",
               rnd.choice(("warning", "warning", "critical")), t0 + timedelta(seconds=rnd.uniform(0, 4 * 3600)),
               {"cluster": f"c{rnd.randrange(40)}"} if rnd.random() < 0.3 else {})  # fmt: skip
        for i in range(n)
    ]


def _median_ms(fn, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), (max(times) - min(times)) / statistics.median(times)


def run_detection_benchmarks(scale: float = 1.0) -> list[dict[str, Any]]:
    n = max(100, int(10_000 * scale))
    services = load_service_map()
    alerts = storm(n)
    pure, spread = _median_ms(lambda: correlate(alerts, services), 7)
    groups = len(correlate(alerts, services))
    rows = [{"name": "correlate_storm", "subject_ms": round(pure, 1), "floor_ms": None, "spread": round(spread, 2),
             "alerts": n, "groups": groups, "target": "measured (issue 15): correlating a 10,000-alert storm"}]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = Sitrep.open(f"sqlite:///{root / 'sitrep.db'}", config_dir=root / "config")
        try:
            incoming = [IncomingAlert("bench", "alertmanager", a.id, {"alertname": a.rule, "service": a.service or "",
                                      "severity": a.severity, "env": "prod", "team": "t", **a.labels}, {},
                                      a.starts_at, None, False) for a in alerts]  # fmt: skip
            started = time.perf_counter()
            app.alerts.ingest(incoming)
            intake = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            app.alerts.ingest(incoming)  # the same storm re-sent (a poll): deduplicated
            again = (time.perf_counter() - started) * 1000
            panel, spread2 = _median_ms(app.alerts.groups, 5)
        finally:
            app.close()
    rows.append({"name": "ingest_storm", "subject_ms": round(intake, 1), "resent_ms": round(again, 1), "alerts": n,
                 "target": "one transaction per batch"})  # fmt: skip
    rows.append({"name": "groups_from_store", "subject_ms": round(panel, 1), "spread": round(spread2, 2), "alerts": n,
                 "target": "the Alerts panel's refresh: read firing alerts and correlate"})  # fmt: skip
    return rows


if __name__ == "__main__":  # python -m bench.detection_bench [scale]
    import sys

    for row in run_detection_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(json.dumps(row))
