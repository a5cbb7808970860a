"""Sync that says when it is stuck (issue 20): exit codes with what to do, and a failed item that
holds back only what depends on it."""

from __future__ import annotations

from reliability.common import sitrep
from services.sync.outcome import EXIT_NEEDS_PERSON, EXIT_UNREACHABLE, sync_outcome
from services.sync.posting import post_to_backends
from tests.sync.conftest import configure_backends


def test_a_failed_responder_request_holds_back_nothing_else_of_its_incident(app, fake_pd):
    configure_backends(app, pd=fake_pd)
    app.sync.configure("pagerduty", {"note_kinds": ["decision", "note"]})
    inc = app.incidents.declare("DB failover", "SEV1", author="ic")
    fake_pd.add_fault(status=400, method="POST", path=r"/responder_requests$",
                      body={"error": {"message": "no such user"}})  # fmt: skip
    app.sync.drain_once()
    post_to_backends(app, inc.id, "Please join", ["pagerduty"], author="ic")
    app.timeline.log(inc.id, "Promote the replica", author="ic", kind="decision", rationale="primary gone")
    app.timeline.log(inc.id, "Replica promoted", author="ic")
    app.sync.drain_once()
    assert app.sync.items(states=["pending"]) == []
    (pd_inc,) = fake_pd.incidents.values()
    assert len(fake_pd.notes[pd_inc["id"]]) >= 2


def test_sync_exit_code_says_a_person_must_decide(app, fake_jira):
    configure_backends(app, jira=fake_jira)
    app.sync.configure("jira", {"issue_type": "Epic"})
    app.incidents.declare("DB failover", "SEV1", author="ic")
    app.sync.drain_once()
    outcome = sync_outcome(app.sync)
    assert outcome.code == EXIT_NEEDS_PERSON
    assert "needs a decision" in outcome.stuck[0] and "sitrep sync retry" in outcome.stuck[0]


def test_sync_with_every_backend_down_says_what_waits_and_exits_8(app):
    configure_backends(app, jira=None)
    app.sync.configure("jira", {"enabled": True, "url": "http://127.0.0.1:9", "email": "a@example.com",
                                "project_key": "OPS", "timeout_s": 1.0})  # fmt: skip
    app.incidents.declare("Checkout down", "SEV1", author="ic")
    report = app.sync.drain_once(max_wait_s=1)
    assert report.sent == 0 and report.left_pending == 1
    outcome = sync_outcome(app.sync)
    assert outcome.code == EXIT_UNREACHABLE
    assert outcome.stuck[0].startswith("Jira: could not be reached (") and "next `sitrep sync`" in outcome.stuck[0]


def test_sync_without_a_keyring_exits_7_and_says_so(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    failing = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    res = sitrep(data, "backend", "set", "jira", "--enable", "--url", "http://127.0.0.1:9", "--set",
                 "email=a@example.com", "--set", "project_key=OPS")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert sitrep(data, "declare", "Checkout down", "-s", "SEV1").returncode == 0
    res = sitrep(data, "sync", "--wait", "1", extra_env=failing)
    assert res.returncode == 7, res.stdout + res.stderr
    assert "stuck: Jira" in res.stderr and "keyring" in res.stderr and "Traceback" not in res.stderr
