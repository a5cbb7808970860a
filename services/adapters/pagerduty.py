"""PagerDuty: REST API v2 for incidents, notes, status updates and responders; Events API v2 for
alert-driven incidents. Dedup: the incident's incident_key (REST) or dedup_key (Events)."""

from __future__ import annotations

from typing import Any

from models.enums import EntryKind
from services.adapters.common import (
    entry_text,
    is_authored,
    is_from_a_backend,
    normalise_text,
    parse_remote_time,
)
from services.adapters.failures import NotConfigured, PermanentFailure
from services.adapters.http import Http
from services.adapters.interface import (
    Adapter,
    HttpApi,
    Posts,
    ReadsBack,
    SecretField,
    SettingField,
)
from services.adapters.pagerduty_oncall import PagerDutyOnCall
from services.adapters.values import (
    ChangeToPlan,
    NewLink,
    Planned,
    PullContext,
    PullResult,
    RemoteEvent,
    SendContext,
    SendResult,
)

ACCEPT = "application/vnd.pagerduty+json;version=2"

# Sitrep status -> PagerDuty incident status.
STATUS_MAP = {
    "declared": "triggered",
    "investigating": "acknowledged",
    "identified": "acknowledged",
    "mitigated": "acknowledged",
    "resolved": "resolved",
    "closed": "resolved",
}
EVENT_SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning"}
# Log entries that mean someone did something to the incident in PagerDuty.
PULLED_LOG_TYPES = {
    "acknowledge_log_entry": "acknowledged",
    "unacknowledge_log_entry": "unacknowledged",
    "resolve_log_entry": "resolved",
    "escalate_log_entry": "escalated",
    "assign_log_entry": "reassigned",
    "delegate_log_entry": "delegated",
    "snooze_log_entry": "snoozed",
    "urgency_change_log_entry": "changed the urgency",
}




