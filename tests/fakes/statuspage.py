"""Statuspage v1 on loopback: pages, components, incidents with their updates (also at `.json` paths)."""

from __future__ import annotations

import itertools
import json

from tests.fakes.openapi import RequestInvalid, SpecValidator
from tests.fakes.server import FakeServer, Reply, now_iso

API_KEY = "sp-test-key-0001"
PAGE = "pg1abc"
_SPEC = None


def _spec():
    global _SPEC
    if _SPEC is None:
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
                return Reply(
                    200, [i for i in self.incidents.values() if i["status"] not in ("resolved", "completed")]
                )
            if len(rest) == 2 and rest[0] == "incidents":
                inc = self.incidents.get(rest[1])
                if inc is None:
                    return Reply(404, {"message": "The incident could not be found"})
                if method == "GET":
                    return Reply(200, inc)
                if method in ("PATCH", "PUT"):
                    return self._update(inc, data["incident"])
        return Reply(404, {"message": f"fake has no {method} {path}"})

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
        iid = f"inc{next(self._ids):05d}"
        inc = {"id": iid, "page_id": PAGE, "name": spec["name"], "status": spec.get("status", "investigating"),
               "impact": spec.get("impact_override", "none"), "impact_override": spec.get("impact_override"),
               "created_at": now_iso(), "updated_at": now_iso(), "metadata": meta, "shortlink": f"https://stspg.io/{iid}",
               "components": [self.components[c] for c in spec.get("component_ids") or []], "incident_updates": []}  # fmt: skip
        self._add_update(inc, inc["status"], spec.get("body", ""), spec.get("deliver_notifications", True))
        self._apply_components(spec)
        self.incidents[iid] = inc
        return Reply(201, inc)

    def _update(self, inc: dict, spec: dict) -> Reply:
        problem = self._check_components(spec)
        if problem:
            return Reply(422, {"message": problem})
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
