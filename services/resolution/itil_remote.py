"""Reading problem and change records from the tracker that holds them (an adapter declaring TracksItil: Jira).

Each call is one blocking look-up a person asked for: the console runs it on a worker, never the GUI thread.
A backend that is not set up, an unknown key, a wrong issue type or a backend answering 429/5xx becomes a
SitrepError saying so; nothing is linked or stored until a record has been read whole.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models.enums import Milestone
from services.adapters.failures import SyncFailure, TransientFailure
from services.adapters.interface import TracksItil
from services.adapters.values import ItilRecord
from services.errors import SitrepError, ValidationError
from services.record.views import IncidentView


class ItilTracker:
    def __init__(self, sync) -> None:
        self._sync = sync

    def backends(self) -> list[str]:
        """The installed backends that hold problem and change records."""
        return sorted(n for n, cls in self._sync.available.items() if issubclass(cls, TracksItil))

    def backend(self, name: str | None = None) -> str:
        names = self.backends()
        if name is None:
            if not names:
                raise ValidationError("No installed backend holds problem or change records (Jira does).", field="backend")
            ready = [n for n in names if self._sync.readiness(n).ready]
            return (ready or names)[0]
        if name not in names:
            raise ValidationError(f"'{name}' does not hold problem or change records; use one of: "
                                  f"{', '.join(names) or 'none installed'}.", field="backend")  # fmt: skip
        return name

    def _adapter(self, name: str):
        ready = self._sync.readiness(name)
        if not ready.ready:
            raise ValidationError(f"{ready.label} is not set up (enable it and fill in its settings: Tools ▸ Backends… "
                                  f"in the console, or `sitrep backend show {name}`). Nothing was linked.",
                                  field="backend")  # fmt: skip
        return self._sync.adapter_class(name)(self._sync.settings.backend(name), self._sync.secrets)

    def _call(self, adapter, what: str, fn):
        with self._sync.read_back_session(adapter) as http:
            try:
                return fn(adapter, http)
            except TransientFailure as exc:
                raise SitrepError(f"Could not read {what} from {adapter.itil_label}: {exc.message} Try again "
                                  "shortly; nothing was linked.") from None  # fmt: skip
            except SyncFailure as exc:
                raise SitrepError(f"{exc.message} Nothing was linked.") from None

    def record(self, key: str, kind: str, backend: str | None = None) -> tuple[str, ItilRecord]:
        name = self.backend(backend)
        key = (key or "").strip().upper()
        adapter = self._adapter(name)
        problem = adapter.itil_ref_problem(key)
        if problem:
            raise ValidationError(problem + " Nothing was linked.", field="ref")
        return name, self._call(adapter, key, lambda a, http: a.itil_record(http, key, kind))

    def change_candidates(self, around: datetime, *, hours_before: float = 24.0, now: datetime,
                          backend: str | None = None) -> tuple[str, list[ItilRecord]]:  # fmt: skip
        """Change records made in the hours before `around` (an incident's start) up to now."""
        name = self.backend(backend)
        since = around - timedelta(hours=hours_before)
        rows = self._call(self._adapter(name), "the change records",
                                    lambda a, http: a.itil_changes(http, since=since, until=max(now, around)))  # fmt: skip
        return name, rows


def incident_start(inc: IncidentView) -> datetime:
    """Where a search for the changes that caused it looks back from: impact started, else detected, else declared."""
    for m in (Milestone.IMPACT_STARTED, Milestone.DETECTED, Milestone.DECLARED):
        if inc.milestone(m) is not None:
            return inc.milestone(m)
    return inc.created_at
