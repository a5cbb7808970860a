"""`sitrep sync` as a person runs it, including a worker killed mid-request and started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from services.core import Sitrep
from services.secrets import SecretStore
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd
from tests.fakes import statuspage as fsp
from tests.sync.conftest import ROOT


def _configure_by_cli(run_cli, data, env, pd, jira, sp) -> None:
    steps = [
        ("pagerduty", ["--url", pd.url, "--set", f"from_email={fpd.BOT_EMAIL}", "--set", "service_id=PSVC001",
                       "--set", "timeout_s=20"], fpd.TOKEN),
        ("jira", ["--url", jira.url, "--set", f"email={fj.EMAIL}", "--set", f"project_key={fj.PROJECT}",
                  "--set", "max_requests_per_s=0"], fj.TOKEN),
        ("statuspage", ["--url", sp.url, "--set", f"page_id={fsp.PAGE}", "--set", "max_requests_per_s=0"], fsp.API_KEY),
    ]  # fmt: skip
    for name, args, secret in steps:
        res = run_cli(
            data,
            "backend",
            "set",
            name,
            "--enable",
            *args,
            "--token-from-stdin",
            stdin=secret + "\n",
            env=env,
        )
        assert res.returncode == 0, res.stderr


def test_a_worker_killed_mid_request_resumes_without_duplicates(
    secret_service, tmp_path, run_cli, fake_pd, fake_jira, fake_sp
):
    data = tmp_path / "data"
    _configure_by_cli(run_cli, data, secret_service, fake_pd, fake_jira, fake_sp)
    res = run_cli(
        data,
        "declare",
        "Checkout: payments failing",
        "-s",
        "SEV1",
        "--service",
        "checkout",
        env=secret_service,
    )
    assert res.returncode == 0, res.stderr
    run_cli(
        data,
        "log",
        "INC-0001",
        "/decision roll back because errors began with the deploy",
        env=secret_service,
    )

    # PagerDuty creates the incident, then never answers: the worker is killed while it waits.
    fake_pd.add_fault(method="POST", path=r"^/incidents$", kind="timeout", delay=60, after_effect=True)
    env = {**os.environ, **secret_service}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data), "sync"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while fake_pd.count("POST", r"^/incidents$") == 0:
        assert proc.poll() is None, "the worker ended before sending"
        assert time.monotonic() < deadline, "the worker never sent the create"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(fake_pd.incidents) == 1

    app = Sitrep.open(
        f"sqlite:///{data / 'sitrep.db'}", config_dir=data / "config", sync_options={"secrets": SecretStore()}
    )
    try:
        # The lane claimed its batch (the create and the note after it) before sending the first.
        in_flight = {(i.backend, i.op) for i in app.sync.items(states=["in_flight"])}
        assert ("pagerduty", "create_incident") in in_flight
    finally:
        app.close()

    res = run_cli(data, "sync", env=secret_service)
    assert res.returncode == 0, res.stderr
    assert "failed 0, still pending 0" in res.stdout
    assert len(fake_pd.incidents) == 1 and sum(len(n) for n in fake_pd.notes.values()) == 1
    assert len(fake_jira.issues) == 1 and len(fake_jira.comments["OPS-1"]) == 1
    assert len(fake_sp.incidents) == 1

    listing = json.loads(run_cli(data, "sync", "list", "--json", env=secret_service).stdout)
    assert sorted((i["backend"], i["op"], i["state"]) for i in listing) == [
        ("jira", "comment", "sent"), ("jira", "create_issue", "sent"), ("pagerduty", "add_note", "sent"),
        ("pagerduty", "create_incident", "sent"), ("statuspage", "create_incident", "sent")]  # fmt: skip
    create = next(i for i in listing if i["backend"] == "pagerduty" and i["op"] == "create_incident")
    assert create["state"] == "sent" and create["remote_ref"] == next(iter(fake_pd.incidents))
    assert create["attempts"] == 2


def test_sync_status_retry_and_cancel_from_the_command_line(
    secret_service, tmp_path, run_cli, fake_pd, fake_jira, fake_sp
):
    data = tmp_path / "data"
    _configure_by_cli(run_cli, data, secret_service, fake_pd, fake_jira, fake_sp)
    run_cli(data, "backend", "set", "jira", "--set", "issue_type=Epic", env=secret_service)
    run_cli(data, "declare", "Checkout: payments failing", "-s", "SEV1", env=secret_service)
    fake_sp.stop()
    res = run_cli(data, "sync", "--wait", "1", env=secret_service)
    assert res.returncode == 8  # something failed for good
    assert "Sent 1, failed 1, still pending 1" in res.stdout
    assert (
        "jira #1: failed - Jira refused the request (400): issuetype: valid issue type is required"
        in res.stderr
    )

    status = run_cli(data, "sync", "--status", env=secret_service)
    assert status.stdout.splitlines()[0] == "Sync: offline, 1 pending, 1 failed"
    assert "Statuspage is unreachable" in status.stdout

    cancel = run_cli(data, "sync", "cancel", "2", env=secret_service)  # PagerDuty's: already sent
    assert cancel.returncode == 2 and "already sent" in cancel.stderr
    run_cli(data, "backend", "set", "jira", "--set", "issue_type=Incident", env=secret_service)
    assert run_cli(data, "sync", "retry", "1", env=secret_service).returncode == 0
    fake_sp.restart()
    res = run_cli(data, "sync", env=secret_service)
    assert "Sent 2, failed 0, still pending 0" in res.stdout, res.stderr
    assert run_cli(data, "sync", "--status", env=secret_service).stdout.splitlines()[0] == "Sync: online"
    links = run_cli(data, "sync", "links", "INC-0001", env=secret_service).stdout
    assert "OPS-1" in links and "stspg.io" in links


def test_backend_test_reports_what_it_found_or_why_not(
    secret_service, tmp_path, run_cli, fake_pd, fake_jira, fake_sp
):
    data = tmp_path / "data"
    _configure_by_cli(run_cli, data, secret_service, fake_pd, fake_jira, fake_sp)
    out = {
        name: run_cli(data, "backend", "test", name, env=secret_service)
        for name in ("pagerduty", "jira", "statuspage")
    }
    assert (
        out["pagerduty"].stdout.strip()
        == f"Connected to PagerDuty: service 'Checkout', acting as {fpd.BOT_EMAIL}."
    )
    assert out["jira"].stdout.strip() == "Connected to Jira as Sitrep Bot; project Operations."
    assert (
        out["statuspage"].stdout.strip() == "Connected to Statuspage: page 'Acme Status' with 3 component(s)."
    )
    comps = run_cli(data, "backend", "components", env=secret_service).stdout
    assert "cmp0001" in comps
    run_cli(data, "backend", "set", "jira", "--token-from-stdin", stdin="wrong\n", env=secret_service)
    bad = run_cli(data, "backend", "test", "jira", env=secret_service)
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("sitrep: error: Jira refused the credentials (401): You are not authenticated. "
                                  "Authentication required to perform this operation.")  # fmt: skip
    fake_pd.stop()
    down = run_cli(data, "backend", "test", "pagerduty", env=secret_service)
    assert (
        down.returncode == 1 and "PagerDuty is unreachable" in down.stderr and "Traceback" not in down.stderr
    )


def test_a_broken_settings_file_pauses_sync_with_a_message(tmp_path, run_cli):
    data = tmp_path / "data"
    (data / "config").mkdir(parents=True)
    (data / "config" / "backends.json").write_text("{not json")
    res = run_cli(data, "sync")
    assert (
        res.returncode == 2 and "backends.json cannot be read" in res.stderr and "Traceback" not in res.stderr
    )
    st = run_cli(data, "sync", "--status")
    assert st.stdout.splitlines()[0] == "Sync paused: settings unreadable"
