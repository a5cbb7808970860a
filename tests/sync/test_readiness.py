"""'Is backend X ready, and if not why': the one question the console, the CLI and comms ask."""

from __future__ import annotations

from services.adapters.channel import CommsChannel
from services.adapters.interface import ComponentSource, HttpApi, OnCallSource, PlansMaintenance, Posts
from tests.fakes import pagerduty as fpd


def test_readiness_says_why_a_backend_cannot_take_anything_yet(app):
    sync = app.sync
    assert sync.readiness("opsgenie").state == "not_installed"
    assert sync.readiness("opsgenie").problem == "opsgenie is not available in this installation."
    off = sync.readiness("pagerduty")
    assert off.state == "off" and not off.ready and "sitrep backend set pagerduty --enable" in off.problem
    sync.configure("pagerduty", {"enabled": True, "url": "http://127.0.0.1:9"})
    incomplete = sync.readiness("pagerduty")
    assert incomplete.state == "incomplete" and "service_id" in incomplete.detail
    assert incomplete.problem.startswith("PagerDuty is not set up to send: ")
    sync.configure("pagerduty", {"service_id": "PSVC001", "from_email": fpd.BOT_EMAIL})
    ready = sync.readiness("pagerduty")
    assert ready.ready and ready.problem is None
    skips = sync.readiness("pagerduty", exercise=True)
    assert skips.state == "skips_exercises" and skips.problem == "PagerDuty is set not to receive exercises."
    sync.configure("pagerduty", {"include_exercises": True})
    assert sync.readiness("pagerduty", exercise=True).ready
    # The e-mail channel is no HTTP API: ready from its settings alone, like any other.
    sync.configure("email", {"enabled": True, "host": "127.0.0.1", "from_address": "incidents@example.com"})
    assert sync.readiness("email").ready


def test_abilities_are_declared_types_not_attributes_looked_for(app):
    found = app.sync.available
    assert not issubclass(found["email"], HttpApi) and issubclass(found["email"], CommsChannel)
    assert issubclass(found["statuspage"], PlansMaintenance) and issubclass(found["statuspage"], ComponentSource)
    assert issubclass(found["pagerduty"], OnCallSource) and issubclass(found["jira"], Posts)
    assert not issubclass(found["slack"], Posts)
    assert app.sync.on_call_sources() == ["pagerduty"]
    assert list(app.sync.channels()) == ["slack", "email", "statuspage"]
