"""Prometheus Alertmanager (API v2, webhook payload version 4): alerts in, silences out.

Everything Alertmanager-specific lives here: the alert and silence JSON, the webhook payload, the
fingerprint, how a maintenance window's matchers become a silence that never covers a critical alert.
Alerts are read (polled, or posted to Sitrep's receiver); silences are outbox items planned from a
maintenance window's changes, created exactly once (a silence carries the window's marker in its
comment, so an uncertain attempt is looked up before creating again) and expired with the window."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from models.types import iso
from services.adapters.common import clean_labels
from services.adapters.failures import PayloadError, PermanentFailure
from services.adapters.http import Http
from services.adapters.interface import (
    Adapter,
    AlertSource,
    HttpApi,
    PlansMaintenance,
    SecretField,
    SettingField,
)
from services.adapters.values import (
    ChangeToPlan,
    IncomingAlert,
    MaintenanceChange,
    NewLink,
    Planned,
    SendContext,
    SendResult,
    maintenance_create_key,
)  # fmt: skip
from services.storage.secrets import KeyringUnavailable

SILENCE_MARK = "sitrep:"  # + the maintenance window's (or the silenced alert's) id, in the comment
ENDED = ("completed", "cancelled")
# Critical alerts must notify even during maintenance: every silence excludes them.
NOT_CRITICAL = {"name": "severity", "value": "critical", "isRegex": False, "isEqual": False}


def parse_time(value: Any, what: str) -> datetime | None:
    if value in (None, "") or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Go prints nanoseconds; Python reads at most microseconds
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"{what} '{value[:40]}' is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year <= 1:  # Go's zero time: "no end"
        return None
    return moment.astimezone(UTC)


def fingerprint_of(labels: dict[str, str]) -> str:
    """Alertmanager's own fingerprint when it gives one; else a stable hash of the sorted labels."""
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def alert_from(raw: Any, *, source: str, now: datetime, index: int = 0) -> IncomingAlert:
    if not isinstance(raw, dict):
        raise PayloadError(f"alerts[{index}] is not an object")
    labels = clean_labels(raw.get("labels"))
    if not labels:
        raise PayloadError(f"alerts[{index}].labels is missing or empty")
    starts = parse_time(raw.get("startsAt"), f"alerts[{index}].startsAt") or now
    ends = parse_time(raw.get("endsAt"), f"alerts[{index}].endsAt")
    status = raw.get("status")
    state = status.get("state") if isinstance(status, dict) else status  # API v2 | webhook
    resolved = state == "resolved" or (ends is not None and ends <= now and state not in ("active", "firing"))
    fp = raw.get("fingerprint")
    fp = fp if isinstance(fp, str) and 0 < len(fp) <= 64 else fingerprint_of(labels)
    url = raw.get("generatorURL")
    return IncomingAlert(source, "alertmanager", fp, labels, clean_labels(raw.get("annotations")), starts,
                         ends, resolved, url[:500] if isinstance(url, str) and url else None)  # fmt: skip


def parse_webhook(body: Any, *, source: str, now: datetime) -> list[IncomingAlert]:
    """Alertmanager's webhook payload, version 4."""
    if not isinstance(body, dict):
        raise PayloadError("the body is not a JSON object")
    if str(body.get("version")) != "4":
        raise PayloadError(f"payload version '{str(body.get('version'))[:10]}' is not 4")
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("'alerts' is missing or not a list")
    return [alert_from(a, source=source, now=now, index=i) for i, a in enumerate(alerts)]