class PagerDutyAdapter(PagerDutyOnCall, Adapter, HttpApi, Posts, ReadsBack):
    name = "pagerduty"
    label = "PagerDuty"
    default_max_requests_per_s = 10.0  # of the published 960/min per key, serially
    post_becomes = "a status update on the PagerDuty incident"
    fields = (
        SettingField("url", "REST API URL", "url", "https://api.pagerduty.com"),
        SettingField("events_url", "Events API URL", "url", "https://events.pagerduty.com/v2"),
        SettingField("from_email", "E-mail of the PagerDuty user Sitrep acts as", "str", None, required=True),
        SettingField("service_id", "Service the incidents are opened on", "str", None, required=True),
        SettingField("escalation_policy_id", "Escalation policy (optional)", "str", None),
        SettingField(
            "service_map",
            "PagerDuty service for each Sitrep service, to read its on-call (service = PagerDuty service id)",
            "map",
            {},
            help="Optional. Who is on call is always read for the incidents' service (or the escalation "
            "policy above); an incident on a mapped service also shows that service's on-call.",
        ),
        SettingField("priority_map", "Priority for each severity (name or id)", "map", {}),
        SettingField(
            "urgency_map",
            "Urgency for each severity",
            "map",
            {"SEV1": "high", "SEV2": "high", "SEV3": "low", "SEV4": "low", "SEV5": "low"},
        ),  # fmt: skip
        SettingField("note_kinds", "Entry kinds sent as notes", "list", ["decision"]),
        # Status updates reach the incident's stakeholders in PagerDuty: an external message. A quick
        # `/comms` note is a record that comms happened, not text approved for stakeholders, so none is
        # sent unless someone chooses it (Send to…) or the organisation lists kinds here.
        SettingField(
            "status_update_kinds", "Entry kinds sent as status updates (others only when chosen)", "list", []
        ),
        SettingField("request_responders", "Ask role holders to respond", "bool", True),
        SettingField("events_for_alerts", "Use Events v2 for alert-driven incidents", "bool", False),
        SettingField(
            "mode", "rest (incidents, notes, responders) or events (Events v2 alerts only)", "str", "rest"
        ),
    )
    secrets = (
        SecretField("api_token", "REST API key"),
        SecretField("routing_key", "Events v2 integration (routing) key", required=False),
    )

    def __init__(self, settings, secrets) -> None:
        super().__init__(settings, secrets)
        self._priority_ids: dict[str, str] | None = None
        self._user_ids: dict[str, str | None] = {}

    # -- wire ----------------------------------------------------------------------------
    def base_url(self) -> str:
        return self.setting("url")

    def headers(self) -> dict[str, str]:
        h = {
            "Authorization": f"Token token={self.secret('api_token')}",
            "Accept": ACCEPT,
            "Content-Type": "application/json",
        }
        sender = self.setting("from_email")
        if sender:
            h["From"] = sender
        return h

    def events_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Accept": "application/json"}

    def describe_error(self, status: int, body: Any, text: str) -> str:
        if isinstance(body, dict):
            err = body.get("error")
            if isinstance(err, dict):
                parts = [str(err.get("message") or "")]
                parts += [str(x) for x in err.get("errors") or []]
                return "; ".join(p for p in parts if p) or f"HTTP {status}"
            if "message" in body:  # Events API
                errs = body.get("errors") or []
                return "; ".join([str(body["message"])] + [str(x) for x in errs])
        return text.strip() or f"HTTP {status}"

    def pace_hint(self, headers, status: int) -> float | None:
        # ratelimit-reset is "seconds to wait"; only hold when the budget is spent.
        remaining = headers.get("ratelimit-remaining")
        reset = headers.get("ratelimit-reset")
        if status == 429 or (remaining is not None and remaining.strip() == "0"):
            try:
                return max(0.0, float(reset)) if reset is not None else 1.0
            except ValueError:
                return 1.0
        return None

    # -- planning ------------------------------------------------------------------------
    def _events_mode(self, change: ChangeToPlan) -> bool:
        if self.setting("mode") == "events":
            return True
        return bool(self.setting("events_for_alerts")) and change.incident.source.startswith("alert")

    def missing(self) -> list[str]:
        if self.setting("mode") == "events":
            return []  # only the routing key (in the keyring) is needed
        if self.setting("mode") != "rest":
            return ["PagerDuty: 'mode' is 'rest' or 'events'."]
        return super().missing()

    def plan(self, change: ChangeToPlan) -> list[Planned]:
        if is_from_a_backend(change):
            return []
        inc, e, data = change.incident, change.entry, change.data
        key = f"{self.name}:{e.id}"
        events = self._events_mode(change)
        if e.kind == EntryKind.STATUS_CHANGE.value and data.get("action") == "declared":
            facts = {
                "title": f"[{inc.key}] {inc.title}",
                "summary": inc.summary,
                "severity": inc.severity,
                "services": list(inc.services),
                "incident_key": dedup_key(inc.id),
                "incident_ref": inc.key,
            }
            if events:
                return [
                    Planned("event", {**facts, "event_action": "trigger"}, f"{self.name}:create:{inc.id}")
                ]
            return [Planned("create_incident", facts, f"{self.name}:create:{inc.id}")]
        if e.kind == EntryKind.STATUS_CHANGE.value:
            old, new = STATUS_MAP.get(data.get("from", "")), STATUS_MAP.get(data.get("to", ""))
            if new is None or old == new:
                return []
            if events:
                action = {"acknowledged": "acknowledge", "resolved": "resolve", "triggered": "trigger"}[new]
                facts = {"event_action": action, "incident_key": dedup_key(inc.id),
                         "title": f"[{inc.key}] {inc.title}", "severity": inc.severity}  # fmt: skip
                return [Planned("event", facts, key)]
            return [Planned("set_status", {"to": new, "sitrep_status": data.get("to")}, key)]
        if events:
            return []  # the Events API carries alert state only
        if e.kind == EntryKind.SEVERITY_CHANGE.value:
            return [Planned("set_priority", {"severity": data.get("to")}, key)]
        if e.kind == EntryKind.IMPACT_CHANGE.value and "title" in (data.get("changes") or {}):
            return [Planned("set_title", {"title": f"[{inc.key}] {data['changes']['title']['to']}"}, key)]
        if e.kind == EntryKind.ROLE_CHANGE.value and data.get("action") in ("assigned", "handover"):
            if self.setting("request_responders") and change.person_email:
                return [
                    Planned(
                        "add_responder",
                        {"email": change.person_email, "role": data.get("role"), "text": e.body},
                        key,
                    )
                ]
            return []
        if is_authored(change):
            if e.kind == EntryKind.COMMS.value and change.chosen_for(
                self.name, self.setting("status_update_kinds")
            ):
                return [Planned("status_update", {"text": e.body}, key)]
            if change.chosen_for(self.name, self.setting("note_kinds")):
                return [Planned("add_note", {"text": entry_text(change)}, key)]
        return []

    # -- sending -------------------------------------------------------------------------
    def send(self, ctx: SendContext) -> SendResult:
        op = ctx.item.op
        if op == "event":
            return self._send_event(ctx)
        if op == "create_incident":
            return self._create_incident(ctx)
        remote = self._remote_incident(ctx)
        http, p = ctx.http, ctx.item.payload
        if op == "set_status":
            http.request(
                "PUT",
                f"/incidents/{remote}",
                json_body={"incident": {"type": "incident_reference", "status": p["to"]}},
            )
            return SendResult(remote_ref=remote, link_states={("incident", remote): p["to"]})
        if op == "set_priority":
            body: dict[str, Any] = {"type": "incident_reference"}
            urgency = (self.setting("urgency_map") or {}).get(p.get("severity"))
            if urgency in ("high", "low"):
                body["urgency"] = urgency
            priority = self._priority_ref(http, p.get("severity"))
            if priority:
                body["priority"] = priority
            if len(body) == 1:
                return SendResult(
                    remote_ref=remote, note="no priority or urgency is mapped for this severity"
                )
            http.request("PUT", f"/incidents/{remote}", json_body={"incident": body})
            return SendResult(remote_ref=remote)
        if op == "set_title":
            http.request(
                "PUT",
                f"/incidents/{remote}",
                json_body={"incident": {"type": "incident_reference", "title": p["title"]}},
            )
            return SendResult(remote_ref=remote)
        if op == "add_note":
            return self._add_note(ctx, remote)
        if op == "status_update":
            ctx.refuse_blind_resend("status update")
            reply = http.request(
                "POST", f"/incidents/{remote}/status_updates", json_body={"message": p["text"]}
            )
            su = (reply.body or {}).get("status_update") or {}
            return SendResult(remote_ref=su.get("id"))
        if op == "add_responder":
            ctx.refuse_blind_resend("responder request")
            target = self._user_id(http, p["email"])
            if target is None:
                raise PermanentFailure(f"PagerDuty has no user with the e-mail {p['email']}.")
            requester = self._user_id(http, self.setting("from_email"))
            if requester is None:
                raise PermanentFailure(
                    f"PagerDuty has no user with the e-mail {self.setting('from_email')} (the 'from_email' setting)."
                )
            body = {
                "requester_id": requester,
                "message": p.get("text") or "Please join the incident.",
                "responder_request_targets": [
                    {"responder_request_target": {"id": target, "type": "user_reference"}}
                ],
            }
            http.request("POST", f"/incidents/{remote}/responder_requests", json_body=body)
            return SendResult(remote_ref=target)
        raise PermanentFailure(f"PagerDuty does not know the operation '{op}'.")

    def _remote_incident(self, ctx: SendContext) -> str:
        link = ctx.links.incident_link(ctx.item.incident_id, "incident")
        if link is None:
            raise PermanentFailure(
                f"PagerDuty has no incident for {ctx.item.incident_key or 'this incident'} "
                "(its creation did not go through); retry or cancel that first."
            )
        return link.remote_id

    def _find_by_key(self, http: Http, incident_key: str) -> dict | None:
        reply = http.request("GET", "/incidents", params={"incident_key": incident_key, "date_range": "all"})
        for inc in (reply.body or {}).get("incidents") or []:
            if inc.get("incident_key") == incident_key:
                return inc
        return None

    def _create_incident(self, ctx: SendContext) -> SendResult:
        http, p = ctx.http, ctx.item.payload
        found = self._find_by_key(http, p["incident_key"]) if ctx.maybe_sent_before else None
        if found is None:
            details = p.get("summary") or ""
            facts = f"Severity {p.get('severity')}; services: {', '.join(p.get('services') or []) or '-'}"
            incident: dict[str, Any] = {
                "type": "incident",
                "title": p["title"][:1024],
                "service": {"id": self.setting("service_id"), "type": "service_reference"},
                "incident_key": p["incident_key"],
                "body": {"type": "incident_body", "details": f"{details}\n\n{facts}".strip()},
            }
            urgency = (self.setting("urgency_map") or {}).get(p.get("severity"))
            if urgency in ("high", "low"):
                incident["urgency"] = urgency
            priority = self._priority_ref(http, p.get("severity"))
            if priority:
                incident["priority"] = priority
            if self.setting("escalation_policy_id"):
                incident["escalation_policy"] = {
                    "id": self.setting("escalation_policy_id"),
                    "type": "escalation_policy_reference",
                }
            try:
                reply = http.request("POST", "/incidents", json_body={"incident": incident})
                found = (reply.body or {}).get("incident") or {}
            except PermanentFailure as exc:
                # An open incident with our key exists: a lost answer to an earlier attempt.
                if exc.status == 400 and "matching dedup key" in exc.message.lower():
                    found = self._find_by_key(http, p["incident_key"])
                    if found is None:
                        raise
                else:
                    raise
        rid = found.get("id")
        if not rid:
            raise PermanentFailure("PagerDuty created the incident but did not say its id.")
        link = NewLink("incident", ctx.item.incident_id, ctx.item.incident_id, "incident", rid,
                       url=found.get("html_url"), remote_state=found.get("status"))  # fmt: skip
        return SendResult(remote_ref=rid, links=[link])

    def _add_note(self, ctx: SendContext, remote: str) -> SendResult:
        http, text = ctx.http, ctx.item.payload["text"]
        note = None
        if ctx.maybe_sent_before:
            reply = http.request("GET", f"/incidents/{remote}/notes")
            for n in (reply.body or {}).get("notes") or []:
                if normalise_text(n.get("content", "")) == normalise_text(text):
                    note = n
                    break
        if note is None:
            reply = http.request("POST", f"/incidents/{remote}/notes", json_body={"note": {"content": text}})
            note = (reply.body or {}).get("note") or {}
        nid = note.get("id")
        links = (
            [NewLink("entry", ctx.item.entry_id, ctx.item.incident_id, "note", nid)]
            if nid and ctx.item.entry_id
            else []
        )
        return SendResult(remote_ref=nid, links=links)

    def _send_event(self, ctx: SendContext) -> SendResult:
        p = ctx.item.payload
        routing_key = self.secret("routing_key")
        body: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": p["event_action"],
            "dedup_key": p["incident_key"],
        }
        if p["event_action"] == "trigger":
            body["payload"] = {
                "summary": p["title"][:1024],
                "source": "sitrep",
                "severity": EVENT_SEVERITY.get(p.get("severity"), "info"),
                "custom_details": {"incident": p.get("incident_ref"), "summary": p.get("summary") or ""},
            }
            body["client"] = "Sitrep"
        events = Http(
            ctx.http.client, label="PagerDuty Events", base_url=self.setting("events_url"),
            headers=self.events_headers, describe_error=self.describe_error, pacer=ctx.http.pacer,
        )  # fmt: skip
        reply = events.request("POST", "/enqueue", json_body=body, ok=(200, 202))
        dedup = (reply.body or {}).get("dedup_key") or p["incident_key"]
        links = []
        if p["event_action"] == "trigger" and ctx.item.incident_id:
            links.append(NewLink("incident", ctx.item.incident_id, ctx.item.incident_id, "alert", dedup))
        return SendResult(remote_ref=dedup, links=links)

    def _priority_ref(self, http: Http, severity: str | None) -> dict | None:
        wanted = (self.setting("priority_map") or {}).get(severity or "")
        if not wanted:
            return None
        if self._priority_ids is None:
            reply = http.request("GET", "/priorities")
            self._priority_ids = {}
            for pr in (reply.body or {}).get("priorities") or []:
                self._priority_ids[pr.get("name", "").lower()] = pr.get("id")
                self._priority_ids[pr.get("id", "").lower()] = pr.get("id")
        pid = self._priority_ids.get(str(wanted).lower())
        if pid is None:
            raise PermanentFailure(f"PagerDuty has no priority '{wanted}' (mapped from {severity}).")
        return {"id": pid, "type": "priority_reference"}

    def _user_id(self, http: Http, email: str | None) -> str | None:
        if not email:
            return None
        if email not in self._user_ids:
            reply = http.request("GET", "/users", params={"query": email})
            match = None
            for u in (reply.body or {}).get("users") or []:
                if str(u.get("email", "")).lower() == email.lower():
                    match = u.get("id")
                    break
            self._user_ids[email] = match
        return self._user_ids[email]

    # -- pulling -------------------------------------------------------------------------
    def pull(self, ctx: PullContext) -> PullResult:
        out = PullResult()
        http = ctx.http
        me = self._user_id(http, self.setting("from_email"))
        for link in ctx.links.linked_incidents("incident"):
            rid, local = link.remote_id, link.incident_id
            reply = http.request("GET", f"/incidents/{rid}", not_found_ok=True)
            if reply is None:
                continue
            status = ((reply.body or {}).get("incident") or {}).get("status")
            if status:
                out.link_states[("incident", rid)] = status
            known_notes = ctx.links.known_remote_ids(local, "note")
            own = {normalise_text(t) for t in ctx.links.own_texts(local)}
            notes = http.request("GET", f"/incidents/{rid}/notes")
            for n in (notes.body or {}).get("notes") or []:
                nid = n.get("id")
                if not nid or nid in known_notes or normalise_text(n.get("content", "")) in own:
                    continue
                who = (n.get("user") or {}).get("summary") or "someone"
                out.events.append(RemoteEvent(
                    local, "note", nid, EntryKind.NOTE.value, n.get("content", ""), f"{who} (PagerDuty)",
                    parse_remote_time(n.get("created_at")), data={"channel": (n.get("channel") or {}).get("summary")},
                ))  # fmt: skip
            known_logs = ctx.links.known_remote_ids(local, "log_entry")
            logs = http.request("GET", f"/incidents/{rid}/log_entries", params={"is_overview": "true"})
            for le in (logs.body or {}).get("log_entries") or []:
                what = PULLED_LOG_TYPES.get(le.get("type", ""))
                lid = le.get("id")
                if what is None or not lid or lid in known_logs:
                    continue
                agent = le.get("agent") or {}
                if me and agent.get("id") == me:
                    continue  # Sitrep's own write, seen from the other side
                who = agent.get("summary") or "PagerDuty"
                body = le.get("summary") or f"{who} {what} the incident in PagerDuty"
                out.events.append(RemoteEvent(
                    local, "log_entry", lid, EntryKind.SYSTEM.value, f"PagerDuty: {body}", f"{who} (PagerDuty)",
                    parse_remote_time(le.get("created_at")), url=le.get("html_url"), data={"type": le.get("type")},
                    effects=("acknowledged",) if le.get("type") == "acknowledge_log_entry" else (),
                ))  # fmt: skip
        return out

    def test_connection(self, http: Http) -> str:
        if not self.setting("service_id"):
            raise NotConfigured("Set the PagerDuty service_id first.")
        reply = http.request("GET", f"/services/{self.setting('service_id')}", not_found_ok=True)
        if reply is None:
            raise PermanentFailure(f"PagerDuty has no service {self.setting('service_id')}.")
        service = (reply.body or {}).get("service") or {}
        me = self._user_id(http, self.setting("from_email"))
        who = (
            f"acting as {self.setting('from_email')}"
            if me
            else f"but no user has the e-mail {self.setting('from_email')}"
        )
        return f"Connected to PagerDuty: service '{service.get('name') or service.get('summary')}', {who}."


def dedup_key(incident_id: str) -> str:
    return f"sitrep-{incident_id}"
