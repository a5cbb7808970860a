"""Issue 16's "done when" (the parts of flags), headless, as the demo commander on the demo SEV1 in payments:
the rollback checklist gates "rollback executed" on the script check and its evidence; the payments flag is
switched off through the Unleash fake and read back; Resolved is refused while the replica-consistency
checklist is open, then allowed; the three change records (rollback, flag switch, pool change) reach the
ServiceNow fake exactly once although it was down during the incident; the CSV export reads back unchanged."""

from __future__ import annotations

import pytest

from models.enums import Status
from services.core import Sitrep
from services.demo import demo_commander, seed_demo
from services.errors import ValidationError
from services.resolution.change_records import from_csv, to_csv
from services.resolution.checklists import StepBlocked
from services.storage.secrets import MemorySecrets
from tests.fakes import servicenow as fsn
from tests.fakes import unleash as ful
from tests.sync.conftest import WORKER_OPTIONS

FLAG = "payments.new-3ds-flow"


@pytest.fixture
def fakes():
    unleash, snow = ful.FakeUnleash().start(), fsn.FakeServiceNow().start()
    yield unleash, snow
    unleash.stop()
    snow.stop()
    assert unleash.violations == [] and snow.violations == []


@pytest.fixture
def app(data_dir, clock, fakes):
    unleash, snow = fakes
    secrets = MemorySecrets({("unleash", "api_token"): ful.TOKEN, ("servicenow", "password"): fsn.PASSWORD})
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                      config_dir=data_dir / "config", now=clock,
                      sync_options={"secrets": secrets, "worker_options": WORKER_OPTIONS})  # fmt: skip
    fast = {"enabled": True, "timeout_s": 1.0, "max_requests_per_s": 0}
    app.sync.configure("unleash", {**fast, "url": unleash.url, "project": ful.PROJECT})
    app.sync.configure("servicenow", {**fast, "url": snow.url, "username": fsn.USER})
    yield app
    app.close()


def test_demo_sev1_resolution_story(app, fakes, tmp_path):
    unleash, snow = fakes
    snow.stop()  # ServiceNow is down for the whole incident
    sev1 = seed_demo(app)
    ic = demo_commander(app, sev1)
    assert "payments-api" in sev1.services
    attached = {st.definition.id for st in app.checklists.states(sev1.key)}
    assert {"rollback-verification", "feature-flag-kill-switch", "replica-consistency"} <= attached

    # Roll back only after the script was checked against the configuration as it is now, with evidence.
    c = app.checklists
    c.tick(sev1.key, "rollback-verification", "deploy-identified", author=ic, values={"deploy_id": "payments-api 4.12.0"})
    rollback = {"ci": "payments-api", "before": "4.12.0", "after": "4.11.3"}
    with pytest.raises(StepBlocked, match="Rollback script checked against current configuration"):
        c.tick(sev1.key, "rollback-verification", "rollback-executed", author=ic, values=rollback)
    with pytest.raises(ValidationError, match="Evidence"):
        c.tick(sev1.key, "rollback-verification", "script-checked", author=ic, values={})
    c.tick(sev1.key, "rollback-verification", "script-checked", author=ic,
           values={"evidence": "diff of 4.11.3 config against eu-west-1 live: pool size only"})  # fmt: skip
    c.tick(sev1.key, "rollback-verification", "rollback-executed", author=ic, values=rollback)

    # The payments flag, from the demo's mapping, switched off through Unleash and read back.
    assert FLAG in [f.key for f in app.flags.mapped(sev1.key)]
    before = {(r.mapping.key, r.environment): r.state.enabled for r in app.flags.read(sev1.key)}
    assert before[(FLAG, "production")] is True
    outcome = app.flags.deliver(app.flags.request_switch(sev1.key, FLAG, "production", on=False, author=ic,
                                                         why="3-D Secure challenge loop declines EU cards"))  # fmt: skip
    assert outcome.state == "done" and (outcome.before, outcome.after) == (True, False)
    assert not unleash.enabled(FLAG, "production")
    # Its checklist item ticked with what the switch read back: the same change, not a second change record.
    c.tick(sev1.key, "feature-flag-kill-switch", "flag-identified", author=ic,
           values={"flag_key": FLAG, "environment": "production"})  # fmt: skip
    c.tick(sev1.key, "feature-flag-kill-switch", "flag-off", author=ic,
           values={"ci": f"{FLAG}@production", "before": "on", "after": "off"})  # fmt: skip
    assert [r.made_through for r in app.change_records.list(sev1.key)] == ["checklist", "flag"]

    # A configuration change typed by hand (the pool cap) is the third change record.
    app.change_records.add(sev1.key, author=ic, ci="payments-db-eu", attribute="max_connections", before="480",
                           after="640", why="settle-eu exhausted the pool", undo="max_connections back to 480")  # fmt: skip

    # Resolved is refused while the replica-consistency checklist is open, then allowed.
    with pytest.raises(StepBlocked) as blocked:
        app.incidents.set_status(sev1.key, Status.RESOLVED, author=ic)
    assert any(title == "Data consistency across replicas" for title, _ in blocked.value.missing)
    c.tick(sev1.key, "replica-consistency", "replica-lag", author=ic, values={"replica_lag": "0.4"})
    c.tick(sev1.key, "replica-consistency", "checksums-compared", author=ic,
           values={"evidence": "row counts equal on ledger tables, checksum job 8812 clean"})  # fmt: skip
    c.tick(sev1.key, "replica-consistency", "writes-reconciled", author=ic)
    assert app.checklists.open_required(sev1.key) == []
    app.incidents.set_status(sev1.key, Status.RESOLVED, author=ic)
    assert app.incidents.get(sev1.key).status == Status.RESOLVED

    # ServiceNow was down: nothing arrived; back up, the three change records arrive exactly once.
    app.sync.drain_once(max_wait_s=1, within_s=5)
    assert snow.changes == []
    snow.restart()
    app.sync.drain_once(within_s=20)
    app.sync.drain_once(within_s=20)
    records = app.change_records.list(sev1.key)
    assert sorted(r.made_through for r in records) == ["checklist", "flag", "hand"]
    assert sorted(row["correlation_id"] for row in snow.changes) == sorted(r.id for r in records)
    flag_row = next(row for row in snow.changes if row["correlation_id"] in {r.id for r in records if r.made_through == "flag"})
    assert f"{FLAG}@production" in flag_row["short_description"] and flag_row["backout_plan"].startswith("Switch")

    # The CSV export, written to a file, reads back into a fresh reading unchanged.
    exported = tmp_path / "changes.csv"
    exported.write_text(to_csv(records), encoding="utf-8", newline="")
    assert from_csv(exported.read_text(encoding="utf-8")) == records
