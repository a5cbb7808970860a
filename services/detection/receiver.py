"""The webhook receiver: each alert source's own payload on POST /<its name> (Alertmanager's webhook
payload version 4 on /alertmanager), and generic JSON webhooks on POST /hooks/<name> read through a
field mapping (`<config>/webhooks.toml`).

Bound to 127.0.0.1 unless told otherwise. Every request needs the shared secret (header
`X-Sitrep-Secret`) or the bearer token (`Authorization: Bearer ...`), both read from the keyring. Bodies
are limited in size, senders in rate; a malformed payload is refused with its reason (and logged), and
nothing a sender posts can take the console down: every failure ends in an HTTP answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from services.adapters.common import clean_labels
from services.adapters.failures import PayloadError
from services.adapters.interface import AlertSource
from services.adapters.values import IncomingAlert
from services.storage.secrets import KeyringUnavailable

log = logging.getLogger(__name__)
SECRET_BACKEND = "webhook"  # keyring names: webhook/shared_secret, webhook/bearer_token
MAX_BODY = 1024 * 1024
MAX_ALERTS = 5000


@dataclass(frozen=True)
class HookMapping:
    """Where a generic sender keeps each part of an alert: dotted paths into its JSON."""

    name: str
    source_kind: str = "generic"
    alerts: str = ""  # path to a list of alerts; "" means the body is one alert
    labels: str = "labels"
    annotations: str = "annotations"
    fingerprint: str = "fingerprint"
    status: str = "status"
    resolved_values: tuple[str, ...] = ("resolved", "ok", "closed")
    starts_at: str = "startsAt"
    ends_at: str = "endsAt"
    fields: dict[str, str] = field(default_factory=dict)  # label name -> dotted path


def dig(data: Any, path: str) -> Any:
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def load_mappings(config_dir: Path | None) -> tuple[dict[str, HookMapping], list[str]]:
    if config_dir is None or not (config_dir / "webhooks.toml").is_file():
        return {}, []
    path = config_dir / "webhooks.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"{path.name}: {exc}"]
    out, problems = {}, []
    for name, raw in (data.get("hooks") or {}).items():
        try:
            known = set(HookMapping.__dataclass_fields__) - {"name"}
            unknown = set(raw) - known
            if unknown:
                raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
            raw = dict(raw)
            if "resolved_values" in raw:
                raw["resolved_values"] = tuple(str(v).lower() for v in raw["resolved_values"])
            out[name] = HookMapping(name=name, **raw)
        except (TypeError, ValueError) as exc:
            problems.append(f"{path.name} [hooks.{name}]: {exc}")
    return out, problems


def parse_generic(body: Any, mapping: HookMapping, *, now: datetime) -> list[IncomingAlert]:
    items = dig(body, mapping.alerts) if mapping.alerts else [body]
    if not isinstance(items, list):
        raise PayloadError(f"'{mapping.alerts}' is not a list of alerts")
    out = []
    for i, item in enumerate(items[:MAX_ALERTS]):
        if not isinstance(item, dict):
            raise PayloadError(f"alert {i} is not an object")
        labels = clean_labels(dig(item, mapping.labels))
        for label, path in mapping.fields.items():
            value = dig(item, path)
            if isinstance(value, str | int | float) and str(value):
                labels[label] = str(value)[:2000]
        if not labels:
            raise PayloadError(f"alert {i} has no labels (mapping '{mapping.name}')")
        status = str(dig(item, mapping.status) or "").lower()
        fp = dig(item, mapping.fingerprint)
        fp = str(fp)[:64] if isinstance(fp, str | int) and str(fp) else fingerprint_of(labels)
        out.append(IncomingAlert(
            f"webhook:{mapping.name}", mapping.source_kind, fp, labels, clean_labels(dig(item, mapping.annotations)),
            parse_time(dig(item, mapping.starts_at), f"alert {i} start") or now,
            parse_time(dig(item, mapping.ends_at), f"alert {i} end"), status in mapping.resolved_values,
        ))  # fmt: skip
    return out


def fingerprint_of(labels: dict[str, str]) -> str:
    """A stable identity for a generic sender's alert that names none: its sorted labels."""
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_time(value: Any, what: str) -> datetime | None:
    if value in (None, "") or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{what} '{value[:40]}' is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def webhook_parsers(available: dict[str, type]) -> dict[str, Callable[..., list[IncomingAlert]]]:
    """The path each installed alert source's own payload is posted to: /<its name>."""
    return {name: cls.parse_webhook for name, cls in available.items() if issubclass(cls, AlertSource)}


