"""From an alert group to an incident: a triage walk's outcome recorded, the group declared with its
alerts linked and on the timeline, detected set from the first alert, the commander named, the
bridge opened for the levels that demand it, and adjacent services put on the incident's watch list."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select, update

from models.entities import Alert, IncidentWatch
from models.enums import EntryKind, Milestone
from services.adapters.bridge import BridgeError, BridgeLink, load_bridge
from services.adapters.interface import Posts
from services.adapters.values import IncidentFacts
from services.detection.alerts import AlertService
from services.detection.correlation import AlertGroup
from services.detection.triage import Walk, load_trees
from services.errors import SitrepError, ValidationError
from services.record.timeline import append_entry
from services.record.views import IncidentView
from services.sync.posting import post_to_backends

log = logging.getLogger(__name__)
A = Alert.__table__
W = IncidentWatch.__table__
BRIDGE_ALWAYS = ("SEV1",)  # obligations that start at declaration


@dataclass(frozen=True)
class Declared:
    incident: IncidentView
    walk_id: str
    bridge: BridgeLink | None
    bridge_problem: str | None
    watched: tuple[str, ...]
    commander: str | None


class TriageService:
    def __init__(self, sitrep, config_dir: Path | None, now: Callable[[], datetime], publish) -> None:
        self._s = sitrep
        self._config_dir = config_dir
        self._now = now
        self._publish = publish

    @property
    def alerts(self) -> AlertService:
        return self._s.alerts

    def trees(self):
        return load_trees(self._config_dir, set(self._s.catalog.severities))

    def record_outcome(self, group: AlertGroup, walk: Walk, *, author: str) -> str:
        """A walk that ended without an incident (noise, or a ticket): kept for the alert-quality view."""
        if not walk.done or walk.outcome.verdict == "incident":
            raise ValidationError("Only a finished walk that is not an incident is recorded this way.")
        alerts = self.alerts.alerts_of(group)
        with self._s.store.transaction() as s:
            walk_id = self.alerts.record_walk(s.connection(), tree=walk.tree.id, alerts=alerts, path=walk.path,
                                              outcome=walk.outcome.end, verdict=walk.outcome.verdict,
                                              incident_id=None, author=author, now=self._now())  # fmt: skip
        self._publish("alerts", None, None)
        return walk_id

    def declare_group(self, group: AlertGroup, walk: Walk, *, title: str, author: str, severity: str | None = None,
                      open_bridge: bool | None = None) -> Declared:  # fmt: skip
        if not walk.done or walk.outcome.verdict != "incident":
            raise ValidationError("The triage walk has not ended in 'incident'; nothing to declare.")
        severity = severity or walk.outcome.propose_severity
        if not severity:
            raise ValidationError("Choose a severity.", field="severity")
        alerts = self.alerts.alerts_of(group)
        if not alerts:
            raise ValidationError("The group's alerts are gone (resolved or already declared); refresh.")
        first = alerts[0]
        summary = (f"From {group.size} correlated alert(s) across {', '.join(group.services) or 'unknown services'}; "
                   f"likely origin {group.origin or 'unknown'} ({group.origin_reason}). Triage: {walk.outcome.end}")  # fmt: skip
        inc = self._s.incidents.declare(title, severity, author=author, summary=summary, services=group.services,
                                        detected_at=min(first.starts_at, self._now()))  # fmt: skip
        now = self._now()
        adjacent = sorted({n for svc in group.services for n in self.alerts.standard.services.adjacent(svc)}
                          - set(group.services))  # fmt: skip
        hooks = self._s.store.entry_hooks
        with self._s.store.transaction() as s:
            db = s.connection()
            walk_id = self.alerts.record_walk(db, tree=walk.tree.id, alerts=alerts, path=walk.path,
                                              outcome=walk.outcome.end, verdict="incident", incident_id=inc.id,
                                              author=author, now=now)  # fmt: skip
            steps = "; ".join(f"{p['node']}: {p.get('answer') or p.get('do')}" for p in walk.path)
            append_entry(db, inc.id, EntryKind.DECISION, f"Triage ({walk.tree.title}): {walk.outcome.end}",
                         author=author, now=now, rationale=steps,
                         data={"triage": {"tree": walk.tree.id, "path": walk.path, "walk_id": walk_id}}, hooks=hooks)  # fmt: skip
            for a in alerts:
                db.execute(update(A).where(A.c.id == a.id).values(incident_id=inc.id))
                append_entry(db, inc.id, EntryKind.ALERT,
                             f"Alert {a.rule} on {a.service or '?'} ({a.severity}, {a.layer or 'layer unknown'}): {a.summary}",
                             author="alerts", now=now, occurred_at=a.starts_at, source=f"alert:{a.source}",
                             data={"alert_id": a.id, "fingerprint": a.fingerprint, "labels": a.labels}, hooks=hooks)  # fmt: skip
            for svc in adjacent:
                because = next((g for g in group.services if svc in self.alerts.standard.services.adjacent(g)), "")
                db.execute(insert(W), {"incident_id": inc.id, "service": svc, "because_of": because, "since": now})
            if adjacent:
                append_entry(db, inc.id, EntryKind.SYSTEM, f"Watching adjacent services for spread: {', '.join(adjacent)}",
                             author="sitrep", now=now, data={"watch": adjacent}, hooks=hooks)  # fmt: skip
        commander = self._name_commander(inc.id, author)
        bridge, problem = None, None
        if open_bridge or (open_bridge is None and severity in BRIDGE_ALWAYS):
            bridge, problem = self.open_bridge(inc.id, author=author)
        self._publish("alerts", inc.id, None)
        return Declared(self._s.incidents.get(inc.id), walk_id, bridge, problem, tuple(adjacent), commander)

    def _name_commander(self, incident_id: str, author: str) -> str | None:
        """The declarer is commander until relieved (B5 T1), when they are in the directory."""
        try:
            self._s.roles.assign(incident_id, "IC", author, author="sitrep")
            return author
        except SitrepError as exc:
            log.info("declarer %s not named commander: %s", author, exc)
            return None

    def open_bridge(self, ref: str, *, author: str) -> tuple[BridgeLink | None, str | None]:
        """Open the bridge, post its link, and meet the bridge clock. A provider that fails leaves the
        clock running and says why (the incident is declared either way)."""
        inc = self._s.incidents.get(ref)
        try:
            provider = load_bridge(self._config_dir)
            if provider is None:
                raise BridgeError("No bridge is set up (Tools ▸ Bridge… or `sitrep alerts bridge --template`).")
            facts = IncidentFacts(inc.id, inc.key, inc.title, inc.summary, inc.severity, inc.status.value,
                                  inc.is_major, inc.is_exercise, tuple(inc.services), inc.source)  # fmt: skip
            link = provider.open_bridge(facts)
        except BridgeError as exc:
            return None, str(exc)
        except Exception as exc:  # an API provider's failure must not lose the declaration
            log.exception("bridge provider failed")
            return None, f"The bridge provider failed ({type(exc).__name__}); open the call by hand."
        text = f"Bridge open: {link.url}" + (f" (dial-in {link.dial_in})" if link.dial_in else "")
        targets = [n for n, a in self._s.sync.writer.adapters.items() if isinstance(a, Posts)]
        if targets:
            post_to_backends(self._s, inc.id, text, targets, author=author)
        else:
            self._s.timeline.log(inc.id, text, author=author, kind=EntryKind.ACTION,
                                 data={"bridge": {"url": link.url, "provider": link.provider}})  # fmt: skip
        if inc.milestone(Milestone.BRIDGE_OPENED) is None:
            self._s.incidents.set_milestone(inc.id, Milestone.BRIDGE_OPENED, self._now(), author=author)
        return link, None

    def watch_list(self, incident_id: str) -> list[tuple[str, str]]:
        with self._s.store.read_connection() as db:
            return [(r.service, r.because_of) for r in db.execute(select(W).where(W.c.incident_id == incident_id))]
