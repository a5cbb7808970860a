"""Statuspage v1 on loopback: pages, components, incidents with their updates (also at `.json` paths),
and scheduled maintenances (incidents with scheduled_for/until) with their lists and auto-transitions."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

from tests.fakes import statuspage_contract as contract
from tests.fakes.contract import RequestInvalid
from tests.fakes.openapi import SpecValidator, specs_dir
from tests.fakes.server import FakeServer, Reply, now_iso

API_KEY = "sp-test-key-0001"
PAGE = "pg1abc"
_SPEC = None
MAINTENANCE_FLAGS = (
    "scheduled_remind_prior",
    "scheduled_auto_in_progress",
    "scheduled_auto_completed",
    "auto_transition_to_maintenance_state",
    "auto_transition_to_operational_state",
    "auto_transition_deliver_notifications_at_start",
    "auto_transition_deliver_notifications_at_end",
)
# Statuspage's own words when a maintenance moves by itself.
AUTO_IN_PROGRESS = "Scheduled maintenance is currently in progress. We will provide updates as necessary."
AUTO_COMPLETED = "The scheduled maintenance has been completed."


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _stamp(value: datetime) -> str:
    """The form Statuspage answers with: milliseconds and a Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _spec():
    """The published spec's validator, when the specs are here (None otherwise)."""
    global _SPEC
    if _SPEC is None and specs_dir() is not None:
        _SPEC = SpecValidator("statuspage-v1.json", strip_suffix=".json")
    return _SPEC


