"""A threaded HTTP/1.1 server on 127.0.0.1 with a random port, that vendor fakes build on.

Every request is recorded and validated (the subclass says against what); a request that breaks the
spec gets the vendor's 400 and is listed in `violations`, which the fixtures assert is empty.
Faults make it misbehave the way networks and vendors do: error statuses, 429 with Retry-After,
answers that never come in time, garbled bodies, dropped connections, and being down altogether.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.openapi import RequestInvalid


class Headers(dict):
    """Case-insensitive header lookup."""

    def get(self, key, default=None):  # type: ignore[override]
        lk = key.lower()
        for k, v in self.items():
            if k.lower() == lk:
                return v
        return default


@dataclass
class Fault:
    """A misbehaviour for the next `count` requests matching method/path.

    kind: status (answer `status` with `body`/`headers`) | timeout (answer only after `delay` s) |
          malformed (a 2xx whose body is not JSON) | drop (close the connection, no answer) | slow
    after_effect: do the real work first, then misbehave (the answer is lost, the change is not).
    skip: let this many matching requests through untouched first (e.g. fail the third note only).
    """

    kind: str = "status"
    count: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    method: str | None = None
    path: str | None = None
    after_effect: bool = False
    skip: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not (self.path and not re.search(self.path, path))


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    at: float
    status: int = 0


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    label = "fake"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self.port = 0
        self.received = threading.Event()  # set whenever a request arrives (tests wait on it)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with fake.lock:
                    fake._conns.add(self.connection)

            def finish(self) -> None:
                with fake.lock:
                    fake._conns.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self._release.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: no listener (connection refused) and every open connection cut."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)

    def restart(self) -> None:
        """Come back on the same port."""
        self.start()

    def add_fault(self, **kw) -> Fault:
        fault = Fault(**kw)
        with self.lock:
            self.faults.append(fault)
        return fault

    def count(self, method: str, path_regex: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.method == method and re.search(path_regex, r.path))

    # -- dispatch ------------------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.count > 0 and f.matches(method, path):
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    f.count -= 1
                    return f
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = Headers(h.headers.items())
        length = int(headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        rec = Recorded(h.command, path, query, headers, body, time.monotonic())
        with self.lock:
            self.requests.append(rec)
        self.received.set()
        fault = self._take_fault(h.command, path)
        if fault is not None and fault.kind == "slow":
            self._release.wait(fault.delay)
            fault = None
        if fault is not None and not fault.after_effect:
            self._misbehave(h, rec, fault, None)
            return
        try:
            self.validate(h.command, path, query, headers, body)
            reply = self.handle(h.command, path, query, headers, body)
        except RequestInvalid as exc:
            with self.lock:
                self.violations.append(f"{h.command} {path}: {exc}")
            reply = self.invalid_reply(str(exc))
        except Exception as exc:  # a bug in the fake: make it loud in the test
            with self.lock:
                self.violations.append(f"{h.command} {path}: fake crashed: {type(exc).__name__}: {exc}")
            reply = Reply(500, {"error": "fake crashed"})
        if fault is not None:
            self._misbehave(h, rec, fault, reply)
            return
        self._send(h, rec, reply)

    def _misbehave(self, h, rec: Recorded, fault: Fault, reply: Reply | None) -> None:
        if fault.kind == "timeout":
            self._release.wait(fault.delay or 30)
            with contextlib.suppress(OSError):
                self._send(h, rec, reply or Reply(504, {"message": "late"}))
            return
        if fault.kind == "drop":
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault.kind == "malformed":
            self._send(h, rec, Reply(reply.status if reply else 200, b'{"incident": {"id": "trunc'))
            return
        body = fault.body if fault.body is not None else self.error_body(fault.status, "injected failure")
        self._send(h, rec, Reply(fault.status, body, fault.headers))

    def _send(self, h, rec: Recorded, reply: Reply) -> None:
        rec.status = reply.status
        if isinstance(reply.body, bytes):
            payload = reply.body
        elif reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body).encode()
        h.send_response(reply.status)
        if payload:
            h.send_header("Content-Type", "application/json")
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if payload:
            h.wfile.write(payload)

    # -- for subclasses ------------------------------------------------------------------
    def validate(self, method, path, query, headers, body) -> None:
        raise NotImplementedError

    def handle(self, method, path, query, headers, body) -> Reply:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message}

    def invalid_reply(self, message: str) -> Reply:
        return Reply(400, self.error_body(400, message))


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
