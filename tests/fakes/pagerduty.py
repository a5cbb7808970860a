"""PagerDuty REST v2 + Events v2 on loopback (Events under /v2, as events.pagerduty.com/v2 serves it)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

from tests.fakes import pagerduty_contract as contract
from tests.fakes.openapi import SpecValidator, specs_dir
from tests.fakes.server import FakeServer, Reply, now_iso

TOKEN = "pd-test-token-0001"
ROUTING_KEY = "R" * 32
BOT_EMAIL = "sitrep-bot@example.com"
ACCEPT = contract.ACCEPT
# Upstream defect (specs/README): the POST /incidents example sends body.details as a string while
# the schema says object; real PagerDuty takes the string, so the fake allows both.
# Oncall.start/end are typed string and schedule a reference, yet a permanent on-call (someone named on
# the policy itself) is described with null start/end and no schedule (schedule_ids[] takes "null" for
# it), which is what PagerDuty sends: the fake sends nulls there, and its answers are checked so.
_PATCHES = {
    "/components/schemas/IncidentBody/properties/details": {"type": ["object", "string"]},
    "/components/schemas/Oncall/properties/start": {"type": ["string", "null"], "format": "date-time"},
    "/components/schemas/Oncall/properties/end": {"type": ["string", "null"], "format": "date-time"},
    "/components/schemas/Oncall/properties/schedule": {"oneOf": [
        {"$ref": "#/components/schemas/ScheduleReference"}, {"$ref": "#/components/schemas/V3ScheduleReference"},
        {"type": "null"},
    ]},
}  # fmt: skip

_REST = None
_EVENTS = None


def _validators():
    """The published specs' validators, when the specs are here (None, None otherwise)."""
    global _REST, _EVENTS
    if _REST is None and specs_dir() is not None:
        _REST = SpecValidator("pagerduty-rest-v2.subset.json", patches=_PATCHES)
        _EVENTS = SpecValidator("pagerduty-events-v2.json")
    return _REST, _EVENTS


