"""The webhook receiver: a real Alertmanager delivering its v4 payload, a generic sender through a field
mapping, and everything a sender can get wrong refused with a reason, never crashing the receiver."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from services.adapters.discovery import discover_adapters
from services.detection.receiver import AlertReceiver, RateLimit, webhook_parsers
from services.storage.secrets import MemorySecrets
from tests.detection.alertmanager_proc import RealAlertmanager
from tests.detection.test_alert_storm import pytestmark as needs_alertmanager  # noqa: F401

SECRET = "s3cret-shared"
TOKEN = "tok-123"


@pytest.fixture
def receiver(sitrep, data_dir):
    config = data_dir / "config"
    config.mkdir()
    (config / "webhooks.toml").write_text(
        '[hooks.grafana]\nsource_kind = "grafana"\nalerts = "alerts"\nlabels = "labels"\n'
        'fields = { service = "tags.svc", severity = "priority" }\nstatus = "state"\n'
    )
    secrets = MemorySecrets({("webhook", "shared_secret"): SECRET, ("webhook", "bearer_token"): TOKEN})
    r = AlertReceiver(sitrep.alerts.ingest, secrets, sitrep.now, config_dir=config,
                      parsers=webhook_parsers(discover_adapters().adapters), port=0, max_body=64 * 1024,
                      rate=RateLimit(per_s=1000, burst=1000)).start()  # fmt: skip
    yield r
    r.stop()


def post(r, path, body, headers=None, raw=None):
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(f"{r.url}{path}", content=content, timeout=10,
                      headers={"Content-Type": "application/json", **(headers or {})})  # fmt: skip


def test_a_real_alertmanager_delivers_to_the_receiver(sitrep, receiver, tmp_path):
    """Alertmanager's own webhook sender, with the bearer token in its http_config."""
    folder = tmp_path / "am"
    folder.mkdir()
    am = RealAlertmanager(folder, hook_url=f"{receiver.url}/alertmanager", bearer_token=TOKEN).start()
    try:
        am.fire([{"labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical",
                             "env": "prod", "team": "web"}, "annotations": {"summary": "5xx > 5%"}}])  # fmt: skip
        deadline = time.monotonic() + 30
        while not sitrep.alerts.list() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        am.stop()
    [alert] = sitrep.alerts.list()
    assert alert.rule == "HighErrorRate" and alert.service == "checkout" and alert.severity == "critical"
    assert alert.source == "webhook:alertmanager" and alert.problems == ()


def test_generic_webhook_through_a_field_mapping(sitrep, receiver):
    body = {"alerts": [{"labels": {"alertname": "CPUHigh", "env": "prod", "team": "discovery"},
                        "tags": {"svc": "search"}, "priority": "P2", "state": "alerting"}]}  # fmt: skip
    reply = post(receiver, "/hooks/grafana", body, {"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200, reply.text
    [alert] = sitrep.alerts.list()
    assert alert.service == "search" and alert.severity == "warning" and alert.source == "webhook:grafana"
    body["alerts"][0]["state"] = "resolved"
    assert post(receiver, "/hooks/grafana", body, {"X-Sitrep-Secret": SECRET}).status_code == 200
    assert sitrep.alerts.get(alert.id).state == "resolved"
    assert [e.event for e in sitrep.alerts.history(alert.id)] == ["firing", "resolved"]


@pytest.mark.parametrize(("path", "headers", "raw", "status", "reason"), [
    ("/alertmanager", {}, b"{}", 401, "secret"),
    ("/alertmanager", {"X-Sitrep-Secret": "wrong"}, b"{}", 401, "secret"),
    ("/alertmanager", {"Authorization": "Bearer nope"}, b"{}", 401, "token"),
    ("/alertmanager", {"X-Sitrep-Secret": SECRET}, b"{not json", 400, "not JSON"),
    ("/alertmanager", {"X-Sitrep-Secret": SECRET}, b'{"version": "3", "alerts": []}', 422, "version"),
    ("/alertmanager", {"X-Sitrep-Secret": SECRET}, b'{"version": "4", "alerts": [{"annotations": {}}]}', 422, "labels"),
    ("/alertmanager", {"X-Sitrep-Secret": SECRET}, b'{"version": "4", "alerts": [{"labels": {"a": "b"}, "startsAt": "yesterday"}]}', 422, "RFC 3339"),
    ("/alertmanager", {"X-Sitrep-Secret": SECRET}, b"[" * 70000, 413, "limit"),
    ("/hooks/unknown", {"X-Sitrep-Secret": SECRET}, b"{}", 404, "no receiver"),
    ("/alertmanager", {"X-Sitrep-Secret": SECRET}, b"\xff\xfe", 400, "not JSON"),
])  # fmt: skip
def test_bad_requests_are_refused_with_a_reason_and_nothing_is_stored(sitrep, receiver, path, headers, raw, status,
                                                                      reason, caplog):  # fmt: skip
    reply = post(receiver, path, None, headers, raw)
    assert reply.status_code == status and reason in reply.json()["message"]
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert sitrep.alerts.list() == []
    assert httpx.get(f"{receiver.url}/-/ready", timeout=5).status_code == 200  # still serving


def test_a_sender_over_its_rate_is_told_to_slow_down(sitrep, receiver):
    receiver.rate = RateLimit(per_s=0.001, burst=2)
    answers = [post(receiver, "/alertmanager", None, {"X-Sitrep-Secret": SECRET}, b"{}").status_code for _ in range(4)]
    assert answers[-1] == 429 and answers.count(429) == 2


def test_without_a_credential_set_up_nothing_is_accepted(sitrep, data_dir):
    r = AlertReceiver(sitrep.alerts.ingest, MemorySecrets({}), sitrep.now, port=0).start()
    try:
        assert post(r, "/alertmanager", {"version": "4", "alerts": []}).status_code == 401
        assert r.host == "127.0.0.1"
    finally:
        r.stop()
