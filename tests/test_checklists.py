"""Resolution checklists: attached by type, service or hand; preconditions, fields, who may tick; the gate
on Resolved and on isolating a host; the commander's override; every mark a timeline entry."""

from __future__ import annotations

import pytest

from models.enums import EntryKind, Status
from services.errors import InvalidTransition, NotFound, ValidationError
from services.record.owed import owed_at_resolve
from services.resolution.checklists import StepBlocked, load_definitions


@pytest.fixture
def payments(sitrep, clock):
    for name, handle in (("Ana Ruiz", "ana"), ("Ben Okafor", "ben"), ("Chen Wei", "chen")):
        sitrep.people.add(name, handle)
    inc = sitrep.incidents.declare("Payments failing", "SEV1", author="ana",
                                   services=["checkout", "payments-api", "payments-db-eu"])  # fmt: skip
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    sitrep.roles.assign(inc.key, "TECH", "ben", author="ana")
    clock.advance(minutes=1)
    return inc


def _checklist_entries(sitrep, key):
    return [e for e in sitrep.timeline.entries(sitrep.incidents.get(key).id) if e.kind == EntryKind.CHECKLIST]


def test_checklists_attach_by_type_and_service(sitrep, payments):
    attached = {st.definition.id: st.attached_by for st in sitrep.checklists.states(payments.key)}
    assert attached == {"rollback-verification": "type", "feature-flag-kill-switch": "type",
                        "replica-consistency": "service"}  # fmt: skip
    sitrep.checklists.attach(payments.key, "ready-to-resolve", author="ana")
    assert sitrep.checklists.state(payments.key, "ready-to-resolve").attached_by == "hand"
    with pytest.raises(InvalidTransition, match="already attached"):
        sitrep.checklists.attach(payments.key, "ready-to-resolve", author="ana")
    with pytest.raises(NotFound, match="Known checklists"):
        sitrep.checklists.attach(payments.key, "no-such", author="ana")


def test_rollback_executed_is_refused_until_the_script_is_checked_with_evidence(sitrep, payments):
    key = payments.key
    sitrep.checklists.tick(key, "rollback-verification", "deploy-identified", author="ben",
                           values={"deploy_id": "payments-api 4.12"})  # fmt: skip
    with pytest.raises(StepBlocked) as err:
        sitrep.checklists.tick(key, "rollback-verification", "rollback-executed", author="ben")
    assert err.value.missing == [("Rollback verification", "Rollback script checked against current configuration")]
    with pytest.raises(ValidationError, match="needs: Evidence"):
        sitrep.checklists.tick(key, "rollback-verification", "script-checked", author="ben")
    with pytest.raises(InvalidTransition, match="may be ticked by IC or TECH; chen holds no role"):
        sitrep.checklists.tick(key, "rollback-verification", "script-checked", author="chen",
                               values={"evidence": "diff clean"})  # fmt: skip
    sitrep.checklists.tick(key, "rollback-verification", "script-checked", author="ben",
                           values={"evidence": "diff of 4.11 script vs live config: clean"})  # fmt: skip
    done = sitrep.checklists.tick(key, "rollback-verification", "rollback-executed", author="ben",
                                  values={"ci": "payments-api", "before": "4.12", "after": "4.11"})  # fmt: skip
    assert done.status == "done" and done.by == "ben"
    bodies = [e.body for e in _checklist_entries(sitrep, key)]
    assert any("Evidence (diff, link, config hash): diff of 4.11 script vs live config: clean" in b for b in bodies)
    assert bodies[-1].startswith("Checklist 'Rollback verification': Rollback executed — done")
    # The rollback made through the checklist is a change record without extra typing.
    (record,) = sitrep.change_records.list(key)
    assert (record.ci, record.attribute, record.before, record.after, record.who) == (
        "payments-api", "deployed version", "4.12", "4.11", "ben")
    assert record.checklist_step == "rollback-verification/rollback-executed" and record.made_through == "checklist"
    assert record.undo == "Set deployed version of payments-api back to 4.12"


def test_resolved_is_refused_while_the_consistency_checklist_is_open_then_allowed(sitrep, payments):
    key = payments.key
    with pytest.raises(StepBlocked) as err:
        sitrep.incidents.set_status(key, Status.RESOLVED, author="ana")
    assert "Data consistency across replicas: Replica lag measured on every replica" in str(err.value)
    assert sitrep.incidents.get(key).status == Status.DECLARED
    assert sitrep.checklists.open_required(key) == [
        ("Data consistency across replicas", "Replica lag measured on every replica"),
        ("Data consistency across replicas", "Row counts / checksums compared between primary and replicas"),
        ("Data consistency across replicas", "Writes made during the incident reconciled"),
    ]
    sitrep.checklists.tick(key, "replica-consistency", "replica-lag", author="ben", values={"replica_lag": "0.4"})
    sitrep.checklists.tick(key, "replica-consistency", "checksums-compared", author="ben",
                           values={"evidence": "row counts equal on 3 replicas"})  # fmt: skip
    sitrep.checklists.waive(key, "replica-consistency", "writes-reconciled", author="ana",
                            reason="No writes were accepted during the outage")  # fmt: skip
    assert sitrep.checklists.open_required(key) == []
    assert sitrep.incidents.set_status(key, Status.RESOLVED, author="ana").status == Status.RESOLVED


