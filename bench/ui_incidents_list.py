"""How the console's incidents list copes with a long history.

    PYTHONPATH=. QT_QPA_PLATFORM=offscreen python bench/ui_incidents_list.py [--incidents 10000]

Fills a scratch store with N incidents (bulk Core insert into the incidents table only: the list
reads nothing else), then times, best of 5: the full re-read the panel does on start-up and after
an import; the one-row re-read after a change to one incident; the fingerprint query that decides
whether a change made elsewhere needs a re-read; filtering; and, for comparison,
IncidentService.list (what `sitrep list` and the incident switcher use).

Measured 2026-11-27, 2-vCPU VM, Python 3.11.7, SQLite 3.40.1, 10,000 incidents, with the machine
busy (load average 6; an idle run read everything through Core in about 60 ms and
IncidentService.list in about 750 ms):

    full re-read (IncidentIndex.summaries)          150 ms   start-up, import, foreign change
    one incident re-read                            0.4 ms   after a status/severity/role change
    fingerprint (is a re-read needed?)              3.9 ms   on every "external" notice
    model fingerprint (in memory)                   0.9 ms
    three filter changes                             41 ms   ~14 ms per keystroke after debounce
    apply one changed incident                      2.2 ms   no sort unless its place changed
    IncidentService.list                           1700 ms   ORM objects for every row
    IncidentService.list(limit=300)                1670 ms   the limit is applied after reading all
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from models.entities import Incident
from models.enums import Status
from models.types import new_id, utcnow
from services.core import Sitrep
from services.record.incident_index import IncidentIndex


def fill(sitrep: Sitrep, n: int) -> None:
    rnd = random.Random(7)
    services = ["checkout", "payments-api", "search", "auth", "cdn", "mobile-api", "queue", "db-eu"]
    now = utcnow()
    rows = []
    for i in range(1, n + 1):
        declared = now - timedelta(minutes=(n - i) * 37)
        status = Status.CLOSED if i < n - 20 else rnd.choice(list(Status))
        rows.append(
            {
                "id": new_id(),
                "number": i,
                "key": f"INC-{i:04d}",
                "title": f"Imported incident {i}: {rnd.choice(services)} errors",
                "summary": "",
                "incident_type": "service_outage",
                "severity": rnd.choice(["SEV1", "SEV2", "SEV3", "SEV4"]),
                "status": status.value,
                "is_major": False,
                "is_exercise": False,
                "services": rnd.sample(services, rnd.randint(1, 3)),
                "source": "import",
                "created_at": declared,
                "updated_at": declared + timedelta(hours=2),
                "declared_at": declared,
            }
        )
    with sitrep.store.transaction() as s:
        s.execute(insert(Incident), rows)


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=10_000)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from ui.panels.incidents import IncidentFilter, IncidentListModel

    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 (models need one)
    with tempfile.TemporaryDirectory() as tmp:
        sitrep = Sitrep.open(f"sqlite:///{Path(tmp) / 'sitrep.db'}")
        fill(sitrep, args.incidents)
        index = IncidentIndex(sitrep.store)
        summaries = index.summaries()
        one = [summaries[len(summaries) // 2].id]
        model = IncidentListModel(utcnow)
        print(f"{args.incidents:,} incidents, best of 5, milliseconds")
        print(f"  full re-read (IncidentIndex.summaries)      {best(index.summaries):8.1f}")
        print(f"  one incident re-read                         {best(lambda: index.summaries(one)):8.1f}")
        print(f"  fingerprint (is a re-read needed?)           {best(index.fingerprint):8.1f}")
        print(
            f"  model reset with every row                   {best(lambda: model.set_summaries(summaries)):8.1f}"
        )
        model.set_summaries(summaries)
        print(f"  model fingerprint (in memory)                {best(model.fingerprint):8.1f}")
        flts = [IncidentFilter(status="open"), IncidentFilter(text="payments errors"), IncidentFilter()]
        print(
            f"  three filter changes                         {best(lambda: [model.set_filter(f) for f in flts]):8.1f}"
        )
        changed = index.summaries(one)
        print(
            f"  apply one changed incident                   {best(lambda: model.update_summaries(changed)):8.1f}"
        )
        print(f"  IncidentService.list (for comparison)        {best(sitrep.incidents.list, 3):8.1f}")
        print(
            f"  IncidentService.list(limit=300), as switcher {best(lambda: sitrep.incidents.list(limit=300), 3):8.1f}"
        )
        sitrep.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
