"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on a free loopback port, clustering off."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

BINARY = "prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealAlertmanager:
    def __init__(self, folder: Path, hook_url: str | None = None, bearer_token: str | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        receiver = "console" if hook_url else "nobody"
        auth = (f"    http_config:\n      authorization:\n        credentials: {bearer_token}\n" if bearer_token else "")
        hooks = (f"  webhook_configs:\n  - url: {hook_url}\n    send_resolved: true\n{auth}" if hook_url else "")
        (folder / "am.yml").write_text(
            f"route:\n  receiver: {receiver}\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 5s\n"
            f"  repeat_interval: 1h\nreceivers:\n- name: {receiver}\n{hooks}"
        )
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> RealAlertmanager:
        binary = shutil.which(BINARY) or f"/usr/bin/{BINARY}"
        self._log = (self.folder / "am.log").open("w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.folder / 'am.yml'}", f"--storage.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=self._log,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "am.log").read_text())
            time.sleep(0.05)
        raise RuntimeError("Alertmanager did not become ready")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._log.close()

    def fire(self, alerts: list[dict]) -> None:
        now = datetime.now(UTC)
        body = [{"startsAt": (now - timedelta(seconds=a.pop("ago_s", 0))).isoformat(),
                 "generatorURL": "http://prometheus.invalid/graph", **a} for a in alerts]  # fmt: skip
        httpx.post(f"{self.url}/api/v2/alerts", json=body, timeout=10).raise_for_status()

    def silences(self) -> list[dict]:
        return httpx.get(f"{self.url}/api/v2/silences", timeout=10).json()

    def alerts(self, **params) -> list[dict]:
        return httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=10).json()
