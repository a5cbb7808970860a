"""A status page's incident history in Statuspage's documented format (`page`, `incidents` with their
`incident_updates`): each incident's stages become milestones, each update a timeline entry.

What is assumed (also in docs/metrics.md and the README): the first update is the declaration (or the
detection, as the person chooses); impact started at `started_at`, never after the first update; identified
is the first "identified" update, mitigated the first "monitoring" one (else resolved), resolved the last
"resolved" one, closed the first "postmortem"; stage times are as the page shows them (`display_at`), and a
stage shown out of order is flagged, never moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.enums import EntryKind, Milestone, Status
from models.types import iso
from services.analytics.history_rows import (
    MILESTONE_NAMES,
    Candidate,
    Entry,
    HistoryReader,
    HistoryReport,
    Progress,
    RowError,
    RowProblem,
    clip,
    declaration_body,
    milestone_flags,
    parse_history_time,
    read_json,
)
from services.errors import ImportFailure


class StatuspageHistory(HistoryReader):
    """Reads a Statuspage incidents.json into candidates; nothing is written here."""

    def read(
        self, path: Path, tz: tzinfo, progress: Progress, first_update: str, doc: Any = None
    ) -> tuple[HistoryReport, list[Candidate]]:
        """`doc`: the file already parsed (telling its format parses it), else it is read here."""
        if doc is None:
            doc = read_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("incidents"), list):
            raise ImportFailure(f"{path}: not a Statuspage incidents.json (no 'incidents' list).")
        page = doc.get("page") if isinstance(doc.get("page"), dict) else {}
        page_id = str(page.get("id") or "")
        page_name = str(page.get("name") or page_id or "status page")
        page_tz = tz
        if isinstance(page.get("time_zone"), str):
            try:
                page_tz = ZoneInfo(page["time_zone"])
            except (ZoneInfoNotFoundError, ValueError):
                page_tz = tz
        report = HistoryReport(str(path), "statuspage", "statuspage")
        name = path.name
        candidates: list[Candidate] = []
        seen: set[str] = set()
        incidents = doc["incidents"]
        for n, raw in enumerate(incidents):
            if n and n % 500 == 0 and n < len(incidents):
                progress("reading", n, len(incidents))
            report.rows += 1
            ident = raw.get("id") if isinstance(raw, dict) else None
            where = f"incidents[{n}]" + (f" ({ident})" if isinstance(ident, str) else "")
            try:
                cand = self._statuspage_candidate(raw, page_id, page_name, page_tz, where, first_update)
            except RowError as exc:
                report.problems.append(RowProblem(name, where, str(exc)))
                continue
            if cand is None:
                report.skipped.append(RowProblem(name, where, "scheduled maintenance, not an incident"))
                continue
            if cand.external_ref in seen:
                report.problems.append(
                    RowProblem(name, where, "this incident appears twice in the file; left out")
                )
                continue
            seen.add(cand.external_ref)
            candidates.append(cand)
        progress("reading", len(incidents), len(incidents))
        return report, candidates

    _SP_STATUS = {
        "investigating": Status.INVESTIGATING,
        "identified": Status.IDENTIFIED,
        "monitoring": Status.MITIGATED,
        "resolved": Status.RESOLVED,
        "postmortem": Status.CLOSED,
    }
    _SP_MAINTENANCE = frozenset({"scheduled", "in_progress", "verifying", "completed"})
    _SP_SEVERITY = {"critical": "SEV1", "major": "SEV2", "minor": "SEV3", "none": "SEV4"}

    def _statuspage_candidate(
        self, raw: Any, page_id: str, page_name: str, tz: tzinfo, where: str, first_update: str
    ) -> Candidate | None:
        if not isinstance(raw, dict):
            raise RowError("expected an incident object")
        ident, title = raw.get("id"), raw.get("name")
        if not isinstance(ident, str) or not ident.strip():
            raise RowError("no incident 'id'")
        if not isinstance(title, str) or not title.strip():
            raise RowError("no incident 'name'")
        title = title.strip()
        impact = raw.get("impact")
        if impact == "maintenance" or raw.get("status") in self._SP_MAINTENANCE or raw.get("scheduled_for"):
            return None
        if impact not in self._SP_SEVERITY:
            raise RowError(f"impact {impact!r} is not one of none, minor, major, critical")
        updates_raw = raw.get("incident_updates")
        if not isinstance(updates_raw, list) or not updates_raw:
            raise RowError("no incident_updates (the first update is the declaration)")

        def when(obj: dict, *keys: str) -> datetime | None:
            for key in keys:
                value = obj.get(key)
                if value in (None, ""):
                    continue
                if not isinstance(value, str):
                    raise RowError(f"'{key}' is not a timestamp")
                try:
                    return parse_history_time(value, tz)
                except ValueError as exc:
                    raise RowError(f"'{key}': {exc}") from None
            return None

        updates = []
        for j, u in enumerate(updates_raw):
            if not isinstance(u, dict):
                raise RowError(f"incident_updates[{j}] is not an object")
            status = u.get("status")
            if status in self._SP_MAINTENANCE:
                return None
            if status not in self._SP_STATUS:
                raise RowError(f"incident_updates[{j}] has status {status!r}")
            at = when(u, "display_at", "created_at")
            if at is None:
                raise RowError(f"incident_updates[{j}] has no display_at or created_at")
            updates.append((at, j, status, u))
        updates.sort(key=lambda t: (t[0], t[1]))  # the feed lists the newest first
        first_post = updates[0][0]
        started = when(raw, "started_at", "created_at") or first_post
        # Impact cannot have begun after the first public post about it.
        impact_started = min(started, first_post)
        first_of = {}
        last_of = {}
        for at, _j, status, _u in updates:
            first_of.setdefault(status, at)
            last_of[status] = at
        final = self._SP_STATUS.get(raw.get("status"), self._SP_STATUS[updates[-1][2]])
        resolved = None
        if final in (Status.RESOLVED, Status.CLOSED):
            resolved = last_of.get("resolved") or when(raw, "resolved_at") or last_of.get("postmortem")
        # Statuspage's "monitoring" means a fix is in and being watched: customer impact has stopped. Without
        # a monitoring phase, impact is taken to have ended when the incident was resolved. Stage times are
        # taken as the page shows them: a monitoring update after the resolved one is flagged, not moved.
        mitigated = first_of.get("monitoring") or when(raw, "monitoring_at") or resolved
        closed = first_of.get("postmortem") if final is Status.CLOSED else None
        milestones: dict[Milestone, datetime | None] = {m: None for m in Milestone}
        milestones.update(
            {
                Milestone.IMPACT_STARTED: impact_started,
                Milestone(first_update): first_post,
                Milestone.IDENTIFIED: first_of.get("identified"),
                Milestone.MITIGATED: mitigated,
                Milestone.RESOLVED: resolved,
                Milestone.CLOSED: closed,
            }
        )
        now = self._now()
        if any(v is not None and v > now for v in milestones.values()):
            raise RowError("its times are in the future")
        flagged, flag_text = milestone_flags(milestones)
        milestone_text = {name: iso(v) for m, name in MILESTONE_NAMES if (v := milestones[m]) is not None}
        level = self._catalog.severity(self._SP_SEVERITY[impact])
        services = self._statuspage_services(raw, updates)
        itype = self._statuspage_type(impact, updates)
        origin = f"{page_name} status page"
        source = "statuspage"
        external_ref = f"statuspage:{page_id or page_name}:{ident.strip()}"[:200]
        entries: list[Entry] = []
        previous: Status | None = None
        shortlink = raw.get("shortlink") if isinstance(raw.get("shortlink"), str) else None
        for at, _j, status, u in updates:
            mapped = self._SP_STATUS[status]
            body_text = str(u.get("body") or "").strip()
            data = {
                "statuspage_update_id": u.get("id"),
                "statuspage_status": status,
                "affected_components": u.get("affected_components"),
            }
            if previous is None:
                body = declaration_body(
                    level.label, level.id, level.major, title, origin, first_update == "declared"
                )
                if body_text:
                    body += f". First update ({status.capitalize()}): {body_text}"
                if flag_text:
                    body += f". Stage times that contradict each other on the page: {flag_text}"
                data.update(
                    {
                        "action": "declared" if first_update == "declared" else "recorded",
                        "flagged_pairs": flagged,
                        "to": mapped.value,
                        "severity": level.id,
                        "major": level.major,
                        "exercise": False,
                        "services": services,
                        "milestones": milestone_text,
                        "imported_from": origin,
                        "external_ref": external_ref,
                        "shortlink": shortlink,
                    }
                )
                entries.append(Entry(EntryKind.STATUS_CHANGE, clip(body), at, data))
            elif mapped is not previous:
                data.update({"from": previous.value, "to": mapped.value, "reason": None})
                body = f"Status changed: {previous.label} → {mapped.label}. Status page update: {body_text}"
                entries.append(Entry(EntryKind.STATUS_CHANGE, clip(body), at, data))
            else:
                body = f"Status page update ({status.capitalize()}): {body_text or '(no text)'}"
                entries.append(Entry(EntryKind.COMMS, clip(body), at, data))
            previous = mapped
        if previous is not final:  # a backdated update: the page's status now is not its latest-dated stage
            body = f"Status changed: {previous.label} → {final.label} (the status page's current status)"
            data = {"from": previous.value, "to": final.value, "reason": None, "imported_from": origin}
            entries.append(Entry(EntryKind.STATUS_CHANGE, body, updates[-1][0], data))
        summary = (
            f"Imported from the {page_name} status page" + (f" ({shortlink})" if shortlink else "") + "."
        )
        return Candidate(
            row=where,
            external_ref=external_ref,
            source=source,
            title=title[:300],
            summary=summary,
            incident_type=itype,
            severity=level.id,
            is_major=level.major,
            status=final,
            is_exercise=False,
            services=services,
            affected_users=None,
            milestones=milestones,
            entries=entries,
            milestone_text=milestone_text,
            flagged_pairs=flagged,
            flag_text=flag_text,
        )

    @staticmethod
    def _statuspage_services(raw: dict, updates: list) -> list[str]:
        def names_in(objects: Iterable[Any]) -> list[str]:
            out: list[str] = []
            for c in objects:
                name = c.get("name") if isinstance(c, dict) else None
                name = name.strip()[:120] if isinstance(name, str) else ""
                if name and name not in out:
                    out.append(name)
            return out

        return names_in(raw.get("components") or []) or names_in(
            c for _at, _j, _s, u in updates for c in (u.get("affected_components") or [])
        )

    @staticmethod
    def _statuspage_type(impact: str, updates: list) -> str:
        statuses = {
            c.get("new_status")
            for _at, _j, _s, u in updates
            for c in (u.get("affected_components") or [])
            if isinstance(c, dict)
        }
        if statuses & {"major_outage", "partial_outage"}:
            return "service_outage"
        if "degraded_performance" in statuses:
            return "degraded_performance"
        return "service_outage" if impact in ("major", "critical") else "degraded_performance"
