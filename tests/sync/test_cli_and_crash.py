"""`sitrep sync` as a person runs it, including a worker killed mid-request and started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from services.core import Sitrep
from services.storage.secrets import SecretStore
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd
from tests.fakes import statuspage as fsp
from tests.sync.conftest import ROOT


def _configure_by_cli(cli, data, pd, jira, sp) -> None:
    steps = [
        ("pagerduty", ["--url", pd.url, "--set", f"from_email={fpd.BOT_EMAIL}", "--set", "service_id=PSVC001",
                       "--set", "timeout_s=20"], fpd.TOKEN),
        ("jira", ["--url", jira.url, "--set", f"email={fj.EMAIL}", "--set", f"project_key={fj.PROJECT}",
                  "--set", "max_requests_per_s=0"], fj.TOKEN),
        ("statuspage", ["--url", sp.url, "--set", f"page_id={fsp.PAGE}", "--set", "max_requests_per_s=0"], fsp.API_KEY),
    ]  # fmt: skip
    for name, args, secret in steps:
        res = cli(data, "backend", "set", name, "--enable", *args, "--token-from-stdin", stdin=secret + "\n")
        assert res.returncode == 0, res.stderr


# Where the killed worker is waiting: on the batch's first item (the create), or on a later one while
# the answers to the items before it are still only in the worker's memory (recorded at batch end).
KILL_POINTS = {
    "waiting-on-the-create": {"method": "POST", "path": r"^/incidents$"},
    "answers-before-it-unrecorded": {"method": "POST", "path": r"/notes$", "skip": 2},
}


@pytest.mark.parametrize("kill_point", KILL_POINTS, ids=list(KILL_POINTS))
def test_a_worker_killed_mid_request_resumes_without_duplicates(
    secret_service, tmp_path, cli, fake_pd, fake_jira, fake_sp, kill_point
):
    data = tmp_path / "data"
    _configure_by_cli(cli, data, fake_pd, fake_jira, fake_sp)
    res = cli(data, "declare", "Checkout: payments failing", "-s", "SEV1", "--service", "checkout")
    assert res.returncode == 0, res.stderr
    decisions = ["roll back because errors began with the deploy", "page the DB team because replicas lag",
                 "freeze deploys because we are mid-incident"]  # fmt: skip
    for text in decisions:
        assert cli(data, "log", "INC-0001", f"/decision {text}").returncode == 0

    # PagerDuty does the work, then never answers: the worker is killed while it waits.
    hang = fake_pd.add_fault(kind="timeout", delay=60, after_effect=True, **KILL_POINTS[kill_point])
    env = {**os.environ, **secret_service}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data), "sync"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while hang.count > 0:
        assert proc.poll() is None, "the worker ended before it got stuck"
        assert time.monotonic() < deadline, "the worker never reached the request it hangs on"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(fake_pd.incidents) == 1
    notes_before = sum(len(n) for n in fake_pd.notes.values())

    app = Sitrep.open(
        f"sqlite:///{data / 'sitrep.db'}", config_dir=data / "config", sync_options={"secrets": SecretStore()}
    )
    try:
        # The lane claimed its batch (the create and the notes after it) before sending the first, and
        # nothing PagerDuty answered was recorded: every item of the batch is still in flight.
        pd_items = app.sync.items(backend="pagerduty")
        assert {i.state for i in pd_items} == {"in_flight"} and len(pd_items) == 4
    finally:
        app.close()
    assert notes_before == (3 if kill_point == "answers-before-it-unrecorded" else 0)

    res = cli(data, "sync")
    assert res.returncode == 0, res.stderr
    assert "failed 0, still pending 0" in res.stdout
    (pd_inc,) = fake_pd.incidents.values()
    texts = [n["content"].splitlines()[0] for n in fake_pd.notes[pd_inc["id"]]]
    assert texts == [f"Decision: {t.split(' because ')[0]}" for t in decisions]  # once each, in order
    assert len(fake_jira.issues) == 1 and len(fake_jira.comments["OPS-1"]) == 3
    assert len(fake_sp.incidents) == 1

    listing = json.loads(cli(data, "sync", "list", "--json").stdout)
    assert sorted((i["backend"], i["op"], i["state"]) for i in listing) == sorted(
        [("jira", "create_issue", "sent"), ("pagerduty", "create_incident", "sent"),
         ("statuspage", "create_incident", "sent")]
        + [("jira", "comment", "sent"), ("pagerduty", "add_note", "sent")] * 3
    )  # fmt: skip
    create = next(i for i in listing if i["backend"] == "pagerduty" and i["op"] == "create_incident")
    assert create["remote_ref"] == pd_inc["id"]
    assert create["attempts"] == 2


def test_sync_status_retry_and_cancel_from_the_command_line(
    secret_service, tmp_path, cli, fake_pd, fake_jira, fake_sp
):
    data = tmp_path / "data"
    _configure_by_cli(cli, data, fake_pd, fake_jira, fake_sp)
    cli(data, "backend", "set", "jira", "--set", "issue_type=Epic")
    cli(data, "declare", "Checkout: payments failing", "-s", "SEV1")
    fake_sp.stop()
    res = cli(data, "sync", "--wait", "1")
    assert res.returncode == 9  # something failed for good: a person decides (Statuspage, down, is 8 on its own)
    assert "Sent 1, failed 1, still pending 1" in res.stdout
    assert (
        "jira #1: failed - Jira refused the request (400): issuetype: valid issue type is required"
        in res.stderr
    )

    status = cli(data, "sync", "--status")
    assert status.stdout.splitlines()[0] == "Sync: offline, 1 pending, 1 failed"
    assert "Statuspage is unreachable" in status.stdout

    cancel = cli(data, "sync", "cancel", "2")  # PagerDuty's: already sent
    assert cancel.returncode == 2 and "already sent" in cancel.stderr
    cli(data, "backend", "set", "jira", "--set", "issue_type=Incident")
    assert cli(data, "sync", "retry", "1").returncode == 0
    fake_sp.restart()
    res = cli(data, "sync")
    assert "Sent 2, failed 0, still pending 0" in res.stdout, res.stderr
    assert cli(data, "sync", "--status").stdout.splitlines()[0] == "Sync: online"
    links = cli(data, "sync", "links", "INC-0001").stdout
    assert "OPS-1" in links and "stspg.io" in links


def test_backend_test_reports_what_it_found_or_why_not(
    secret_service, tmp_path, cli, fake_pd, fake_jira, fake_sp
):
    data = tmp_path / "data"
    _configure_by_cli(cli, data, fake_pd, fake_jira, fake_sp)
    out = {name: cli(data, "backend", "test", name) for name in ("pagerduty", "jira", "statuspage")}
    assert (
        out["pagerduty"].stdout.strip()
        == f"Connected to PagerDuty: service 'Checkout', acting as {fpd.BOT_EMAIL}."
    )
    assert out["jira"].stdout.strip() == "Connected to Jira as Sitrep Bot; project Operations."
    assert (
        out["statuspage"].stdout.strip() == "Connected to Statuspage: page 'Acme Status' with 3 component(s)."
    )
    comps = cli(data, "backend", "components").stdout
    assert "cmp0001" in comps
    cli(data, "backend", "set", "jira", "--token-from-stdin", stdin="wrong\n")
    bad = cli(data, "backend", "test", "jira")
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("sitrep: error: Jira refused the credentials (401): You are not authenticated. "
                                  "Authentication required to perform this operation.")  # fmt: skip
    fake_pd.stop()
    down = cli(data, "backend", "test", "pagerduty")
    assert (
        down.returncode == 1 and "PagerDuty is unreachable" in down.stderr and "Traceback" not in down.stderr
    )


def test_a_broken_settings_file_pauses_sync_with_a_message(tmp_path, cli):
    data = tmp_path / "data"
    (data / "config").mkdir(parents=True)
    (data / "config" / "backends.json").write_text("{not json")
    res = cli(data, "sync")
    assert (
        res.returncode == 2 and "backends.json cannot be read" in res.stderr and "Traceback" not in res.stderr
    )
    st = cli(data, "sync", "--status")
    assert st.stdout.splitlines()[0] == "Sync paused: settings unreadable"