class RateLimit:
    """A token bucket per sender address."""

    def __init__(self, per_s: float = 10.0, burst: int = 30, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s, self.burst, self._clock = per_s, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, who: str) -> bool:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(who, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - at) * self.per_s)
            if tokens < 1:
                self._buckets[who] = (tokens, now)
                return False
            self._buckets[who] = (tokens - 1, now)
            return True


@dataclass
class ReceiverStats:
    accepted: int = 0
    refused: int = 0
    last_refusal: str = ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # socketserver prints tracebacks to stderr; a broken connection belongs in the log, once
        log.warning("webhook receiver: connection from %s failed", client_address[0], exc_info=True)


class AlertReceiver:
    def __init__(self, ingest: Callable[[list[IncomingAlert]], Any], secrets, now: Callable[[], datetime], *,
                 parsers: dict[str, Callable[..., list[IncomingAlert]]] | None = None, config_dir: Path | None = None, host: str = "127.0.0.1", port: int = 9199,
                 max_body: int = MAX_BODY, rate: RateLimit | None = None) -> None:  # fmt: skip
        self._ingest = ingest
        self._secrets = secrets
        self._now = now
        self.parsers = parsers or {}
        self.mappings, self.problems = load_mappings(config_dir)
        self.host, self.port, self.max_body = host, port, max_body
        self.rate = rate or RateLimit()
        self.stats = ReceiverStats()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> AlertReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "sitrep-receiver"

            def log_message(self, fmt, *args):  # the app's log, not stderr
                log.debug("receiver: " + fmt, *args)

            def do_POST(self):
                try:
                    status, text = receiver.handle(self.path, self.headers, self.rfile, self.client_address[0])
                except Exception:  # nothing a sender posts may take the receiver down
                    log.exception("webhook receiver failed on %s", self.path)
                    status, text = 500, "internal error; logged"
                self._answer(status, text)

            def do_GET(self):
                self._answer(405 if self.path != "/-/ready" else 200, "POST alerts here" if self.path != "/-/ready" else "ok")

            def _answer(self, status: int, text: str) -> None:
                body = json.dumps({"status": status, "message": text}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError as exc:  # a sender that hung up (e.g. refused mid-upload) is not our problem
                    log.debug("receiver: answer to %s not delivered: %s", self.client_address[0], exc)

        self._server = _Server((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="alert-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _refuse(self, status: int, reason: str, who: str) -> tuple[int, str]:
        self.stats.refused += 1
        self.stats.last_refusal = reason
        log.warning("webhook from %s refused (%s): %s", who, status, reason)
        return status, reason

    def _authorised(self, headers) -> bool:
        secret = self._secrets.get(SECRET_BACKEND, "shared_secret")
        token = self._secrets.get(SECRET_BACKEND, "bearer_token")
        if not secret and not token:
            return False  # no credential set up: refuse everything rather than accept anyone
        given_secret = headers.get("X-Sitrep-Secret") or ""
        auth = headers.get("Authorization") or ""
        given_token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        return bool(secret and hmac.compare_digest(given_secret.encode(), secret.encode())) or bool(
            token and hmac.compare_digest(given_token.encode(), token.encode())
        )

    def handle(self, path: str, headers, rfile, who: str) -> tuple[int, str]:
        if not self.rate.allow(who):
            return self._refuse(429, "too many requests; slow down", who)
        try:
            authorised = self._authorised(headers)
        except KeyringUnavailable as exc:
            return self._refuse(503, f"the keyring cannot be read, so no sender can be checked: {exc.message}", who)
        if not authorised:
            return self._refuse(401, "missing or wrong shared secret / bearer token", who)
        length_text = headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            return self._refuse(411, "a Content-Length is required", who)
        length = int(length_text)
        if length > self.max_body:
            return self._refuse(413, f"body of {length} bytes is over the limit of {self.max_body}", who)
        raw = rfile.read(length)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return self._refuse(400, f"not JSON: {exc}", who)
        now = self._now()
        try:
            name = path.strip("/")
            if name in self.parsers:
                alerts = self.parsers[name](body, source=f"webhook:{name}", now=now)
            elif path.startswith("/hooks/") and path[7:] in self.mappings:
                alerts = parse_generic(body, self.mappings[path[7:]], now=now)
            else:
                return self._refuse(404, f"no receiver at {path[:80]}", who)
        except PayloadError as exc:
            return self._refuse(422, f"malformed payload: {exc}", who)
        if len(alerts) > MAX_ALERTS:
            return self._refuse(413, f"{len(alerts)} alerts in one request; at most {MAX_ALERTS}", who)
        self._ingest(alerts)
        self.stats.accepted += len(alerts)
        return 200, f"{len(alerts)} alert(s) received"
