"""A runbook run in an incident and as a drill, through real ansible-runner playbooks on localhost.

The shipped deploy rollback is the story: its diagnostic runs and passes, its destructive step refuses to run
before a dry run, the dry run shows the diff and changes nothing, the real run asks for the target's name and
changes the file; every step is on the timeline with the runbook's commit. A drill counts as a use of the
runbook and never touches an incident.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.enums import EntryKind
from services.adapters.ansible import AnsibleAdapter
from services.adapters.automation import CANCELED, FAILED, TIMEOUT, AutomationJob, JobControl
from services.errors import ValidationError
from services.runbooks.service import DRY_RUN_PASSED, PASSED, SKIPPED, GateClosed
from services.runbooks.usage import usage

pytest.importorskip("ansible_runner")

RUNBOOK_KINDS = {EntryKind.RUNBOOK_STEP_STARTED, EntryKind.RUNBOOK_STEP_RESULT, EntryKind.RUNBOOK_STEP_SKIPPED}


@pytest.fixture
def incident(sitrep):
    sitrep.people.add("Ines Commander", "ines")
    inc = sitrep.incidents.declare("Checkout errors after deploy", "SEV2", author="ines", services=["checkout"])
    sitrep.roles.assign(inc.id, "IC", "ines", author="ines")
    return inc


def test_rollback_in_an_incident_goes_through_its_gates_and_onto_the_timeline(sitrep, incident, clock):
    svc = sitrep.runbooks
    assert "deploy-rollback" in [rb.slug for rb in svc.library.suggestions(incident.services, incident.incident_type)]
    run = svc.start("deploy-rollback", author="ines", incident=incident.id)
    run = svc.tick(run.id, 1, author="ines")
    with pytest.raises(GateClosed) as closed:
        svc.begin_step(run.id, 3, author="ines", confirmation="checkout-prod")
    assert any("diagnostic step 2" in g for g in closed.value.gates)
    assert any("no dry run on checkout-prod" in g for g in closed.value.gates)

    run = svc.run_step(run.id, 2, author="ines")
    assert run.state_of(2).state == PASSED, run.state_of(2).summary
    with pytest.raises(GateClosed, match="dry run first"):
        svc.begin_step(run.id, 3, author="ines", confirmation="checkout-prod")

    current = svc.work_dir / "checkout-prod" / "current"
    run = svc.run_step(run.id, 3, author="ines", dry_run=True)
    step = run.state_of(3)
    assert step.state == DRY_RUN_PASSED and "+release 41" in step.dry_run_diff
    assert not current.exists()  # check mode changed nothing

    with pytest.raises(ValidationError, match="Type the target's name, checkout-prod"):
        svc.begin_step(run.id, 3, author="ines", confirmation="checkout")
    streamed: list[str] = []
    run = svc.run_step(run.id, 3, author="ines", confirmation="checkout-prod", control=JobControl(streamed.append))
    assert run.state_of(3).state == PASSED and current.read_text() == "release 41\n"
    assert "PLAY RECAP" in "".join(streamed)
    run = svc.choose(run.id, 4, "no", author="ines")
    assert run.state_of(5).state == SKIPPED and run.outcome == "completed"

    entries = [e for e in sitrep.timeline.entries(incident.id) if e.kind in RUNBOOK_KINDS]
    assert len(entries) >= 8
    assert all(e.data["commit"] == run.provenance.commit and e.data["runbook_version"] == "3" for e in entries)
    real = [e for e in entries if e.data.get("step") == 3 and e.kind == EntryKind.RUNBOOK_STEP_RESULT]
    assert real[-1].data["hosts"][0]["changed"] == 1 and real[-1].data["rc"] == 0


def test_only_the_commander_skips_a_gate_and_the_reason_is_recorded(sitrep, incident):
    svc = sitrep.runbooks
    sitrep.people.add("Rae Responder", "rae")
    run = svc.start("deploy-rollback", author="rae", incident=incident.id)
    with pytest.raises(ValidationError, match="Only the incident commander"):
        svc.begin_step(run.id, 3, author="rae", confirmation="checkout-prod", skip_gates_reason="no time")
    with pytest.raises(ValidationError, match="needs a reason"):
        svc.begin_step(run.id, 3, author="ines", confirmation="checkout-prod", skip_gates_reason=" ")
    pending = svc.begin_step(run.id, 3, author="ines", dry_run=True, skip_gates_reason="diagnostic host is down")
    assert pending.job.check
    skipped = [e for e in sitrep.timeline.entries(incident.id) if e.kind == EntryKind.RUNBOOK_STEP_SKIPPED]
    assert "diagnostic host is down" in skipped[-1].body and skipped[-1].author == "ines"


def test_a_drill_counts_for_the_runbook_and_never_for_an_incident(sitrep, incident, clock):
    svc = sitrep.runbooks
    before = {u.runbook.slug: u for u in usage(svc, clock())}
    assert before["deploy-rollback"].drill_overdue and before["deploy-rollback"].last_drilled is None
    run = svc.start("deploy-rollback", author="ines", drill_target="staging-checkout")
    run = svc.run_step(run.id, 2, author="ines")
    run = svc.run_step(run.id, 3, author="ines", dry_run=True)
    run = svc.run_step(run.id, 3, author="ines", confirmation="staging-checkout")
    assert (svc.work_dir / "staging-checkout" / "current").is_file()
    assert all(e.kind not in RUNBOOK_KINDS for e in sitrep.timeline.entries(incident.id))
    after = {u.runbook.slug: u for u in usage(svc, clock())}["deploy-rollback"]
    assert after.drills == 1 and after.incident_uses == 0 and not after.drill_overdue
    assert after.steps[2].runs == 1
    assert "INC-" in after.incidents_not_used[0]
    clock.advance(days=100)
    assert {u.runbook.slug: u for u in usage(svc, clock())}["deploy-rollback"].drill_overdue


def test_findings_stay_open_until_a_newer_version(sitrep, tmp_path: Path):
    from services.runbooks.library import SHIPPED_FOLDER, RunbookLibrary

    text = (SHIPPED_FOLDER / "cache-flush.md").read_text()
    own = tmp_path / "books"
    own.mkdir()
    (own / "flush.md").write_text(text)
    sitrep.runbooks.library = RunbookLibrary([own], include_shipped=False)
    sitrep.runbooks.add_finding("flush", "update step 2: the cache host moved", author="ines")
    assert sitrep.runbooks.open_findings(sitrep.runbooks.library.find("flush"))
    (own / "flush.md").write_text(text.replace("version: 1", "version: 2"))
    assert sitrep.runbooks.open_findings(sitrep.runbooks.library.find("flush")) == []


def _job(tmp_path: Path, tasks: str, **kw) -> AutomationJob:
    playbook = tmp_path / "play.yml"
    playbook.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
    return AutomationJob(playbook=playbook, inventory="localhost,", target="localhost", **kw)


def test_the_adapter_reports_failure_timeout_and_cancellation(tmp_path: Path):
    adapter = AnsibleAdapter({}, secrets=None)
    failed = adapter.run_job(_job(tmp_path, "    - ansible.builtin.fail:\n        msg: the disk is full\n"),
                             JobControl())  # fmt: skip
    assert failed.status == FAILED and failed.rc != 0 and failed.hosts[0].failed == 1
    assert "the disk is full" in failed.message
    slow = "    - ansible.builtin.command: sleep 60\n"
    timed = adapter.run_job(_job(tmp_path, slow, timeout_s=3), JobControl())
    assert timed.status == TIMEOUT and not timed.passed
    control = JobControl()
    control.on_output = lambda text: control.cancel.set() if "TASK" in text else None
    cancelled = adapter.run_job(_job(tmp_path, slow), control)
    assert cancelled.status == CANCELED


def test_secrets_reach_the_playbook_from_the_environment_and_never_the_output(tmp_path: Path):
    out = tmp_path / "token"
    tasks = ("    - ansible.builtin.copy:\n        dest: " + str(out) +
             "\n        content: \"{{ lookup('env', 'SITREP_SECRET_DEPLOY_TOKEN') }}\"\n"
             "    - ansible.builtin.debug:\n        msg: \"{{ lookup('env', 'SITREP_SECRET_DEPLOY_TOKEN') }}\"\n")
    streamed: list[str] = []
    done = AnsibleAdapter({}, None).run_job(_job(tmp_path, tasks, secrets={"deploy_token": "s3cr3t-value"}),
                                            JobControl(streamed.append))  # fmt: skip
    assert done.passed and out.read_text() == "s3cr3t-value"
    assert "s3cr3t-value" not in "".join(streamed) and "********" in "".join(streamed)
