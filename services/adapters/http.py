"""One HTTP session for every adapter that talks to an HTTP API: response classification, Retry-After,
pacing. Adapters know URLs and payloads; what counts as "maybe sent", how a vendor's error reads and
how fast a backend may be asked live here, once (the shape of picard's ratecontrol under its API
helpers). When to retry is the sync worker's (services.sync.backoff).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from services.adapters.failures import AuthFailure, PermanentFailure, TransientFailure

if TYPE_CHECKING:  # httpx is imported where a request is sent: start-up does not pay for it (bench/)
    import httpx

RETRY_AFTER_MAX_S = 15 * 60.0  # a server asking for longer than this is clamped (RFC 9110 allows any)


# -- Retry-After and back-off --------------------------------------------------------------
def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        seconds = float(value)  # not allowed by the RFC, but some servers send "1.5"
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


def parse_reset_instant(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds until an ISO 8601 instant such as Jira's X-RateLimit-Reset (2026-03-14T09:31Z)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


# -- pacing --------------------------------------------------------------------------------
class Pacer:
    """Keeps a backend under its published limit (a minimum gap between requests) and honours a
    "wait until" the backend's rate-limit headers asked for."""

    def __init__(self, max_per_s: float | None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.min_gap = 1.0 / max_per_s if max_per_s and max_per_s > 0 else 0.0
        self._sleep = sleep
        self._next_at = 0.0

    def hold_until(self, seconds_from_now: float) -> None:
        self._next_at = max(self._next_at, time.monotonic() + seconds_from_now)

    def wait(self, stop: threading.Event | None = None) -> None:
        delay = self._next_at - time.monotonic()
        if delay > 0:
            if stop is not None:
                stop.wait(delay)
            else:
                self._sleep(delay)
        self._next_at = max(self._next_at, time.monotonic()) + self.min_gap


# -- the HTTP session an adapter talks through ---------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or None for an empty body


class Http:
    """Requests for one backend, classified into Reply / TransientFailure / PermanentFailure / AuthFailure.

    `describe_error(status, body, text)` turns the vendor's error envelope into a sentence;
    `pace_hint(headers, status)` returns seconds to hold the next request (rate-limit headers) or None.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        label: str,
        base_url: str,
        headers: Callable[[], dict[str, str]],
        describe_error: Callable[[int, Any, str], str],
        pace_hint: Callable[[Mapping[str, str], int], float | None] = lambda h, s: None,
        pacer: Pacer | None = None,
        stop: threading.Event | None = None,
        rate_limited_statuses: frozenset[int] = frozenset({429}),
    ) -> None:
        self.client = client
        self.label = label
        self.base_url = base_url.rstrip("/")
        self._headers = headers
        self._describe_error = describe_error
        self._pace_hint = pace_hint
        self.pacer = pacer or Pacer(None)
        self._stop = stop
        self._rate_limited = rate_limited_statuses
        self.requests_sent = 0

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Any = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        not_found_ok: bool = False,
        text_answer: bool = False,
    ) -> Reply | None:
        """Send one request. With not_found_ok, a 404 returns None instead of failing. With text_answer,
        a success's body is the plain text (Slack's incoming webhooks answer "ok", not JSON)."""
        import httpx  # already loaded by whoever made self.client: a dictionary lookup

        self.pacer.wait(self._stop)
        headers = self._headers()  # credentials resolved at each use
        content = None
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        sent = False
        try:
            request = self.client.build_request(
                method, self.url(path), params=params, headers=headers, content=content
            )
            self.requests_sent += 1
            sent = True
            response = self.client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientFailure(
                f"{self.label} is unreachable ({_net_reason(exc)}).", uncertain=False
            ) from None
        except httpx.TimeoutException:
            raise TransientFailure(
                f"{self.label} did not answer in time; the request may or may not have taken effect.",
                uncertain=sent and method != "GET",
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise TransientFailure(
                f"{self.label} dropped the connection ({_net_reason(exc)}).",
                uncertain=sent and method != "GET",
            ) from None
        except httpx.HTTPError as exc:
            raise TransientFailure(f"{self.label}: network error ({_net_reason(exc)}).") from None
        return self._classify(method, response, ok, not_found_ok, text_answer)

    def _classify(
        self, method: str, response: httpx.Response, ok, not_found_ok, text_answer=False
    ) -> Reply | None:
        status = response.status_code
        hint = self._pace_hint(response.headers, status)
        if hint:
            self.pacer.hold_until(hint)
        if text_answer and status in ok:
            return Reply(status, response.headers, response.text)
        # JSON straight from the bytes (RFC 8259 JSON is UTF-8): decoding to text first, with the
        # charset looked up in Content-Type, costs more than the parse on every answer.
        content = response.content
        body: Any = None
        parse_error = False
        if content.strip():
            try:
                body = json.loads(content)
            except ValueError:  # includes a body that is not UTF-8
                parse_error = True
        if status in ok:
            if parse_error:
                raise TransientFailure(
                    f"{self.label} answered {status} with a body that is not JSON; the change may have "
                    "taken effect.",
                    status=status,
                    uncertain=method != "GET",
                )
            return Reply(status, response.headers, body)
        if status == 404 and not_found_ok:
            return None
        detail = self._describe_error(status, None if parse_error else body, response.text[:300])
        if status in self._rate_limited:
            asked = parse_retry_after(response.headers.get("Retry-After"))
            if asked is None:
                asked = hint
            raise TransientFailure(
                f"{self.label} is rate limiting us ({status}); waiting before the next try.",
                status=status,
                retry_after=asked if asked is not None else 1.0,
                counts_against_breaker=False,
            )
        if status == 408 or status == 409 or status >= 500:
            raise TransientFailure(
                f"{self.label} answered {status}: {detail}",
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                uncertain=status >= 500 and method != "GET",
            )
        if status in (401, 403):
            raise AuthFailure(f"{self.label} refused the credentials ({status}): {detail}", status=status)
        raise PermanentFailure(f"{self.label} refused the request ({status}): {detail}", status=status)


def _net_reason(exc: BaseException) -> str:
    # httpx messages carry the host and errno text, never headers; still cut them short.
    text = str(exc).strip() or type(exc).__name__
    # "[Errno 111] Connection refused" -> "connection refused": the number means nothing to a person.
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return (text[:1].lower() + text[1:])[:160]
