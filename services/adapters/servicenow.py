"""ServiceNow (Table API): configuration change records become emergency change requests linked to the
configuration item, so the CMDB knows what was changed during an incident.

One request creates one change_request (POST /api/now/table/change_request); the record's id travels as its
correlation_id, so after an attempt whose answer was lost the adapter looks it up before creating again
(the outbox then delivers it exactly once). The configuration item is found by name in cmdb_ci.
"""

from __future__ import annotations

import base64
from typing import Any

from models.enums import EntryKind
from services.adapters.common import is_from_a_backend
from services.adapters.failures import NotConfigured
from services.adapters.http import Http
from services.adapters.interface import Adapter, HttpApi, SecretField, SettingField
from services.adapters.values import ChangeToPlan, Planned, SendContext, SendResult

TABLE = "/api/now/table"
RECORD_KEY = "change_record"  # services.changes writes it; the adapter layer does not import services


def _snow_time(iso_text: str) -> str:
    """ServiceNow's glide date-time (UTC): 'YYYY-MM-DD HH:MM:SS'."""
    return iso_text[:19].replace("T", " ")


class ServiceNowAdapter(Adapter, HttpApi):
    name = "servicenow"
    label = "ServiceNow"
    default_max_requests_per_s = 5.0
    fields = (
        SettingField("url", "Instance URL (https://<instance>.service-now.com)", "url", required=True),
        SettingField("username", "Integration user", "str", required=True),
        SettingField("assignment_group", "Assignment group (sys_id or name; empty: none)", "str", ""),
    )
    secrets = (SecretField("password", "Password"),)

    def base_url(self) -> str:
        return str(self.setting("url") or "").rstrip("/")

    def headers(self) -> dict[str, str]:
        pair = f"{self.setting('username')}:{self.secret('password')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii"),
                "Accept": "application/json", "Content-Type": "application/json"}  # fmt: skip

    def describe_error(self, status: int, body: Any, text: str) -> str:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            err = body["error"]
            return "; ".join(str(p) for p in (err.get("message"), err.get("detail")) if p)
        return text.strip() or f"HTTP {status}"

    def plan(self, change: ChangeToPlan) -> list[Planned]:
        e = change.entry
        record = change.data.get(RECORD_KEY)
        if is_from_a_backend(change) or e.kind != EntryKind.CONFIG_CHANGE.value or not record:
            return []
        inc = change.incident
        payload = {
            "correlation_id": e.id, "incident_ref": inc.key, "ci": record["ci"], "attribute": record["attribute"],
            "before": record["before"], "after": record["after"], "who": e.author, "when": e.occurred_at,
            "why": record["why"], "undo": record["undo"], "checklist_step": record.get("checklist_step"),
        }  # fmt: skip
        payload["when"] = payload["when"].isoformat() if hasattr(payload["when"], "isoformat") else payload["when"]
        return [Planned("create_change", payload, f"{self.name}:{e.id}")]

    def send(self, ctx: SendContext) -> SendResult:
        if ctx.item.op != "create_change":
            return SendResult(note=f"nothing to do for {ctx.item.op}")
        http, p = ctx.http, ctx.item.payload
        if ctx.maybe_sent_before:
            found = self._find_change(http, p["correlation_id"])
            if found:
                return SendResult(remote_ref=found["number"], note="already there (an earlier answer was lost)")
        ci = self._find_ci(http, p["ci"])
        before = p["before"] or "(none)"
        body = {
            "type": "emergency",
            "short_description": f"[{p['incident_ref']}] {p['ci']}: {p['attribute']} {before} → {p['after'] or '(none)'}"[:160],
            "description": (f"Changed during incident {p['incident_ref']} by {p['who']} at {p['when']}.\n"
                            f"Configuration item: {p['ci']}\nAttribute: {p['attribute']}\nBefore: {before}\n"
                            f"After: {p['after'] or '(none)'}\nChecklist step: {p.get('checklist_step') or '-'}"),
            "justification": p["why"],
            "backout_plan": p["undo"],
            "correlation_id": p["correlation_id"],
            "correlation_display": "Sitrep",
            "start_date": _snow_time(p["when"]),
            "end_date": _snow_time(p["when"]),
        }  # fmt: skip
        if ci:
            body["cmdb_ci"] = ci
        if self.setting("assignment_group"):
            body["assignment_group"] = self.setting("assignment_group")
        reply = http.request("POST", f"{TABLE}/change_request", json_body=body)
        result = (reply.body or {}).get("result") or {}
        note = "" if ci else f"no configuration item named '{p['ci']}' in cmdb_ci: created without the link"
        return SendResult(remote_ref=result.get("number") or result.get("sys_id"), note=note)

    @staticmethod
    def _find_change(http: Http, correlation_id: str) -> dict | None:
        reply = http.request("GET", f"{TABLE}/change_request",
                             params={"sysparm_query": f"correlation_id={correlation_id}",
                                     "sysparm_fields": "sys_id,number", "sysparm_limit": "1"})  # fmt: skip
        rows = (reply.body or {}).get("result") or []
        return rows[0] if rows else None

    @staticmethod
    def _find_ci(http: Http, name: str) -> str | None:
        reply = http.request("GET", f"{TABLE}/cmdb_ci",
                             params={"sysparm_query": f"name={name}", "sysparm_fields": "sys_id,name",
                                     "sysparm_limit": "1"})  # fmt: skip
        rows = (reply.body or {}).get("result") or []
        return rows[0]["sys_id"] if rows else None

    def test_connection(self, http: Http | None) -> str:
        if http is None:
            raise NotConfigured("ServiceNow needs its instance URL.")
        http.request("GET", f"{TABLE}/change_request", params={"sysparm_limit": "1", "sysparm_fields": "sys_id"})
        return f"Connected to ServiceNow as {self.setting('username')}; change_request is readable."