class FakePagerDuty(FakeServer):
    label = "PagerDuty"

    def __init__(self) -> None:
        super().__init__()
        self.rest, self.events_spec = _validators()
        self._ids = itertools.count(1)
        self.users = {
            "PBOT001": {"id": "PBOT001", "email": BOT_EMAIL, "name": "Sitrep Bot", "time_zone": "Etc/UTC"},
            "PANA001": {"id": "PANA001", "email": "ana@example.com", "name": "Ana Ruiz", "time_zone": "Europe/Madrid"},
            "PBO0001": {"id": "PBO0001", "email": "bo@example.com", "name": "Bo Chen", "time_zone": "America/New_York"},
        }  # fmt: skip
        self.escalation_policies = {
            "PEP0001": {"id": "PEP0001", "name": "Checkout escalation"},
            "PEP0002": {"id": "PEP0002", "name": "Payments escalation"},
        }
        self.services = {
            "PSVC001": {"id": "PSVC001", "name": "Checkout", "status": "active", "escalation_policy": "PEP0001"},
            "PSVC002": {"id": "PSVC002", "name": "Payments", "status": "active", "escalation_policy": "PEP0002"},
        }  # fmt: skip
        # On-call entries: {policy, level, user, schedule: (id, name) | None, start, end} (datetimes or None).
        self.oncalls: list[dict] = []
        self.max_page = 100  # PagerDuty's largest page; a test lowers it to see paging
        self.priorities = [{"id": f"PPRI00{n}", "name": f"P{n}"} for n in range(1, 6)]
        self.incidents: dict[str, dict] = {}
        self.notes: dict[str, list[dict]] = {}
        self.log_entries: dict[str, list[dict]] = {}
        self.status_updates: dict[str, list[dict]] = {}
        self.responder_requests: dict[str, list[dict]] = {}
        self.alerts: dict[str, dict] = {}
        self.events_received: list[dict] = []

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):05d}"

    def error_body(self, status: int, message: str):
        return {"error": {"code": 2001 if status == 400 else status, "message": message, "errors": [message]}}

    # -- validation ----------------------------------------------------------------------
    def validate(self, method, path, query, headers, body) -> None:
        if path.startswith("/v2/"):
            contract.EVENTS.check(method, path[3:], query, headers, body)
            if self.events_spec is not None:
                self.events_spec.validate(method, path[3:], query, headers, body)
            return
        contract.REST.check(method, path, query, headers, body)
        if self.rest is not None:
            self.rest.validate(method, path, query, headers, body)

    # -- handling ------------------------------------------------------------------------
    def handle(self, method, path, query, headers, body) -> Reply:
        data = json.loads(body) if body else None
        if path.startswith("/v2/"):
            return self._event(data)
        if headers.get("Authorization") != f"Token token={TOKEN}":
            return Reply(401, {"error": {"code": 2006, "message": "Invalid Credentials"}})
        who = self._user_by_email(headers.get("From"))
        with self.lock:
            parts = path.strip("/").split("/")
            if parts == ["incidents"] and method == "POST":
                return self._create(data["incident"], who)
            if parts == ["incidents"] and method == "GET":
                rows = list(self.incidents.values())
                if "incident_key" in query:
                    rows = [i for i in rows if i.get("incident_key") == query["incident_key"][0]]
                return Reply(200, {"incidents": rows, "limit": 25, "offset": 0, "more": False, "total": None})
            if parts[0] == "incidents" and len(parts) >= 2:
                inc = self.incidents.get(parts[1])
                if inc is None:
                    return Reply(404, {"error": {"code": 2100, "message": "Not Found"}})
                return self._incident_op(method, parts[2:], inc, data, who)
            if parts == ["users"]:
                q = (query.get("query") or [""])[0].lower()
                rows = [u for u in self.users.values() if q in u["email"].lower() or q in u["name"].lower()]
                return Reply(
                    200, {"users": [self._user(u) for u in rows], "limit": 25, "offset": 0, "more": False}
                )
            if parts == ["priorities"]:
                return Reply(200, {"priorities": self.priorities, "limit": 25, "offset": 0, "more": False})
            if parts[0] == "services" and len(parts) == 2:
                svc = self.services.get(parts[1])
                return (
                    Reply(200, {"service": self._service(svc)})
                    if svc
                    else Reply(404, {"error": {"code": 2100, "message": "Not Found"}})
                )
            if parts == ["oncalls"]:
                return self._oncalls(query)
        return Reply(404, {"error": {"code": 2100, "message": f"fake has no {method} {path}"}})

    def _service(self, svc: dict) -> dict:
        policy = self.escalation_policies[svc["escalation_policy"]]
        return {
            **svc, "type": "service", "summary": svc["name"], "html_url": f"{self.url}/service-directory/{svc['id']}",
            "escalation_policy": {"id": policy["id"], "type": "escalation_policy_reference", "summary": policy["name"],
                                  "html_url": f"{self.url}/escalation_policies/{policy['id']}"},
        }  # fmt: skip

    def _oncalls(self, query: dict[str, list[str]]) -> Reply:
        """GET /oncalls as the reference describes it: filters, the since/until window (default: now),
        `earliest`, `include[]`, and classic offset/limit paging."""

        def instant(name: str) -> datetime | None:
            raw = (query.get(name) or [None])[0]
            return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None

        now = datetime.now(UTC)
        since, until = instant("since") or now, instant("until") or now
        if until < since:
            return Reply(400, self.error_body(400, "until cannot be before since"))
        limit = int((query.get("limit") or ["25"])[0])
        offset = int((query.get("offset") or ["0"])[0])
        if offset + limit > 10_000:
            return Reply(400, self.error_body(400, "Offset must be less than 10000"))
        limit = max(1, min(limit, self.max_page))
        policies = set(query.get("escalation_policy_ids[]") or [])
        users = set(query.get("user_ids[]") or [])
        schedules = set(query.get("schedule_ids[]") or [])
        rows = []
        for oc in self.oncalls:
            if policies and oc["policy"] not in policies or users and oc["user"] not in users:
                continue
            sched_id = oc["schedule"][0] if oc.get("schedule") else "null"
            if schedules and sched_id not in schedules:
                continue
            if (oc.get("start") and oc["start"] > until) or (oc.get("end") and oc["end"] <= since):
                continue
            rows.append(oc)
        rows.sort(
            key=lambda oc: (oc["policy"], oc["level"], oc.get("start") or datetime.min.replace(tzinfo=UTC))
        )
        if (query.get("earliest") or ["false"])[0] == "true":
            seen, first = set(), []
            for oc in rows:
                if (oc["policy"], oc["level"], oc["user"]) not in seen:
                    seen.add((oc["policy"], oc["level"], oc["user"]))
                    first.append(oc)
            rows = first
        include = set(query.get("include[]") or [])
        page = [self._oncall(oc, include) for oc in rows[offset : offset + limit]]
        total = len(rows) if (query.get("total") or ["false"])[0] == "true" else None
        body = {
            "oncalls": page,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(rows),
            "total": total,
        }
        return Reply(200, body)

    def _oncall(self, oc: dict, include: set[str]) -> dict:
        user, policy = self.users[oc["user"]], self.escalation_policies[oc["policy"]]

        def ref(kind: str, id_: str, name: str) -> dict:
            return {"id": id_, "type": f"{kind}_reference", "summary": name, "self": f"{self.url}/{kind}s/{id_}",
                    "html_url": f"{self.url}/{kind}s/{id_}"}  # fmt: skip

        schedule = oc.get("schedule")
        return {
            "user": self._user(user) if "users" in include else ref("user", user["id"], user["name"]),
            "escalation_policy": ({**policy, "type": "escalation_policy", "summary": policy["name"]}
                                  if "escalation_policies" in include else ref("escalation_policy", policy["id"], policy["name"])),
            "schedule": ref("schedule", schedule[0], schedule[1]) if schedule else None,
            "escalation_level": oc["level"],
            "start": _stamp(oc.get("start")),
            "end": _stamp(oc.get("end")),
        }  # fmt: skip

    def put_on_call(self, policy: str, level: int, user: str, schedule: tuple[str, str] | None = None,
                    start: datetime | None = None, end: datetime | None = None) -> None:  # fmt: skip
        """Someone goes on call (for tests): `schedule` is (id, name); None start/end is "always"."""
        with self.lock:
            self.oncalls.append({"policy": policy, "level": level, "user": user, "schedule": schedule,
                                 "start": start, "end": end})  # fmt: skip

    def add_user(self, user_id: str, name: str, email: str, time_zone: str = "Etc/UTC") -> None:
        with self.lock:
            self.users[user_id] = {"id": user_id, "email": email, "name": name, "time_zone": time_zone}

    def _user(self, u: dict) -> dict:
        return {**u, "type": "user", "summary": u["name"]}

    def _user_by_email(self, email: str | None) -> dict | None:
        return next((u for u in self.users.values() if u["email"] == email), None)

    def _ref(self, u: dict | None) -> dict:
        u = u or {"id": "PSYSTEM", "name": "PagerDuty"}
        return {"id": u["id"], "type": "user_reference", "summary": u["name"]}

    def _log(self, inc_id: str, type_: str, agent: dict | None, summary: str, at: str | None = None) -> None:
        self.log_entries.setdefault(inc_id, []).append({
            "id": self._new_id("RLOG"), "type": type_, "summary": summary, "created_at": at or now_iso(),
            "agent": self._ref(agent), "incident": {"id": inc_id, "type": "incident_reference"},
        })  # fmt: skip

    def _create(self, spec: dict, who: dict | None) -> Reply:
        if who is None:
            return Reply(400, self.error_body(400, "From header must be the e-mail of a valid user"))
        svc = spec["service"]["id"]
        if svc not in self.services:
            return Reply(400, self.error_body(400, "Service not found"))
        key = spec.get("incident_key")
        if key and any(i.get("incident_key") == key and i["service"]["id"] == svc and i["status"] != "resolved"
                       for i in self.incidents.values()):  # fmt: skip
            return Reply(400, {"error": {"code": 2001, "message": "Invalid Input Provided",
                                         "errors": ["Open incident with matching dedup key already exists on this service"]}})  # fmt: skip
        iid = self._new_id("Q")
        inc = {
            "id": iid, "type": "incident", "incident_number": len(self.incidents) + 1, "title": spec["title"],
            "status": "triggered", "urgency": spec.get("urgency", "high"), "incident_key": key,
            "service": {"id": svc, "type": "service_reference"}, "priority": spec.get("priority"),
            "body": spec.get("body"), "created_at": now_iso(), "html_url": f"{self.url}/incidents/{iid}",
        }  # fmt: skip
        self.incidents[iid] = inc
        self._log(iid, "trigger_log_entry", who, "Triggered through the API.")
        return Reply(201, {"incident": inc})

    def _incident_op(self, method, rest, inc, data, who) -> Reply:
        iid = inc["id"]
        if not rest and method == "GET":
            return Reply(200, {"incident": inc})
        if not rest and method == "PUT":
            change = data["incident"]
            if "status" in change and change["status"] != inc["status"]:
                inc["status"] = change["status"]
                kind = {"acknowledged": "acknowledge_log_entry", "resolved": "resolve_log_entry",
                        "triggered": "unacknowledge_log_entry"}[change["status"]]  # fmt: skip
                self._log(iid, kind, who, f"{change['status'].capitalize()} by {(who or {}).get('name')}.")
            for k in ("title", "urgency", "priority"):
                if k in change:
                    if (
                        k == "priority"
                        and isinstance(change[k], dict)
                        and change[k]["id"] not in {p["id"] for p in self.priorities}
                    ):
                        return Reply(400, self.error_body(400, "Priority not found"))
                    inc[k] = change[k]
            return Reply(200, {"incident": inc})
        if rest == ["notes"] and method == "GET":
            return Reply(200, {"notes": self.notes.get(iid, [])})
        if rest == ["notes"] and method == "POST":
            note = self._note(iid, who, data["note"]["content"])
            return Reply(200, {"note": note})
        if rest == ["status_updates"] and method == "POST":
            su = {
                "id": self._new_id("PSU"),
                "message": data["message"],
                "created_at": now_iso(),
                "sender": self._ref(who),
            }
            self.status_updates.setdefault(iid, []).append(su)
            return Reply(200, {"status_update": su})
        if rest == ["responder_requests"] and method == "POST":
            if data["requester_id"] not in self.users:
                return Reply(400, self.error_body(400, "Requester not found"))
            rr = {"incident": {"id": iid}, "requester": {"id": data["requester_id"]}, "message": data["message"],
                  "responder_request_targets": data["responder_request_targets"]}  # fmt: skip
            self.responder_requests.setdefault(iid, []).append(rr)
            return Reply(200, {"responder_request": rr})
        if rest == ["log_entries"] and method == "GET":
            return Reply(
                200, {"log_entries": self.log_entries.get(iid, []), "limit": 25, "offset": 0, "more": False}
            )
        return Reply(404, {"error": {"code": 2100, "message": "Not Found"}})

    def _note(self, iid: str, who: dict | None, content: str) -> dict:
        note = {"id": self._new_id("PNOTE"), "user": self._ref(who), "channel": {"summary": "The PagerDuty website or APIs"},
                "content": content, "created_at": now_iso()}  # fmt: skip
        self.notes.setdefault(iid, []).append(note)
        self._log(iid, "annotate_log_entry", who, "Note added")
        return note

    def _event(self, data: dict) -> Reply:
        if data.get("routing_key") != ROUTING_KEY:
            return Reply(
                400,
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Invalid routing key"],
                },
            )
        action = data["event_action"]
        key = data.get("dedup_key")
        if action == "trigger":
            if not data.get("payload"):
                return Reply(
                    400,
                    {
                        "status": "invalid event",
                        "message": "Event object is invalid",
                        "errors": ["'payload' is missing"],
                    },
                )
            key = key or self._new_id("DEDUP")
            alert = self.alerts.get(key)
            if alert is None or alert["status"] == "resolved":
                self.alerts[key] = {
                    "status": "triggered",
                    "summary": data["payload"]["summary"],
                    "opened": len(self.alerts) + 1,
                }
        elif key not in self.alerts:
            return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": key})
        else:
            self.alerts[key]["status"] = "acknowledged" if action == "acknowledge" else "resolved"
        self.events_received.append(data)
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": key})

    # -- things people do in PagerDuty (for pull tests) ----------------------------------
    def add_note_as(self, incident_id: str, email: str, content: str) -> dict:
        with self.lock:
            return self._note(incident_id, self._user_by_email(email), content)

    def acknowledge_as(self, incident_id: str, email: str, at: str | None = None) -> None:
        """`at` (ISO 8601) dates the log entry, for tests whose Sitrep runs on a hand-moved clock."""
        with self.lock:
            self.incidents[incident_id]["status"] = "acknowledged"
            who = self._user_by_email(email)
            self._log(incident_id, "acknowledge_log_entry", who, f"Acknowledged by {who['name']}.", at)


def _stamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
