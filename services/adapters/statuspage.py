"""Statuspage v1: the public face of an incident. Create it, move it through investigating /
identified / monitoring / resolved with a message, set affected components, and read the page's
components to choose from. Statuspage has no idempotency key: every incident carries
metadata {"sitrep": {"incident_id": ...}} and is looked up by it before being created again.

Planned maintenance windows become Statuspage scheduled maintenances (an incident with scheduled_for
and scheduled_until, impact "maintenance", statuses scheduled / in_progress / verifying / completed),
tagged {"sitrep": {"maintenance_id": ...}} and looked up in the scheduled, upcoming and active
maintenance lists before being created again. A window cancelled in Sitrep is completed here with a
message saying so (Statuspage has no cancelled status): statuspage_maintenance.py. A released comms message
becomes an incident or an update: statuspage_messages.py.
"""

from __future__ import annotations

from typing import Any

from models.enums import EntryKind
from services.adapters.common import is_authored, is_from_a_backend, normalise_text, parse_remote_time
from services.adapters.failures import NotConfigured, PermanentFailure
from services.adapters.http import Http
from services.adapters.interface import (
    Adapter,
    ComponentSource,
    HttpApi,
    Posts,
    ReadsBack,
    SecretField,
    SettingField,
)
from services.adapters.statuspage_maintenance import (
    MAINTENANCE_STATUSES,
    StatuspageMaintenance,
    newest_update,
)
from services.adapters.statuspage_messages import StatuspageMessages
from services.adapters.values import (
    ChangeToPlan,
    NewLink,
    Planned,
    PullContext,
    PullResult,
    RemoteEvent,
    RemoteMaintenance,
    SendContext,
    SendResult,
)

COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")