def silence_matchers(matchers: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    out = [{"name": m["name"], "value": m["value"], "isRegex": bool(m.get("is_regex")),
            "isEqual": m.get("is_equal", True) is not False} for m in matchers]  # fmt: skip
    out.append(dict(NOT_CRITICAL))
    return out


class AlertmanagerAdapter(Adapter, HttpApi, PlansMaintenance, AlertSource):
    name = "alertmanager"
    label = "Alertmanager"
    fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("url", "Alertmanager URL", "url", "http://127.0.0.1:9093", required=True),
        SettingField("more_urls", "More Alertmanagers to poll (one URL a line)", "list", []),
        SettingField("poll_s", "Seconds between polls of /api/v2/alerts", "float", 15.0),
        SettingField("created_by", "Silences are created by", "str", "sitrep"),
    )
    secrets: ClassVar[tuple[SecretField, ...]] = (SecretField("bearer_token", "Bearer token (when behind a proxy)", required=False),)  # fmt: skip

    def base_url(self) -> str:
        return str(self.setting("url")).rstrip("/")

    def poll_urls(self) -> list[str]:
        return [self.base_url()] + [str(u).rstrip("/") for u in self.setting("more_urls") or [] if u]

    def headers(self) -> dict[str, str]:
        try:
            token = self._secrets.get(self.name, "bearer_token")
        except KeyringUnavailable:  # the token is optional: an Alertmanager without a proxy asks for none
            token = None
        return {"Accept": "application/json", "Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}

    def describe_error(self, status: int, body: Any, text: str) -> str:
        if isinstance(body, dict) and body.get("message"):
            return f"Alertmanager answered {status}: {str(body['message'])[:200]}"
        return f"Alertmanager answered {status}: {text[:200]}"

    def test_connection(self, http: Http) -> str:
        reply = http.request("GET", "/api/v2/status")
        body = reply.body or {}
        version = (body.get("versionInfo") or {}).get("version", "?")
        cluster = (body.get("cluster") or {}).get("status", "?")
        return f"Alertmanager {version}, cluster {cluster}"

    # -- alerts in ---------------------------------------------------------------------------
    @classmethod
    def parse_webhook(cls, body: Any, *, source: str, now: datetime) -> list[IncomingAlert]:
        return parse_webhook(body, source=source, now=now)

    def fetch_alerts(self, http: Http, *, now: datetime) -> list[IncomingAlert]:
        """Every alert the Alertmanager at `http` holds, silenced and inhibited ones included (Sitrep
        marks those itself)."""
        reply = http.request("GET", "/api/v2/alerts", params={"silenced": "true", "inhibited": "true"})
        body = reply.body if reply else None
        if not isinstance(body, list):
            raise PermanentFailure("Alertmanager's /api/v2/alerts did not answer a list.")
        source = self.source_for(http.base_url)
        return [alert_from(a, source=source, now=now, index=i) for i, a in enumerate(body)]

    def source_for(self, url: str) -> str:
        return f"{self.name}:{url.rstrip('/').split('://')[-1]}"

    def silences(self, http: Http) -> list[dict[str, Any]]:
        reply = http.request("GET", "/api/v2/silences")
        return reply.body if reply and isinstance(reply.body, list) else []

    # -- silences out --------------------------------------------------------------------------
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        return []  # incidents are not Alertmanager's business

    def plan_maintenance(self, change: MaintenanceChange) -> list[Planned]:
        m = change.maintenance
        if not m.matchers and not change.previous.get("matchers"):
            return []
        if m.status in ENDED or change.action == "cancelled":
            return [Planned("expire_silences", {"reason": m.status}, f"{self.name}:expire:{m.id}")]
        if change.action != "planned" and not {"scheduled_for", "scheduled_until", "matchers"} & set(change.changed):
            return []
        spans = [(iso(s), iso(e)) for s, e in (m.occurrences or ((m.scheduled_for, m.scheduled_until),))]
        payload = {"matchers": silence_matchers(m.matchers), "occurrences": spans,
                   "comment": f"{m.key} {m.title} ({SILENCE_MARK}{m.id})"}  # fmt: skip
        if change.action == "planned":
            return [Planned("create_silences", payload, maintenance_create_key(self.name, m.id))]
        return [Planned("replace_silences", payload, f"{self.name}:replace:{change.update_id}")]

    def silence(self, alert_id: str, labels: dict[str, str], start: datetime, end: datetime,
                comment: str) -> Planned:  # fmt: skip
        """One alert silenced by its exact labels until `end`; the key makes each request once."""
        matchers = [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())]
        payload = {"alert_id": alert_id, "matchers": matchers, "occurrences": [(iso(start), iso(end))],
                   "comment": f"{comment} ({SILENCE_MARK}{alert_id})", "title": comment}  # fmt: skip
        return Planned("create_silences", payload, f"{self.name}:silence-alert:{alert_id}:{iso(end)}")

    def send(self, ctx: SendContext) -> SendResult:
        op = ctx.item.op
        p = ctx.item.payload
        mid = p.get("maintenance_id") or p["alert_id"]
        local_kind = "maintenance" if p.get("maintenance_id") else "alert"
        if op == "expire_silences":
            return self._expire(ctx, mid)
        if op == "replace_silences":
            self._expire(ctx, mid)
        if op not in ("create_silences", "replace_silences"):
            raise PermanentFailure(f"Alertmanager does not know the operation '{op}'.")
        existing = {}
        if ctx.maybe_sent_before or op == "replace_silences":
            existing = self._ours(ctx.http, mid)
        result = SendResult()
        for start, end in p["occurrences"]:
            if datetime.fromisoformat(end) <= ctx.now:
                continue
            found = existing.get(end)
            if found is None:
                body = {"matchers": p["matchers"], "startsAt": start, "endsAt": end,
                        "createdBy": self.setting("created_by"), "comment": p["comment"]}  # fmt: skip
                reply = ctx.http.request("POST", "/api/v2/silences", json_body=body)
                found = (reply.body or {}).get("silenceID")
            if found:
                result.links.append(NewLink(local_kind, mid, None, "silence", found,
                                            f"{self.base_url()}/#/silences/{found}"))  # fmt: skip
        result.remote_ref = ",".join(link.remote_id for link in result.links) or None
        return result

    def _ours(self, http: Http, maintenance_id: str) -> dict[str, str]:
        """This window's silences still in force, by end (Alertmanager moves a past start to now)."""
        out = {}
        for s in self.silences(http):
            state = (s.get("status") or {}).get("state")
            if SILENCE_MARK + maintenance_id in (s.get("comment") or "") and state in ("active", "pending"):
                end = parse_time(s.get("endsAt"), "endsAt")
                if end:
                    out[iso(end)] = s["id"]
        return out

    def _expire(self, ctx: SendContext, maintenance_id: str) -> SendResult:
        for silence_id in self._ours(ctx.http, maintenance_id).values():
            ctx.http.request("DELETE", f"/api/v2/silence/{silence_id}", not_found_ok=True)
        return SendResult(note="silences expired")
