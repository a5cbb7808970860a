"""Unleash (open source, self-hostable): feature-flag kill switches through its admin API.

Reading: GET /api/admin/projects/{projectId}/features (every flag of a project, each with its state per
environment) and GET .../features/{featureName} (one flag). Switching: POST .../features/{featureName}/
environments/{environment}/off (or /on); no body, an empty 200. The API token (an admin token or a personal
access token) goes in the Authorization header as it is; it is read from the keyring at each request.

A switch is an outbox item (op `switch_flag`): `send` reads the flag, switches it, reads it back and reports
both states in `SendResult.facts`, so what went out and what the flag then was reach the record together.
Switching is idempotent in Unleash (off twice is off), so a retry after a lost answer needs no look-up.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.adapters.common import is_from_a_backend
from services.adapters.failures import NotConfigured, PermanentFailure
from services.adapters.http import Http
from services.adapters.interface import (
    FLAG_SWITCH_KEY as SWITCH_KEY,
)
from services.adapters.interface import (
    FLAG_SWITCH_OP as SWITCH_OP,
)
from services.adapters.interface import (
    Adapter,
    HttpApi,
    SecretField,
    SettingField,
    SwitchesFlags,
)
from services.adapters.values import ChangeToPlan, FlagState, Planned, SendContext, SendResult

API = "/api/admin/projects"


def _part(text: str) -> str:
    return quote(text, safe="")


def _state(raw: dict[str, Any], project: str, environment: str) -> FlagState:
    env = next((e for e in raw.get("environments") or [] if e.get("name") == environment), None)
    return FlagState(key=str(raw.get("name")), project=project, environment=environment,
                     enabled=None if env is None else bool(env.get("enabled")),
                     description=str(raw.get("description") or ""), stale=bool(raw.get("stale")))  # fmt: skip


class UnleashAdapter(Adapter, HttpApi, SwitchesFlags):
    name = "unleash"
    label = "Unleash"
    default_max_requests_per_s = 10.0
    fields = (
        SettingField("url", "Unleash address (https://unleash.example.com)", "url", required=True),
        SettingField("project", "Project id the flags are in", "str", "default",
                     help="a flag mapping may name another project per flag"),
        SettingField("environment", "Environment a kill switch acts on unless one is chosen", "str", "production"),
    )  # fmt: skip
    secrets = (SecretField("api_token", "Admin API token or personal access token"),)

    def base_url(self) -> str:
        return str(self.setting("url") or "").rstrip("/")

    def headers(self) -> dict[str, str]:
        return {"Authorization": self.secret("api_token"), "Accept": "application/json"}

    def describe_error(self, status: int, body: Any, text: str) -> str:
        if isinstance(body, dict):
            details = [d.get("message") for d in body.get("details") or [] if isinstance(d, dict)]
            parts = [body.get("message"), *details]
            found = "; ".join(str(p) for p in parts if p)
            if found:
                return found
        return text.strip() or f"HTTP {status}"

    # -- reading -------------------------------------------------------------------------
    def flags(self, http: Http | None, project: str, environment: str) -> list[FlagState]:
        reply = self._http(http).request("GET", f"{API}/{_part(project)}/features")
        rows = (reply.body or {}).get("features") or []
        return sorted((_state(r, project, environment) for r in rows), key=lambda f: f.key)

    def read_flag(self, http: Http | None, project: str, key: str, environment: str) -> FlagState:
        reply = self._http(http).request("GET", f"{API}/{_part(project)}/features/{_part(key)}", not_found_ok=True)
        if reply is None:
            raise PermanentFailure(f"Unleash has no flag '{key}' in project '{project}'.", status=404)
        return _state(reply.body or {}, project, environment)

    def switch_flag(self, http: Http | None, project: str, key: str, environment: str, on: bool) -> None:
        path = f"{API}/{_part(project)}/features/{_part(key)}/environments/{_part(environment)}/{'on' if on else 'off'}"
        self._http(http).request("POST", path)

    @staticmethod
    def _http(http: Http | None) -> Http:
        if http is None:
            raise NotConfigured("Unleash needs its address.")
        return http

    # -- the outbox ----------------------------------------------------------------------
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        wanted = change.data.get(SWITCH_KEY)
        if is_from_a_backend(change) or not isinstance(wanted, dict) or wanted.get("backend") != self.name:
            return []
        payload = {k: wanted.get(k) for k in ("project", "flag", "environment", "on", "why")}
        payload["request_entry"] = change.entry.id
        payload["text"] = f"{wanted['flag']}@{wanted['environment']} {'on' if wanted['on'] else 'off'}"
        return [Planned(SWITCH_OP, payload, f"{self.name}:flag:{change.entry.id}")]

    def send(self, ctx: SendContext) -> SendResult:
        if ctx.item.op != SWITCH_OP:
            return SendResult(note=f"nothing to do for {ctx.item.op}")
        p = ctx.item.payload
        project, key, env, on = p["project"], p["flag"], p["environment"], bool(p["on"])
        before = self.read_flag(ctx.http, project, key, env)
        if before.enabled is None:
            raise PermanentFailure(f"Unleash flag '{key}' has no environment '{env}' in project '{project}'.")
        self.switch_flag(ctx.http, project, key, env, on)
        after = self.read_flag(ctx.http, project, key, env)
        confirmed = after.enabled is on
        note = f"{key}@{env}: {before.state_text} → {after.state_text} (read back)"
        if not confirmed:
            note += f"; Unleash still says {after.state_text}"
        elif ctx.maybe_sent_before and before.enabled is on:
            note += "; an earlier attempt whose answer was lost had already switched it"
        facts = {SWITCH_KEY: {"backend": self.name, "project": project, "flag": key, "environment": env, "on": on,
                              "before": before.enabled, "after": after.enabled, "confirmed": confirmed,
                              "why": p.get("why") or "", "request_entry": p.get("request_entry")}}  # fmt: skip
        return SendResult(remote_ref=f"{key}@{env}", note=note, facts=facts)

    def test_connection(self, http: Http | None) -> str:
        project = str(self.setting("project") or "default")
        found = self.flags(http, project, str(self.setting("environment") or "production"))
        return f"Connected to Unleash; project '{project}' has {len(found)} flag(s)."
