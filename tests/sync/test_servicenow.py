"""Change records reach ServiceNow (Table API fake on loopback) as emergency change requests linked to their
configuration item, through the outbox: exactly once, also when the instance was down during the incident
or an answer was lost."""

from __future__ import annotations

import pytest

from services.core import Sitrep
from services.resolution.change_records import from_csv, to_csv
from services.storage.secrets import MemorySecrets
from tests.fakes import servicenow as fsn
from tests.sync.conftest import WORKER_OPTIONS


@pytest.fixture
def fake_snow():
    fake = fsn.FakeServiceNow()
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations == [], f"ServiceNow fake saw requests that break the contract: {fake.violations}"


@pytest.fixture
def snow_app(data_dir, clock, fake_snow):
    secrets = MemorySecrets({("servicenow", "password"): fsn.PASSWORD})
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                      config_dir=data_dir / "config", now=clock,
                      sync_options={"secrets": secrets, "worker_options": WORKER_OPTIONS})  # fmt: skip
    app.sync.configure("servicenow", {"enabled": True, "timeout_s": 1.0, "max_requests_per_s": 0,
                                      "url": fake_snow.url, "username": fsn.USER})  # fmt: skip
    yield app
    app.close()


def _payments_incident_with_three_changes(app):
    app.people.add("Ana Ruiz", "ana")
    inc = app.incidents.declare("Payments failing", "SEV1", author="ana", services=["payments-api", "payments-db-eu"])
    app.roles.assign(inc.key, "IC", "ana", author="ana")
    c = app.checklists
    c.tick(inc.key, "rollback-verification", "deploy-identified", author="ana", values={"deploy_id": "4.12"})
    c.tick(inc.key, "rollback-verification", "script-checked", author="ana", values={"evidence": "diff clean"})
    c.tick(inc.key, "rollback-verification", "rollback-executed", author="ana",
           values={"ci": "payments-api", "before": "4.12", "after": "4.11"})  # fmt: skip
    c.tick(inc.key, "feature-flag-kill-switch", "flag-identified", author="ana",
           values={"flag_key": "payments.new-3ds", "environment": "production"})  # fmt: skip
    c.tick(inc.key, "feature-flag-kill-switch", "flag-off", author="ana",
           values={"ci": "payments.new-3ds@production", "before": "enabled", "after": "disabled"})  # fmt: skip
    app.change_records.add(inc.key, author="ana", ci="payments-db-eu", attribute="max_connections", before="200",
                           after="400", why="pool exhausted", undo="set max_connections back to 200")  # fmt: skip
    return inc


def test_three_change_records_arrive_once_after_the_instance_was_down(snow_app, fake_snow):
    fake_snow.stop()
    inc = _payments_incident_with_three_changes(snow_app)
    report = snow_app.sync.drain_once(max_wait_s=5)
    assert report.sent == 0 and report.left_pending == 3
    fake_snow.restart()
    report = snow_app.sync.drain_once()
    assert (report.sent, report.left_pending) == (3, 0)
    assert snow_app.sync.drain_once().sent == 0
    records = snow_app.change_records.list(inc.key)
    by_correlation = {row["correlation_id"]: row for row in fake_snow.changes}
    assert sorted(by_correlation) == sorted(r.id for r in records) and len(fake_snow.changes) == 3
    for r in records:
        row = by_correlation[r.id]
        assert row["type"] == "emergency" and row["justification"] == r.why and row["backout_plan"] == r.undo
    linked = {fake_snow.ci_name(row.get("cmdb_ci", "")) for row in fake_snow.changes}
    assert linked == {"payments-api", "payments-db-eu", None}  # the flag is not a CMDB item: no link
    # The CSV export reads back unchanged.
    assert from_csv(to_csv(records)) == records


def test_a_lost_answer_does_not_make_a_second_change_request(snow_app, fake_snow):
    fake_snow.add_fault(method="POST", path=r"/change_request$", kind="drop", after_effect=True)
    snow_app.people.add("Ana Ruiz", "ana")
    inc = snow_app.incidents.declare("Payments failing", "SEV1", author="ana")
    snow_app.change_records.add(inc.key, author="ana", ci="card-gateway", attribute="timeout", before="30s",
                                after="5s", why="retries piling up", undo="timeout back to 30s")  # fmt: skip
    snow_app.sync.drain_once(max_wait_s=5)
    snow_app.sync.drain_once(max_wait_s=5)
    assert len(fake_snow.changes) == 1
    assert fake_snow.count("GET", r"/change_request$") >= 1


def test_wrong_credentials_are_named_and_nothing_is_lost(snow_app, fake_snow):
    snow_app.sync.configure("servicenow", {"enabled": True, "timeout_s": 1.0, "max_requests_per_s": 0,
                                           "url": fake_snow.url, "username": "someone.else"})  # fmt: skip
    snow_app.people.add("Ana Ruiz", "ana")
    inc = snow_app.incidents.declare("Payments failing", "SEV1", author="ana")
    snow_app.change_records.add(inc.key, author="ana", ci="card-gateway", attribute="timeout", before="30s",
                                after="5s", why="retries", undo="timeout back to 30s")  # fmt: skip
    report = snow_app.sync.drain_once(max_wait_s=3)
    assert report.sent == 0 and fake_snow.changes == []
    lane = next(lane for lane in snow_app.sync.status().lanes if lane.backend == "servicenow")
    assert "User Not Authenticated" in (lane.last_error or "")
