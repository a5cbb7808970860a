"""Who PagerDuty says is on call: the escalation policy Sitrep's incidents go to (the configured
escalation_policy_id, else the service_id's policy) and the policies behind the PagerDuty services an
incident's services map to (`service_map`), read from /oncalls page by page. The PagerDuty adapter
declares this ability (OnCallSource)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from services.adapters.common import parse_remote_time
from services.adapters.failures import PermanentFailure
from services.adapters.http import Http
from services.adapters.interface import OnCallSource
from services.adapters.values import OnCallRoster, OnCallScope, OnCallShift

ON_CALL_PAGE = 100  # the most PagerDuty gives per page
ON_CALL_MAX_OFFSET = 10_000  # offset + limit beyond this is refused with 400


class PagerDutyOnCall(OnCallSource):
    def on_call_missing(self) -> list[str]:
        """What must be set before on-call can be read (settings only; no keyring, no network).
        Reading needs less than sending: no from_email, and the backend need not be enabled."""
        if self.setting("mode") == "events":
            return ["PagerDuty is set to Events v2 only ('mode' = events), which has no on-call schedules."]
        if not (self.setting("service_id") or self.setting("escalation_policy_id")):
            return ["PagerDuty: set 'service_id' (or 'escalation_policy_id') to read who is on call."]
        return []

    def mapped_services(self, services: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """PagerDuty service id -> the Sitrep services (as the incident names them) that map to it.
        Names match without regard to case or surrounding spaces; unmapped services are left out."""
        table = {
            str(k).strip().lower(): str(v).strip() for k, v in (self.setting("service_map") or {}).items()
        }
        out: dict[str, list[str]] = {}
        for name in services:
            remote = table.get(str(name).strip().lower())
            if remote:
                out.setdefault(remote, [])
                if name not in out[remote]:
                    out[remote].append(name)
        return {k: tuple(v) for k, v in out.items()}

    def on_call_targets(self, services: Iterable[str] = ()) -> tuple[str, ...]:
        """What an on-call answer depends on, known before any request: a key for remembering it."""
        default = self.setting("escalation_policy_id") or self.setting("service_id")
        default_kind = "policy" if self.setting("escalation_policy_id") else "service"
        targets = {f"{default_kind}:{default}"} | {f"service:{sid}" for sid in self.mapped_services(services)}
        return (self.base_url(), *sorted(targets))

    def on_call(
        self, http: Http, *, services: Iterable[str] = (), at: datetime | None = None
    ) -> OnCallRoster:
        """Who is on call now (or at `at`): for the escalation policy Sitrep's incidents go to (the
        configured escalation_policy_id, else the service_id's policy) and for the PagerDuty services
        the incident's `services` map to. One entry per policy, level and user (`earliest`), every page."""
        services = list(services)
        problems: list[str] = []
        scopes: dict[str, OnCallScope] = {}

        def add(scope: OnCallScope) -> None:
            known = scopes.get(scope.escalation_policy_id)
            if known is None:
                scopes[scope.escalation_policy_id] = scope
                return
            merged = tuple(dict.fromkeys(known.for_services + scope.for_services))
            if not known.for_services or not scope.for_services:
                merged = ()  # the incidents' own policy: shown as such
            scopes[scope.escalation_policy_id] = OnCallScope(
                known.escalation_policy_id, known.escalation_policy or scope.escalation_policy,
                known.service_id or scope.service_id, known.service_name or scope.service_name, merged,
            )  # fmt: skip

        if self.setting("escalation_policy_id"):
            add(OnCallScope(self.setting("escalation_policy_id"), None, None, None))
        else:
            try:
                add(self._service_scope(http, self.setting("service_id"), ()))
            except PermanentFailure as exc:
                problems.append(f"{exc.message} (the 'service_id' setting)")
        for sid, names in self.mapped_services(services).items():
            try:
                add(self._service_scope(http, sid, names))
            except PermanentFailure as exc:
                problems.append(f"{exc.message} ('service_map': {', '.join(names)})")
        if not scopes:
            raise PermanentFailure(" ".join(problems) or "PagerDuty: nothing to read on-call for.")
        shifts = self._on_call_entries(http, list(scopes), at)
        names = {sh.escalation_policy_id: sh.escalation_policy for sh in shifts}
        filled = tuple(
            sc if sc.escalation_policy else OnCallScope(sc.escalation_policy_id, names.get(sc.escalation_policy_id),
                                                        sc.service_id, sc.service_name, sc.for_services)
            for sc in scopes.values()
        )  # fmt: skip
        return OnCallRoster(filled, tuple(shifts), tuple(problems))

    def _service_scope(self, http: Http, service_id: str, for_services: tuple[str, ...]) -> OnCallScope:
        reply = http.request("GET", f"/services/{service_id}", not_found_ok=True)
        if reply is None:
            raise PermanentFailure(f"PagerDuty has no service {service_id}")
        service = (reply.body or {}).get("service") if isinstance(reply.body, dict) else None
        policy = (service or {}).get("escalation_policy") if isinstance(service, dict) else None
        if not isinstance(policy, dict) or not policy.get("id"):
            raise PermanentFailure(f"PagerDuty's service {service_id} has no escalation policy")
        return OnCallScope(
            str(policy["id"]), policy.get("summary") or policy.get("name"), service_id,
            service.get("name") or service.get("summary"), for_services,
        )  # fmt: skip

    def _on_call_entries(self, http: Http, policy_ids: list[str], at: datetime | None) -> list[OnCallShift]:
        params: dict[str, Any] = {
            "escalation_policy_ids[]": policy_ids,
            "earliest": "true",
            "include[]": ["users"],
            "limit": ON_CALL_PAGE,
        }
        if at is not None:
            instant = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            params["since"] = params["until"] = instant  # "on call at this instant", as the console asked
        out: list[OnCallShift] = []
        offset = 0
        while True:
            reply = http.request("GET", "/oncalls", params={**params, "offset": offset})
            body = reply.body if isinstance(reply.body, dict) else {}
            rows = body.get("oncalls")
            if not isinstance(rows, list):
                raise PermanentFailure("PagerDuty answered the on-call request without an on-call list.")
            out.extend(shift for row in rows if (shift := _shift(row)) is not None)
            offset += len(rows)
            if not body.get("more") or not rows or offset + ON_CALL_PAGE > ON_CALL_MAX_OFFSET:
                return out


def _shift(row: Any) -> OnCallShift | None:
    """One /oncalls entry, or None when it names nobody (validated here, at the edge)."""
    if not isinstance(row, dict):
        return None
    user = row.get("user") if isinstance(row.get("user"), dict) else {}
    policy = row.get("escalation_policy") if isinstance(row.get("escalation_policy"), dict) else {}
    schedule = row.get("schedule") if isinstance(row.get("schedule"), dict) else None
    if not user.get("id") or not policy.get("id"):
        return None
    try:
        level = int(row.get("escalation_level") or 0)
    except (TypeError, ValueError):
        level = 0
    email = user.get("email")  # only with include[]=users; a bare reference has none
    return OnCallShift(
        str(user["id"]), str(user.get("name") or user.get("summary") or user["id"]),
        str(email) if email else None, user.get("time_zone") or None,
        str(policy["id"]), str(policy.get("summary") or policy.get("name") or policy["id"]), level,
        (schedule.get("summary") or schedule.get("name") or schedule.get("id")) if schedule else None,
        parse_remote_time(row.get("start")), parse_remote_time(row.get("end")),
    )  # fmt: skip