class FakeStatuspage(FakeServer):
    label = "Statuspage"

    def __init__(self, n_components: int = 3) -> None:
        super().__init__()
        self.spec = _spec()
        self._ids = itertools.count(1)
        self.page = {
            "id": PAGE,
            "name": "Acme Status",
            "subdomain": "acme",
            "url": "https://status.example.com",
        }
        self.components = {
            f"cmp{n:04d}": {"id": f"cmp{n:04d}", "page_id": PAGE, "group_id": None, "name": f"Component {n}",
                            "status": "operational", "position": n}
            for n in range(1, n_components + 1)
        }  # fmt: skip
        self.incidents: dict[str, dict] = {}

    def validate(self, method, path, query, headers, body) -> None:
        contract.CONTRACT.check(method, path, query, headers, body)
        if self.spec is not None:
            self.spec.validate(method, path, query, headers, body)

    def _authorised(self, headers, query) -> bool:
        return (
            headers.get("Authorization") == f"OAuth {API_KEY}" or (query.get("api_key") or [""])[0] == API_KEY
        )

    def handle(self, method, path, query, headers, body) -> Reply:
        if not self._authorised(headers, query):
            return Reply(401, {"message": "Could not authenticate"})
        data = json.loads(body) if body else None
        parts = path.removesuffix(".json").strip("/").split("/")
        with self.lock:
            if parts == ["pages"]:
                return Reply(200, [self.page])
            if len(parts) < 3 or parts[0] != "pages" or parts[1] != PAGE:
                return Reply(404, {"message": "The page could not be found"})
            rest = parts[2:]
            if rest == ["components"] and method == "GET":
                page = int((query.get("page") or ["1"])[0])
                per = min(int((query.get("per_page") or ["100"])[0]), 100)
                rows = sorted(self.components.values(), key=lambda c: c["position"])
                return Reply(200, rows[(page - 1) * per : page * per])
            if rest == ["incidents"] and method == "POST":
                return self._create(data["incident"])
            if rest == ["incidents"] and method == "GET":
                q = (query.get("q") or [""])[0].lower()
                rows = [i for i in self.incidents.values() if q in i["name"].lower() or q in i["status"]
                        or any(q in u["body"].lower() for u in i["incident_updates"])]  # fmt: skip
                return Reply(200, rows[: int((query.get("limit") or ["100"])[0])])
            if rest == ["incidents", "unresolved"] and method == "GET":
                return Reply(200, [i for i in self.incidents.values()
                                   if not i.get("scheduled_for") and i["status"] not in ("resolved", "completed")])  # fmt: skip
            if (
                len(rest) == 2
                and rest[0] == "incidents"
                and rest[1] in self.MAINTENANCE_LISTS
                and method == "GET"
            ):
                rows = [i for i in self.incidents.values() if self.MAINTENANCE_LISTS[rest[1]](i)]
                page = int((query.get("page") or ["1"])[0])
                per = int((query.get("per_page") or ["100"])[0])
                return Reply(200, rows[(page - 1) * per : page * per])
            if (len(rest) == 4 and rest[0] == "incidents" and rest[2] == "incident_updates"
                    and method in ("PATCH", "PUT")):  # fmt: skip
                inc = self.incidents.get(rest[1])
                upd = next((u for u in (inc or {}).get("incident_updates", []) if u["id"] == rest[3]), None)
                if upd is None:
                    return Reply(404, {"message": "The incident update could not be found"})
                for key in ("body", "display_at", "deliver_notifications"):
                    if key in data["incident_update"]:
                        upd[key] = data["incident_update"][key]
                upd["updated_at"] = now_iso()
                return Reply(200, upd)
            if len(rest) == 2 and rest[0] == "incidents":
                inc = self.incidents.get(rest[1])
                if inc is None:
                    return Reply(404, {"message": "The incident could not be found"})
                if method == "GET":
                    return Reply(200, inc)
                if method in ("PATCH", "PUT"):
                    return self._update(inc, data["incident"])
        return Reply(404, {"message": f"fake has no {method} {path}"})

    # Which scheduled maintenances each list holds ("scheduled": announced and not started yet;
    # "upcoming": those that start in the future; "active_maintenance": those under way).
    MAINTENANCE_LISTS = {
        "scheduled": lambda i: bool(i.get("scheduled_for")) and i["status"] == "scheduled",
        "upcoming": lambda i: bool(i.get("scheduled_for")) and i["status"] == "scheduled"
        and _when(i["scheduled_for"]) > datetime.now(UTC),
        "active_maintenance": lambda i: bool(i.get("scheduled_for")) and i["status"] in ("in_progress", "verifying"),
    }  # fmt: skip

    def _check_schedule(self, inc: dict, spec: dict) -> str | None:
        start = spec.get("scheduled_for", inc.get("scheduled_for"))
        end = spec.get("scheduled_until", inc.get("scheduled_until"))
        if start and end and _when(end) <= _when(start):
            return "Scheduled until must be after scheduled for"
        if bool(start) != bool(end):
            return "Scheduled maintenances need both scheduled_for and scheduled_until"
        return None

    def _apply_schedule(self, inc: dict, spec: dict) -> None:
        for key in ("scheduled_for", "scheduled_until"):
            if key in spec:
                inc[key] = _stamp(_when(spec[key]))
        for key in MAINTENANCE_FLAGS:
            if key in spec:
                inc[key] = bool(spec[key])
        if "component_ids" in spec:
            inc["components"] = [dict(self.components[c]) for c in spec["component_ids"]]

    def _check_components(self, spec: dict) -> str | None:
        for cid in list(spec.get("components") or {}) + list(spec.get("component_ids") or []):
            if cid not in self.components:
                return f"Component {cid} does not exist on this page"
        return None

    def _add_update(self, inc: dict, status: str, body: str, notify: bool) -> dict:
        upd = {"id": f"upd{next(self._ids):05d}", "incident_id": inc["id"], "status": status, "body": body or "",
               "created_at": now_iso(), "updated_at": now_iso(), "display_at": now_iso(),
               "deliver_notifications": notify, "affected_components": []}  # fmt: skip
        inc["incident_updates"].insert(0, upd)  # newest first, as Statuspage lists them
        return upd

    def _apply_components(self, spec: dict) -> None:
        for cid, status in (spec.get("components") or {}).items():
            self.components[cid]["status"] = status

    def _create(self, spec: dict) -> Reply:
        problem = self._check_components(spec)
        if problem:
            return Reply(422, {"message": problem})
        if len(spec.get("name", "")) > 255:
            raise RequestInvalid("incident name longer than 255 characters")
        meta = spec.get("metadata") or {}
        if any(not isinstance(v, dict) for v in meta.values()):
            return Reply(422, {"message": "Metadata top level values must be objects"})
        problem = self._check_schedule({}, spec)
        if problem:
            return Reply(422, {"message": problem})
        iid = f"inc{next(self._ids):05d}"
        inc = {"id": iid, "page_id": PAGE, "name": spec["name"], "status": spec.get("status", "investigating"),
               "impact": spec.get("impact_override", "none"), "impact_override": spec.get("impact_override"),
               "created_at": now_iso(), "updated_at": now_iso(), "metadata": meta, "shortlink": f"https://stspg.io/{iid}",
               "components": [self.components[c] for c in spec.get("component_ids") or []], "incident_updates": []}  # fmt: skip
        if spec.get("scheduled_for"):
            inc["impact"] = spec.get("impact_override", "maintenance")
            inc["scheduled_for"] = inc["scheduled_until"] = None
        self._apply_schedule(inc, spec)
        self._add_update(inc, inc["status"], spec.get("body", ""), spec.get("deliver_notifications", True))
        self._apply_components(spec)
        self.incidents[iid] = inc
        return Reply(201, inc)

    def _update(self, inc: dict, spec: dict) -> Reply:
        problem = self._check_components(spec) or self._check_schedule(inc, spec)
        if problem:
            return Reply(422, {"message": problem})
        if "name" in spec:
            inc["name"] = spec["name"]
        self._apply_schedule(inc, spec)
        if "status" in spec:
            inc["status"] = spec["status"]
        if "impact_override" in spec:
            inc["impact_override"] = inc["impact"] = spec["impact_override"]
        if "status" in spec or "body" in spec:
            self._add_update(
                inc, inc["status"], spec.get("body", ""), spec.get("deliver_notifications", True)
            )
        self._apply_components(spec)
        inc["updated_at"] = now_iso()
        return Reply(200, inc)

    # -- things people do on the status page (for pull tests and the component picker) ----------
    def add_group(self, name: str, members: list[str]) -> str:
        """A component group, listed among the components as Statuspage lists it (`group: true`)."""
        with self.lock:
            gid = f"grp{next(self._ids):04d}"
            self.components[gid] = {"id": gid, "page_id": PAGE, "group_id": None, "group": True, "name": name,
                                    "status": "operational", "position": len(self.components) + 1}  # fmt: skip
            for cid in members:
                self.components[cid]["group_id"] = gid
            return gid

    def add_component(self, name: str, status: str = "operational") -> str:
        with self.lock:
            cid = f"cmp{len(self.components) + 1:04d}"
            self.components[cid] = {"id": cid, "page_id": PAGE, "group_id": None, "name": name,
                                    "status": status, "position": len(self.components) + 1}  # fmt: skip
            return cid

    def post_update_as_person(self, incident_id: str, status: str, body: str) -> dict:
        with self.lock:
            inc = self.incidents[incident_id]
            inc["status"] = status
            return self._add_update(inc, status, body, True)

    def maintenances(self) -> list[dict]:
        with self.lock:
            return [i for i in self.incidents.values() if i.get("scheduled_for")]

    def run_scheduler(self, now: datetime) -> list[str]:
        """What Statuspage does on its own as time passes: a maintenance set to start (or complete)
        automatically does so at its scheduled time. Returns the ids of those that moved."""
        moved = []
        with self.lock:
            for inc in self.incidents.values():
                if not inc.get("scheduled_for"):
                    continue
                ids = [c["id"] for c in inc.get("components") or []]
                if (inc["status"] == "scheduled" and inc.get("scheduled_auto_in_progress")
                        and _when(inc["scheduled_for"]) <= now):  # fmt: skip
                    inc["status"] = "in_progress"
                    self._add_update(inc, "in_progress", AUTO_IN_PROGRESS,
                                     bool(inc.get("auto_transition_deliver_notifications_at_start")))  # fmt: skip
                    if inc.get("auto_transition_to_maintenance_state"):
                        self._apply_components({"components": dict.fromkeys(ids, "under_maintenance")})
                    moved.append(inc["id"])
                if (inc["status"] in ("in_progress", "verifying") and inc.get("scheduled_auto_completed")
                        and _when(inc["scheduled_until"]) <= now):  # fmt: skip
                    inc["status"] = "completed"
                    self._add_update(inc, "completed", AUTO_COMPLETED,
                                     bool(inc.get("auto_transition_deliver_notifications_at_end")))  # fmt: skip
                    if inc.get("auto_transition_to_operational_state"):
                        self._apply_components({"components": dict.fromkeys(ids, "operational")})
                    if inc["id"] not in moved:
                        moved.append(inc["id"])
        return moved

    def reschedule_as_person(
        self, incident_id: str, scheduled_for: datetime, scheduled_until: datetime
    ) -> None:
        with self.lock:
            inc = self.incidents[incident_id]
            inc["scheduled_for"], inc["scheduled_until"] = _stamp(scheduled_for), _stamp(scheduled_until)
