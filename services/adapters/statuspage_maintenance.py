"""Statuspage scheduled maintenances: a planned window becomes an incident with scheduled_for and
scheduled_until, impact "maintenance", statuses scheduled / in_progress / verifying / completed, tagged
{"sitrep": {"maintenance_id": ...}} and looked up in the scheduled, upcoming and active maintenance
lists before being created again. The Statuspage adapter declares this ability (PlansMaintenance)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.types import as_utc
from services.adapters.common import normalise_text
from services.adapters.failures import PermanentFailure
from services.adapters.http import Http
from services.adapters.interface import PlansMaintenance
from services.adapters.values import (
    MaintenanceChange,
    MaintenanceFacts,
    NewLink,
    Planned,
    SendContext,
    SendResult,
    maintenance_create_key,
)

MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
# The lists a scheduled maintenance can be in, whatever its status; paged with page/per_page.
MAINTENANCE_LISTS = ("scheduled", "upcoming", "active_maintenance")
PER_PAGE = 100
# Window flags and the Statuspage fields each one sets.
MAINTENANCE_FLAGS = {
    "remind_subscribers": ("scheduled_remind_prior",),
    "auto_in_progress": ("scheduled_auto_in_progress", "auto_transition_to_maintenance_state"),
    "auto_complete": ("scheduled_auto_completed", "auto_transition_to_operational_state"),
    "notify_subscribers": (
        "auto_transition_deliver_notifications_at_start",
        "auto_transition_deliver_notifications_at_end",
    ),
}
_UNDER_WAY = ("in_progress", "verifying")


def _utc_text(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatuspageMaintenance(PlansMaintenance):
    def plan_maintenance(self, change: MaintenanceChange) -> list[Planned]:
        m = change.maintenance
        if not change.has_remote():
            # The page never heard of this window (planned before Statuspage was set up, or its create
            # was cancelled): the whole window as it is now, unless it is over already.
            if change.action != "planned" and m.status in ("completed", "cancelled"):
                return []
            return [
                Planned(
                    "create_maintenance", self._maintenance_facts(m), maintenance_create_key(self.name, m.id)
                )
            ]
        payload: dict[str, Any] = {"window_status": m.status}
        fields: dict[str, Any] = {}
        for name in change.changed:
            if name in ("scheduled_for", "scheduled_until"):
                fields[name] = _utc_text(getattr(m, name))
            elif name == "services":
                fields["services"] = list(m.services)
                fields["services_before"] = list(change.previous.get("services") or [])
            elif name in ("title", "description", *MAINTENANCE_FLAGS):
                fields[name] = getattr(m, name)
        if fields:
            payload["fields"] = fields
        messages = self.setting("maintenance_messages") or {}
        if change.action in ("status", "cancelled"):
            payload["status"] = "completed" if m.status == "cancelled" else m.status
            payload["body"] = change.message or messages.get(m.status, "")
            if m.status in _UNDER_WAY:
                payload["components_to"] = "under_maintenance"
            elif change.status_from in _UNDER_WAY:
                # Back to operational only what this window put under maintenance; a window cancelled
                # before it began leaves the components as they are (an incident may own them now).
                payload["components_to"] = "operational"
            if "components_to" in payload:
                payload["services"] = list(m.services)
        elif change.message:
            payload["body"] = change.message
        if not fields and "body" not in payload and "status" not in payload:
            return []
        payload["deliver_notifications"] = bool(change.notify)
        return [Planned("update_maintenance", payload, f"{self.name}:maintenance:{change.update_id}")]

    @staticmethod
    def _maintenance_facts(m: MaintenanceFacts) -> dict[str, Any]:
        return {
            "title": m.title, "description": m.description, "scheduled_for": _utc_text(m.scheduled_for),
            "scheduled_until": _utc_text(m.scheduled_until), "services": list(m.services),
            "notify_subscribers": m.notify_subscribers, "remind_subscribers": m.remind_subscribers,
            "auto_in_progress": m.auto_in_progress, "auto_complete": m.auto_complete,
            "status": "completed" if m.status == "cancelled" else m.status,
        }  # fmt: skip

    def _component_ids(self, services: list[str]) -> list[str]:
        cmap = self.setting("component_map") or {}
        return list(dict.fromkeys(cmap[s] for s in services if s in cmap))

    def _find_maintenance(self, http: Http, maintenance_id: str, name: str) -> dict | None:
        """Our scheduled maintenance, if an earlier attempt made it: by its metadata, in each list."""

        def ours(inc: dict) -> bool:
            return ((inc.get("metadata") or {}).get("sitrep") or {}).get("maintenance_id") == maintenance_id

        for listing in MAINTENANCE_LISTS:
            page = 1
            while True:
                reply = http.request("GET", f"{self._page()}/incidents/{listing}",
                                     params={"page": page, "per_page": PER_PAGE})  # fmt: skip
                batch = reply.body or []
                found = next((inc for inc in batch if ours(inc)), None)
                if found is not None:
                    return found
                if len(batch) < PER_PAGE:
                    break
                page += 1
        # A short window may have completed on its own since: the text search covers every incident.
        reply = http.request("GET", f"{self._page()}/incidents", params={"q": name[:100], "limit": 100})
        return next((inc for inc in reply.body or [] if ours(inc)), None)

    def _create_maintenance(self, ctx: SendContext) -> SendResult:
        http, p = ctx.http, ctx.item.payload
        mid = p["maintenance_id"]
        found = self._find_maintenance(http, mid, p["title"]) if ctx.maybe_sent_before else None
        if found is None:
            status = p.get("status") or "scheduled"
            notify = bool(p.get("notify_subscribers", True))
            incident: dict[str, Any] = {
                "name": p["title"][:255],
                "status": status,
                "impact_override": "maintenance",
                "scheduled_for": p["scheduled_for"],
                "scheduled_until": p["scheduled_until"],
                # Subscribers hear of a window when it is announced; not of one recorded after it ended.
                "deliver_notifications": notify and status != "completed",
                "metadata": {"sitrep": {"maintenance_id": mid, "key": p.get("maintenance_key")}},
            }
            for flag, targets in MAINTENANCE_FLAGS.items():
                for target in targets:
                    incident[target] = bool(p.get(flag)) and status != "completed"
            if p.get("description"):
                incident["body"] = p["description"][:25000]
            cids = self._component_ids(p.get("services") or [])
            if cids:
                incident["component_ids"] = cids
                if status in _UNDER_WAY:
                    incident["components"] = dict.fromkeys(cids, "under_maintenance")
            reply = http.request(
                "POST", f"{self._page()}/incidents", json_body={"incident": incident}, ok=(201,)
            )
            found = reply.body or {}
        rid = found.get("id")
        if not rid:
            raise PermanentFailure("Statuspage created the maintenance but did not say its id.")
        link = NewLink("maintenance", mid, None, "maintenance", rid, url=found.get("shortlink"),
                       remote_state=found.get("status"))  # fmt: skip
        return SendResult(remote_ref=rid, links=[link])

    def _update_maintenance(self, ctx: SendContext) -> SendResult:
        http, p = ctx.http, ctx.item.payload
        link = ctx.links.local_link("maintenance", p.get("maintenance_id"), "maintenance")
        if link is None:
            raise PermanentFailure(
                f"Statuspage has no maintenance for {p.get('maintenance_key') or 'this window'} (its creation did "
                "not go through); retry or cancel that first."
            )
        rid = link.remote_id
        fields = p.get("fields") or {}
        posts_update = bool(p.get("status") or p.get("body"))
        if ctx.maybe_sent_before and posts_update:
            # Adding an update is not idempotent: if the last attempt's update is the page's newest, it arrived.
            current = http.request("GET", f"{self._page()}/incidents/{rid}").body or {}
            newest = newest_update(current)
            if newest is not None and normalise_text(newest.get("body", "")) == normalise_text(p.get("body", "")) and (
                not p.get("status") or newest.get("status") == p["status"]
            ):  # fmt: skip
                return SendResult(remote_ref=rid, link_states=state_of(rid, current))
        incident: dict[str, Any] = {}
        if "title" in fields:
            incident["name"] = str(fields["title"])[:255]
        for name in ("scheduled_for", "scheduled_until"):
            if name in fields:
                incident[name] = fields[name]
        for flag, targets in MAINTENANCE_FLAGS.items():
            if flag in fields:
                for target in targets:
                    incident[target] = bool(fields[flag])
        components: dict[str, str] = {}
        if "services" in fields:
            cids = self._component_ids(fields["services"])
            incident["component_ids"] = cids
            if p.get("window_status") in _UNDER_WAY and not p.get("status"):
                gone = set(self._component_ids(fields.get("services_before") or [])) - set(cids)
                components.update(dict.fromkeys(sorted(gone), "operational"))
                components.update(dict.fromkeys(cids, "under_maintenance"))
        if p.get("status"):
            incident["status"] = p["status"]
        if p.get("body"):
            incident["body"] = p["body"][:25000]
        if posts_update:
            incident["deliver_notifications"] = bool(p.get("deliver_notifications", True))
        if p.get("components_to"):
            services = fields["services"] if "services" in fields else p.get("services") or []
            components.update(dict.fromkeys(self._component_ids(services), p["components_to"]))
        if components:
            incident["components"] = components
        current: dict[str, Any] = {}
        if incident:
            reply = http.request("PATCH", f"{self._page()}/incidents/{rid}", json_body={"incident": incident})
            current = reply.body or {}
        if "description" in fields and fields["description"]:
            current = self._set_description(http, rid, str(fields["description"]), current)
        if not incident and "description" not in fields:
            return SendResult(remote_ref=rid, note="nothing mapped to send")
        return SendResult(remote_ref=rid, link_states=state_of(rid, current))

    def _set_description(self, http: Http, rid: str, text: str, current: dict) -> dict:
        """The description is the maintenance's first update on Statuspage: edit that update's text."""
        if not current.get("incident_updates"):
            current = http.request("GET", f"{self._page()}/incidents/{rid}").body or {}
        # Listed newest first; reversed before the (stable) sort so that updates made within one second
        # still come oldest first.
        updates = sorted(
            reversed(current.get("incident_updates") or []), key=lambda u: u.get("created_at") or ""
        )
        if not updates or not updates[0].get("id"):
            return current
        http.request("PATCH", f"{self._page()}/incidents/{rid}/incident_updates/{updates[0]['id']}",
                     json_body={"incident_update": {"body": text[:25000]}})  # fmt: skip
        return current



def newest_update(incident: dict) -> dict | None:
    updates = incident.get("incident_updates") or []
    return max(updates, key=lambda u: u.get("created_at") or "", default=None)


def state_of(rid: str, incident: dict) -> dict[tuple[str, str], str]:
    return {("maintenance", rid): incident["status"]} if incident.get("status") else {}
