"""Wrote export-v1.json: a `sitrep export` made by main at 7624000, whose export schema was 1.

It is a file from the past, kept so that every later Sitrep proves it still reads what earlier ones wrote:
re-running this script now writes the current schema, so the committed file is never regenerated. The store
behind it has what a real one has: a whole SEV1 (handover brief, breaches, a backdated note, a
correction, a reopen), an incident imported from a Statuspage history (schema 1 did not carry its
external_ref), a major one closed after a severity change, and people.

Run (on main at 7624000): PYTHONPATH=. python tests/data/exchange/make_export_v1.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for whole_incident

from whole_incident import run_with_services  # noqa: E402

from services.core import Sitrep  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.value = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kw) -> datetime:
        self.value += timedelta(**kw)
        return self.value


def main() -> None:
    clock = Clock()
    with tempfile.TemporaryDirectory() as d:
        app = Sitrep.open(f"sqlite:///{Path(d) / 'sitrep.db'}", now=clock)
        try:
            key = run_with_services(app, clock)
            inc = app.incidents.get(key)
            first = app.timeline.entries(inc.id)[1]
            app.timeline.correct(
                first.id, "Payment errors at 45% on checkout-api", author="ana", reason="misread"
            )
            clock.advance(minutes=5)
            app.incidents.set_status(key, "investigating", author="ben", reason="errors are back")
            page = json.loads((HERE.parent / "statuspage" / "incidents.json").read_text(encoding="utf-8"))
            page["incidents"] = page["incidents"][:3]
            history = Path(d) / "incidents.json"
            history.write_text(json.dumps(page), encoding="utf-8")
            app.history.import_file(history, author="ana")
            clock.advance(minutes=5)
            other = app.incidents.declare("Search slow", "SEV3", author="ben", services=["search"])
            app.timeline.log(other.id, "p99 at 4 s", author="ben", kind="observation")
            app.incidents.set_major(other.id, True, author="ben", reason="partner API down too")
            app.incidents.set_severity(other.id, "SEV2", author="ben")
            clock.advance(minutes=30)
            app.incidents.set_status(other.id, "resolved", author="ben")
            app.incidents.set_status(other.id, "closed", author="ben")
            doc = app.exchange.export()
        finally:
            app.close()
    (HERE / "export-v1.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