class StatuspageAdapter(
    StatuspageMessages, StatuspageMaintenance, Adapter, HttpApi, Posts, ReadsBack, ComponentSource
):
    name = "statuspage"
    label = "Statuspage"
    default_max_requests_per_s = 0.8  # published: 1 per second per token
    post_becomes = "a public update on the status page"
    notify_label = "Notify status-page subscribers"
    rate_limited_statuses = frozenset({420, 429})
    fields = (
        SettingField("url", "API URL", "url", "https://api.statuspage.io/v1"),
        SettingField("page_id", "Page id", "str", None, required=True),
        SettingField("declare_severities", "Open a public incident on declaration at", "list", ["SEV1"]),
        SettingField("comms_kinds", "Entry kinds posted as updates (others only when chosen)", "list", []),
        SettingField("component_map", "Component id for each impacted service", "map", {}),
        SettingField(
            "component_status_map",
            "Component status for each severity",
            "map",
            {
                "SEV1": "major_outage",
                "SEV2": "partial_outage",
                "SEV3": "degraded_performance",
                "SEV4": "degraded_performance",
                "SEV5": "degraded_performance",
            },
        ),  # fmt: skip
        SettingField(
            "impact_map",
            "Impact for each severity",
            "map",
            {"SEV1": "critical", "SEV2": "major", "SEV3": "minor", "SEV4": "minor", "SEV5": "none"},
        ),  # fmt: skip
        SettingField(
            "status_map",
            "Statuspage status for each Sitrep status",
            "map",
            {
                "declared": "investigating",
                "investigating": "investigating",
                "identified": "identified",
                "mitigated": "monitoring",
                "resolved": "resolved",
                "closed": "resolved",
            },
        ),  # fmt: skip
        SettingField(
            "status_messages",
            "Message posted with each status",
            "map",
            {
                "investigating": "We are investigating reports of a problem.",
                "identified": "The issue has been identified and a fix is being worked on.",
                "monitoring": "A fix has been implemented and we are monitoring the results.",
                "resolved": "This incident has been resolved.",
            },
        ),  # fmt: skip
        SettingField("deliver_notifications", "Notify subscribers", "bool", True),
        SettingField(
            "maintenance_messages",
            "Message posted with each maintenance status when none is written",
            "map",
            {
                "in_progress": "Scheduled maintenance is currently in progress. We will provide updates as necessary.",
                "verifying": "Verification is currently underway for the maintenance items.",
                "completed": "The scheduled maintenance has been completed.",
                "cancelled": "This scheduled maintenance has been cancelled.",
            },
        ),  # fmt: skip
    )
    secrets = (SecretField("api_key", "API key"),)

    def base_url(self) -> str:
        return self.setting("url")

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"OAuth {self.secret('api_key')}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def describe_error(self, status: int, body: Any, text: str) -> str:
        if isinstance(body, dict):
            msg = body.get("message") or body.get("error")
            if isinstance(msg, list):
                msg = "; ".join(str(m) for m in msg)
            if msg:
                return str(msg)
        return text.strip() or f"HTTP {status}"

    def _page(self) -> str:
        return f"/pages/{self.setting('page_id')}"

    # -- planning ------------------------------------------------------------------------
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        if is_from_a_backend(change):
            return []
        inc, e, data = change.incident, change.entry, change.data
        key = f"{self.name}:{e.id}"
        smap = self.setting("status_map") or {}
        messages = self.setting("status_messages") or {}
        notify = data.get("notify", self.setting("deliver_notifications"))
        create_key = f"{self.name}:create:{inc.id}"
        if e.kind == EntryKind.STATUS_CHANGE.value and data.get("action") == "declared":
            if inc.severity not in (self.setting("declare_severities") or []):
                return []
            status = smap.get("declared", "investigating")
            return [
                Planned(
                    "create_incident",
                    self._create_facts(inc, status, messages.get(status, ""), notify),
                    create_key,
                )
            ]
        # A public post is never implied by a blanket "sync": it needs this backend named, or a kind
        # the organisation chose to publish.
        choice = data.get("sync")
        named = isinstance(choice, list | tuple) and self.name in choice
        by_kind = choice is None and e.kind in (self.setting("comms_kinds") or [])
        if is_authored(change) and (named or by_kind):
            # A message released by comms carries the status page's own wording (name, body, status).
            comms = data.get("comms") if isinstance(data.get("comms"), dict) else {}
            post = (comms.get("channels") or {}).get(self.name)
            post = post if isinstance(post, dict) else {}
            body = post.get("body") or e.body
            if not change.has_remote():
                status = post.get("status") or smap.get(inc.status, "investigating")
                facts = self._create_facts(inc, status, body, notify)
                if post.get("name"):
                    facts["name"] = post["name"]
                return [Planned("create_incident", facts, create_key)]
            payload = {"body": body, "deliver_notifications": bool(notify)}
            if post.get("status"):
                payload["status"] = post["status"]
            return [Planned("update_incident", payload, key)]
        if not change.has_remote():
            return []
        if e.kind == EntryKind.STATUS_CHANGE.value:
            old, new = smap.get(data.get("from", "")), smap.get(data.get("to", ""))
            if not new or old == new:
                return []
            payload: dict[str, Any] = {
                "status": new,
                "body": messages.get(new, ""),
                "deliver_notifications": bool(notify),
            }
            if new == "resolved":
                payload["components_to"] = "operational"
            return [Planned("update_incident", payload, key)]
        if e.kind == EntryKind.MILESTONE_CHANGE.value and self._newly_identified(inc, data, smap):
            # The cause found while the page still says "investigating": the page moves to its own
            # "identified" stage (a status change to Identified says so through the branch above).
            payload = {"status": "identified", "body": messages.get("identified", ""),
                       "deliver_notifications": bool(notify)}  # fmt: skip
            return [Planned("update_incident", payload, key)]
        if e.kind == EntryKind.SEVERITY_CHANGE.value:
            return [
                Planned("update_incident", {"severity": data.get("to"), "services": list(inc.services)}, key)
            ]
        return []

    @staticmethod
    def _newly_identified(inc, data: dict[str, Any], smap: dict[str, str]) -> bool:
        return (
            data.get("milestone") == "identified"
            and data.get("from") is None
            and data.get("to") is not None
            and smap.get(inc.status, "investigating") == "investigating"
        )

    def _create_facts(self, inc, status: str, body: str, notify) -> dict[str, Any]:
        return {
            "name": inc.title,
            "status": status,
            "body": body,
            "severity": inc.severity,
            "services": list(inc.services),
            "deliver_notifications": bool(notify),
            "incident_ref": inc.key,
        }

    def _components(
        self, services: list[str], severity: str | None, status: str | None = None
    ) -> dict[str, str]:
        cmap = self.setting("component_map") or {}
        value = status or (self.setting("component_status_map") or {}).get(severity or "")
        if value not in COMPONENT_STATUSES:
            return {}
        return {cmap[s]: value for s in services if s in cmap}

    # -- sending -------------------------------------------------------------------------
    def send(self, ctx: SendContext) -> SendResult:
        if ctx.item.op == "create_incident":
            return self._create(ctx)
        if ctx.item.op == "update_incident":
            return self._update(ctx)
        if ctx.item.op == "create_maintenance":
            return self._create_maintenance(ctx)
        if ctx.item.op == "update_maintenance":
            return self._update_maintenance(ctx)
        raise PermanentFailure(f"Statuspage does not know the operation '{ctx.item.op}'.")

    def _find_ours(self, http: Http, incident_id: str, name: str) -> dict | None:
        def ours(inc: dict) -> bool:
            return ((inc.get("metadata") or {}).get("sitrep") or {}).get("incident_id") == incident_id

        reply = http.request("GET", f"{self._page()}/incidents/unresolved", params={"per_page": 100})
        for inc in reply.body or []:
            if ours(inc):
                return inc
        reply = http.request("GET", f"{self._page()}/incidents", params={"q": name[:100], "limit": 100})
        return next((inc for inc in reply.body or [] if ours(inc)), None)

    def _create(self, ctx: SendContext) -> SendResult:
        http, p, item = ctx.http, ctx.item.payload, ctx.item
        found = self._find_ours(http, item.incident_id, p["name"]) if ctx.maybe_sent_before else None
        if found is None:
            incident: dict[str, Any] = {
                "name": p["name"][:255],
                "status": p["status"],
                "deliver_notifications": p.get("deliver_notifications", True),
                "metadata": {"sitrep": {"incident_id": item.incident_id, "key": p.get("incident_ref")}},
            }
            if p.get("body"):
                incident["body"] = p["body"][:25000]
            impact = (self.setting("impact_map") or {}).get(p.get("severity"))
            if impact:
                incident["impact_override"] = impact
            components = self._components(p.get("services") or [], p.get("severity"))
            if components:
                incident["component_ids"] = list(components)
                incident["components"] = components
            reply = http.request(
                "POST", f"{self._page()}/incidents", json_body={"incident": incident}, ok=(201,)
            )
            found = reply.body or {}
        rid = found.get("id")
        if not rid:
            raise PermanentFailure("Statuspage created the incident but did not say its id.")
        links = [NewLink("incident", item.incident_id, item.incident_id, "incident", rid,
                         url=found.get("shortlink"), remote_state=found.get("status"))]  # fmt: skip
        for upd in found.get("incident_updates") or []:
            if upd.get("id") and item.entry_id:
                links.append(NewLink("entry", item.entry_id, item.incident_id, "incident_update", upd["id"]))
        return SendResult(remote_ref=rid, links=links)

    def _update(self, ctx: SendContext) -> SendResult:
        http, p, item = ctx.http, ctx.item.payload, ctx.item
        link = ctx.links.incident_link(item.incident_id, "incident")
        if link is None:
            raise PermanentFailure(
                f"Statuspage has no incident for {item.incident_key or 'this incident'} (its creation did not go "
                "through); retry or cancel that first."
            )
        rid = link.remote_id
        posts_update = bool(p.get("status") or p.get("body"))
        if ctx.maybe_sent_before and posts_update:
            current = http.request("GET", f"{self._page()}/incidents/{rid}").body or {}
            for upd in current.get("incident_updates") or []:
                if normalise_text(upd.get("body", "")) == normalise_text(p.get("body", "")) and (
                    not p.get("status") or upd.get("status") == p["status"]
                ):
                    return self._result(item, rid, current, upd)
        incident: dict[str, Any] = {}
        if p.get("status"):
            incident["status"] = p["status"]
        if p.get("body"):
            incident["body"] = p["body"][:25000]
        if posts_update:
            incident["deliver_notifications"] = p.get("deliver_notifications", True)
        if p.get("severity"):
            impact = (self.setting("impact_map") or {}).get(p["severity"])
            if impact:
                incident["impact_override"] = impact
            components = self._components(p.get("services") or [], p["severity"])
            if components:
                incident["components"] = components
        if p.get("components_to"):
            services = list((self.setting("component_map") or {}).keys())
            components = self._components(services, None, p["components_to"])
            if components:
                incident["components"] = components
        if not incident:
            return SendResult(remote_ref=rid, note="nothing mapped to send")
        reply = http.request("PATCH", f"{self._page()}/incidents/{rid}", json_body={"incident": incident})
        current = reply.body or {}
        newest = None
        if posts_update:
            updates = sorted(
                current.get("incident_updates") or [], key=lambda u: u.get("created_at") or "", reverse=True
            )
            newest = updates[0] if updates else None
        return self._result(item, rid, current, newest)

    def _result(self, item, rid: str, incident: dict, update: dict | None) -> SendResult:
        links = []
        if update and update.get("id") and item.entry_id:
            links.append(NewLink("entry", item.entry_id, item.incident_id, "incident_update", update["id"]))
        states = {("incident", rid): incident["status"]} if incident.get("status") else {}
        return SendResult(remote_ref=rid, links=links, link_states=states)

    # -- reading -------------------------------------------------------------------------
    def components(self, http: Http) -> list[dict[str, Any]]:
        """The page's components (id, name, status, group_id), every page of them."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = http.request("GET", f"{self._page()}/components", params={"page": page, "per_page": 100})
            batch = reply.body or []
            out += [
                {
                    "id": c.get("id"),
                    "name": c.get("name"),
                    "status": c.get("status"),
                    "group_id": c.get("group_id"),
                    "group": bool(c.get("group")),  # a group's heading, not a component to choose
                }
                for c in batch
            ]
            if len(batch) < 100:
                return out
            page += 1

    def pull(self, ctx: PullContext) -> PullResult:
        out = PullResult()
        for link in ctx.links.linked_incidents("incident"):
            rid, local = link.remote_id, link.incident_id
            reply = ctx.http.request("GET", f"{self._page()}/incidents/{rid}", not_found_ok=True)
            if reply is None:
                continue
            inc = reply.body or {}
            if inc.get("status"):
                out.link_states[("incident", rid)] = inc["status"]
            known = ctx.links.known_remote_ids(local, "incident_update")
            own = {normalise_text(t) for t in ctx.links.own_texts(local)}
            # Statuspage lists updates newest first; oldest first onto the timeline.
            for upd in sorted(
                reversed(inc.get("incident_updates") or []), key=lambda u: u.get("created_at") or ""
            ):
                uid = upd.get("id")
                if not uid or uid in known or normalise_text(upd.get("body", "")) in own:
                    continue
                out.events.append(RemoteEvent(
                    local, "incident_update", uid, EntryKind.COMMS.value,
                    f"Statuspage update ({upd.get('status')}): {upd.get('body', '')}", "Statuspage",
                    parse_remote_time(upd.get("created_at")), url=inc.get("shortlink"),
                    data={"status": upd.get("status")},
                    # An "identified" stage posted on the page is the Identified milestone here.
                    effects=("identified",) if upd.get("status") == "identified" else (),
                ))  # fmt: skip
        for link in ctx.links.linked_maintenances():
            reply = ctx.http.request("GET", f"{self._page()}/incidents/{link.remote_id}", not_found_ok=True)
            if reply is None:
                continue
            inc = reply.body or {}
            status = inc.get("status") if inc.get("status") in MAINTENANCE_STATUSES else None
            newest = newest_update(inc)
            about_status = newest is not None and newest.get("status") == status
            out.maintenances.append(RemoteMaintenance(
                link.local_id, "maintenance", link.remote_id, status,
                parse_remote_time(inc.get("scheduled_for")), parse_remote_time(inc.get("scheduled_until")),
                message=(newest.get("body") or "") if about_status else "",
                changed_at=parse_remote_time(newest.get("created_at")) if about_status else None,
                url=inc.get("shortlink"),
            ))  # fmt: skip
        return out

    def test_connection(self, http: Http) -> str:
        if not self.setting("page_id"):
            raise NotConfigured("Set the Statuspage page_id first.")
        pages = http.request("GET", "/pages").body or []
        page = next((pg for pg in pages if pg.get("id") == self.setting("page_id")), None)
        if page is None:
            raise PermanentFailure(f"This API key cannot see the page {self.setting('page_id')}.")
        n = len(self.components(http))
        return f"Connected to Statuspage: page '{page.get('name')}' with {n} component(s)."
