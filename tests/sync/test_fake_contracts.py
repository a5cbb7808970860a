"""The fakes refuse what the vendors refuse, from their own contracts alone (no vendor spec loaded):
a fresh clone's run still catches a malformed request."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd
from tests.fakes import statuspage as fsp
from tests.fakes.openapi import how_requests_are_checked, specs_dir


@pytest.fixture
def contract_only(monkeypatch):
    """Each fake with its published-spec validators removed, as in a clone with nothing beside it."""
    started = []

    def start(fake):
        for attr in ("rest", "events_spec", "spec", "adf"):
            if hasattr(fake, attr):
                monkeypatch.setattr(fake, attr, None)
        fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def _refused(fake, response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    assert fake.violations and words in fake.violations[-1], fake.violations
    fake.violations.clear()


PD = {"Authorization": f"Token token={fpd.TOKEN}", "Accept": fpd.ACCEPT, "Content-Type": "application/json",
      "From": fpd.BOT_EMAIL}  # fmt: skip
GOOD_INCIDENT = {"incident": {"type": "incident", "title": "Checkout down",
                              "service": {"id": "PSVC001", "type": "service_reference"}}}  # fmt: skip


def test_the_pagerduty_fake_refuses_malformed_requests_without_the_spec(contract_only):
    fake = contract_only(fpd.FakePagerDuty())
    with httpx.Client(base_url=fake.url) as c:
        assert c.post("/incidents", json=GOOD_INCIDENT, headers=PD).status_code == 201
        assert fake.violations == []
        _refused(fake, c.post("/incidents", json={"incident": {"type": "incident", "title": "x"}}, headers=PD),
                 "'service' is a required property")  # fmt: skip
        bad_type = {"incident": {**GOOD_INCIDENT["incident"], "urgency": "urgent"}}
        _refused(fake, c.post("/incidents", json=bad_type, headers=PD), "urgent")
        _refused(fake, c.post("/incidents", json=GOOD_INCIDENT, headers={**PD, "Accept": "application/json"}),
                 "header 'Accept'")  # fmt: skip
        no_from = {k: v for k, v in PD.items() if k != "From"}
        _refused(fake, c.post("/incidents", json=GOOD_INCIDENT, headers=no_from), "header 'From' is required")
        _refused(fake, c.get("/oncalls", params={"limit": 500}, headers=PD), "at most 100")
        _refused(fake, c.get("/oncalls", params={"offset": "first"}, headers=PD), "must be an integer")
        _refused(fake, c.get("/oncalls", params={"earliest": "yes"}, headers=PD), "true or false")
        _refused(fake, c.get("/incidents", params={"colour": "red"}, headers=PD), "unknown query parameter")
        _refused(fake, c.delete("/incidents", headers=PD), "not allowed")
        event = {"routing_key": fpd.ROUTING_KEY, "event_action": "trigger"}
        _refused(fake, c.post("/v2/enqueue", json=event), "needs a payload")
        _refused(fake, c.post("/v2/enqueue", json={**event, "routing_key": "short", "payload": {
            "summary": "s", "source": "x", "severity": "info"}}), "routing_key")


def test_the_jira_fake_refuses_malformed_requests_without_the_spec(contract_only):
    fake = contract_only(fj.FakeJira())
    auth = "Basic " + base64.b64encode(f"{fj.EMAIL}:{fj.TOKEN}".encode()).decode()
    headers = {"Authorization": auth, "Accept": "application/json", "Content-Type": "application/json"}
    fields = {"project": {"key": fj.PROJECT}, "issuetype": {"name": "Incident"}, "summary": "Checkout down"}
    with httpx.Client(base_url=fake.url, headers=headers) as c:
        assert c.post("/rest/api/3/issue", json={"fields": fields}).status_code == 201
        assert fake.violations == []
        _refused(fake, c.post("/rest/api/3/issue", json={"fields": {**fields, "summary": "x" * 256}}), "summary")
        _refused(fake, c.post("/rest/api/3/issue", json={"fields": {**fields, "description": {"type": "doc"}}}),
                 "not an ADF document")  # fmt: skip
        empty_text = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": ""}]}]}  # fmt: skip
        _refused(fake, c.post("/rest/api/3/issue/OPS-1/comment", json={"body": empty_text}), "non-empty text")
        _refused(fake, c.post("/rest/api/3/issue/OPS-1/transitions", json={"transition": {}}), "'id'")
        _refused(fake, c.get("/rest/api/3/issue/OPS-1/comment", params={"orderBy": "newest"}), "orderBy")
        _refused(fake, c.get("/rest/api/3/myself", headers={"Accept": "text/html"}), "header 'Accept'")


def test_the_statuspage_fake_refuses_malformed_requests_without_the_spec(contract_only):
    fake = contract_only(fsp.FakeStatuspage())
    headers = {"Authorization": f"OAuth {fsp.API_KEY}", "Content-Type": "application/json"}
    base = f"/pages/{fsp.PAGE}"
    with httpx.Client(base_url=fake.url, headers=headers) as c:
        ok = c.post(f"{base}/incidents", json={"incident": {"name": "Checkout", "status": "investigating"}})
        assert ok.status_code == 201 and fake.violations == []
        _refused(fake, c.post(f"{base}/incidents", json={"incident": {"status": "investigating"}}),
                 "'name' is a required property")  # fmt: skip
        _refused(fake, c.post(f"{base}/incidents", json={"incident": {"name": "x", "status": "on_fire"}}),
                 "on_fire")  # fmt: skip
        _refused(fake, c.post(f"{base}/incidents", json={"incident": {"name": "x", "components": {
            "cmp0001": "broken"}}}), "broken")  # fmt: skip
        _refused(fake, c.post(f"{base}/incidents", json={"incident": {"name": "x", "colour": "red"}}),
                 "colour")  # fmt: skip
        _refused(fake, c.get(f"{base}/components", params={"per_page": 1000}), "at most 100")
        _refused(fake, c.post(f"{base}/incidents", content=b"name=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}), "Content-Type")


def test_the_run_says_how_the_fakes_check_requests():
    line = how_requests_are_checked()
    assert line.startswith("vendor fakes: their own contracts")
    assert ("vendor specs in" in line) == (specs_dir() is not None)
