"""The demo's problem record: the SEV1's cause (the settle-eu batch exhausting the payments-db-eu pool) struck
six weeks earlier too. That older incident comes in the way a real one would, from a history file another tool
wrote (`sitrep import-history`); the commander links both to one known error, whose workaround is what the
people on the SEV1 see. A change that may have caused the SEV1 (the payments-api 4.12 rollout) is linked by
hand, as the change system's number was read out on the bridge."""

from __future__ import annotations

import csv
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from models.enums import Milestone
from services.core import Sitrep
from services.record.views import IncidentView

OLDER_REF = "ops-tracker-2291"  # the older incident's number in the tool it came from


def _write_older_incident(folder: Path, impact: datetime) -> Path:
    t = lambda minutes: (impact + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    path = folder / "payments-history.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ref", "title", "severity", "service", "impact_started_at", "detected_at", "resolved_at"])
        w.writerow([OLDER_REF, "Card payments declined in the EU during the settlement run", "SEV2",
                    "payments-api;payments-db-eu", t(0), t(6), t(71)])  # fmt: skip
    return path


def seed_problems(sitrep: Sitrep, sev1: IncidentView, end: datetime) -> None:
    """Import the older incident, record the known error, link both incidents and the SEV1's suspected change."""
    with tempfile.TemporaryDirectory(prefix="sitrep-demo-problem-") as folder:
        path = _write_older_incident(Path(folder), end - timedelta(days=41, hours=5))
        sitrep.history.import_file(path, author="priya.nair")
    older = next(i for i in sitrep.incidents.list(limit=500) if i.title.startswith("Card payments declined in the EU"))
    problem = sitrep.problems.add(
        "payments-db-eu connection pool exhausted by the settle-eu batch", author="lucas.silva",
        description="The nightly settle-eu batch opens connections without a cap; when it overruns into the EU "
        "morning peak, card authorisations wait for a connection and time out.",
        root_cause="settle-eu has no connection limit of its own and shares payments-db-eu's pool of 480.",
        workaround="Pause settle-eu (scheduler ▸ settle-eu ▸ Pause), then recycle the payments-api pods in "
        "eu-west-1: the pool drains within two minutes. Resume the batch after the peak.",
        owner="lucas.silva",
    )  # fmt: skip
    sitrep.problems.link(older.key, problem.key, author="priya.nair", why="the same pool exhaustion")
    sitrep.problems.link(sev1.key, problem.key, author="ana.ruiz",
                         why="pool at 100% before the rollout, as six weeks ago")  # fmt: skip
    started = sev1.milestone(Milestone.IMPACT_STARTED) or end
    sitrep.change_links.link(sev1.key, author="ana.ruiz", ref="CHG0041207", ci="payments-api",
                             summary="payments-api 4.12.0 rollout, eu-west-1 only",
                             changed_at=started - timedelta(minutes=2),
                             why="errors began two minutes after it")  # fmt: skip