def test_the_commander_may_override_a_block_with_a_reason_recorded_as_an_override(sitrep, payments):
    key = payments.key
    with pytest.raises(InvalidTransition, match="Only the incident commander"):
        sitrep.incidents.set_status(key, Status.RESOLVED, author="ben", override_reason="looks fine")
    sitrep.incidents.set_status(key, Status.RESOLVED, author="ana", override_reason="Replicas rebuilt from primary")
    override = _checklist_entries(sitrep, key)[-1]
    assert override.data["action"] == "override" and override.data["step"] == "resolved"
    assert "Reason: Replicas rebuilt from primary" in override.body


def test_an_open_forensic_checklist_blocks_marking_a_host_isolated(sitrep, clock):
    sitrep.people.add("Ana Ruiz", "ana")
    inc = sitrep.incidents.declare("Ransomware on file server", "SEV1", author="ana", incident_type="ransomware")
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    with pytest.raises(StepBlocked) as err:
        sitrep.checklists.tick(inc.key, "forensic-preservation", "host-isolated", author="ana",
                               values={"host": "fs-01"})  # fmt: skip
    assert [text for _, text in err.value.missing] == [
        "Memory image captured", "Disk snapshot taken", "Logs copied off the host", "Chain of custody recorded"]
    for item, values in (("memory-captured", {"snapshot_location": "s3://ir/fs-01.mem"}),
                         ("disk-snapshot", {"snapshot_location": "snap-0a1"}),
                         ("logs-preserved", {}), ("chain-of-custody", {})):  # fmt: skip
        sitrep.checklists.tick(inc.key, "forensic-preservation", item, author="ana", values=values)
    assert sitrep.checklists.tick(inc.key, "forensic-preservation", "host-isolated", author="ana",
                                  values={"host": "fs-01"}).status == "done"  # fmt: skip


def test_a_reopened_item_blocks_again(sitrep, payments):
    key = payments.key
    sitrep.checklists.tick(key, "replica-consistency", "replica-lag", author="ben", values={"replica_lag": "2"})
    sitrep.checklists.reopen(key, "replica-consistency", "replica-lag", author="ana", reason="lag was misread")
    assert sitrep.checklists.state(key, "replica-consistency").state_of("replica-lag").status == "open"


def test_the_users_folder_adds_and_replaces_checklists_and_a_bad_file_is_reported(tmp_path):
    folder = tmp_path / "checklists"
    folder.mkdir()
    (folder / "mine.toml").write_text('id = "db-restore"\ntitle = "Database restore"\n'
                                      '[[item]]\nid = "backup-tested"\ntext = "Backup restored in staging"\n')  # fmt: skip
    (folder / "broken.toml").write_text("id = [")
    (folder / "bad-ref.toml").write_text('id = "x"\n[[item]]\nid = "a"\ntext = "A"\nrequires = ["nope"]\n')
    found, problems = load_definitions(tmp_path)
    assert found["db-restore"].origin == "yours" and "rollback-verification" in found
    assert len(problems) == 2 and any("not valid TOML" in p for p in problems)
    assert any("requires unknown item" in p for p in problems)


def test_the_command_line_shows_ticks_refuses_and_overrides(run_cli):
    for args in (("people", "add", "Ana Ruiz", "ana"),
                 ("--as", "ana", "declare", "Payments failing", "--severity", "SEV1", "--service", "payments-db-eu"),
                 ("--as", "ana", "role", "assign", "1", "IC", "ana")):  # fmt: skip
        code, _, err = run_cli(*args)
        assert code == 0, err
    code, out, _ = run_cli("checklist", "show", "1")
    assert code == 0 and "Data consistency across replicas [replica-consistency] (attached by service)" in out
    code, _, err = run_cli("--as", "ana", "checklist", "tick", "1", "rollback-verification", "rollback-executed")
    assert code == 2 and "Rollback script checked against current configuration" in err
    code, out, err = run_cli("--as", "ana", "checklist", "tick", "1", "rollback-verification", "deploy-identified",
                             "deploy_id=4.12", "--json")  # fmt: skip
    assert code == 0, err
    assert '"status": "done"' in out
    code, _, err = run_cli("--as", "ana", "status", "1", "resolved")
    assert code == 2 and "Replica lag measured on every replica" in err and "Traceback" not in err
    code, _, err = run_cli("--as", "ana", "status", "1", "resolved", "--override", "replicas rebuilt")
    assert code == 0, err
    code, _, err = run_cli("--as", "ana", "checklist", "tick", "1", "failover", "x")
    assert code == 3 and "not attached" in err


def test_the_resolve_warning_names_the_same_items_the_gate_refuses_on(sitrep, payments):
    owed = {o.kind: o.text for o in owed_at_resolve(sitrep, payments.key)}
    for _title, item in sitrep.checklists.open_required(payments.key):
        assert item in owed["resolution_checklist"]
