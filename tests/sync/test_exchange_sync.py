"""An exported store imported elsewhere knows which remote object each incident is, and owes nothing.

The commander's replacement laptop (or the post-mortem team's store) imports the file with the same
backends configured: it must keep talking to the PagerDuty incident, Jira ticket and Statuspage incident
the first machine made, never make a second one, never re-send what the first machine still owes, and
never pull the first machine's remote work in again. Real SQLite stores, the vendor fakes on loopback.
"""

from __future__ import annotations

import json

import pytest

from services.core import Sitrep
from services.storage.secrets import SecretStore
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd
from tests.fakes import statuspage as fsp
from tests.sync.conftest import WORKER_OPTIONS, configure_backends, fake_secrets


@pytest.fixture
def second(tmp_path, clock):
    """Another machine: its own store and settings, the same backends' credentials."""
    folder = tmp_path / "second"
    folder.mkdir()
    other = Sitrep.open(
        f"sqlite:///{folder / 'sitrep.db'}", backups_dir=folder / "backups", config_dir=folder / "config",
        now=clock, sync_options={"secrets": fake_secrets(), "worker_options": WORKER_OPTIONS},
    )  # fmt: skip
    yield other
    other.close()


def remote_objects(fake_pd, fake_jira, fake_sp) -> tuple[int, int, int]:
    return len(fake_pd.incidents), len(fake_jira.issues), len(fake_sp.incidents)


def test_the_imported_store_works_on_the_same_remote_objects_and_pulls_nothing_twice(
    app, second, fake_pd, fake_jira, fake_sp
):
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    app.people.add("Ana Ruiz", "ana", email="ana@example.com")
    inc = app.incidents.declare("Checkout: payments failing", "SEV1", author="ic", services=["checkout"])
    app.roles.assign(inc.id, "IC", "ana", author="ic")
    app.timeline.log(
        inc.id, "Roll back the deploy", author="ana", kind="decision", rationale="errors began with it"
    )
    app.timeline.log(inc.id, "Payments are failing for some customers.", author="ana", kind="comms",
                     data={"sync": ["statuspage", "pagerduty"]})  # fmt: skip
    assert app.sync.drain_once().failed == 0
    (pd_id,) = fake_pd.incidents
    fake_pd.add_note_as(pd_id, "ana@example.com", "DB team paged, joining the bridge")
    fake_jira.add_comment_as("OPS-1", "Dana Lee", "Finance asks for an ETA")
    assert app.sync.drain_once(pull=True).pulled == 2
    doc = app.exchange.export()
    assert {(lk["backend"], lk["local_kind"], lk["origin"]) for lk in doc["incidents"][0]["remote_links"]} >= {
        ("pagerduty", "incident", "sitrep"), ("jira", "incident", "sitrep"), ("statuspage", "incident", "sitrep"),
        ("pagerduty", "entry", "remote"), ("jira", "entry", "remote"),
    }  # fmt: skip

    configure_backends(second, fake_pd, fake_jira, fake_sp)
    report = second.exchange.import_document(doc)
    assert report.records["remote_links"].added == len(doc["incidents"][0]["remote_links"])
    assert second.sync.items(states=None) == [], "an import owes the backends nothing"
    assert second.sync.drain_once(pull=True).pulled == 0, "what the first machine pulled is not news here"

    second.timeline.log(inc.id, "Payments are recovering.", author="ana", kind="comms",
                        data={"sync": ["statuspage", "pagerduty"]})  # fmt: skip
    second.incidents.set_status(inc.id, "resolved", author="ana")
    sent = second.sync.drain_once()
    assert (sent.failed, sent.left_pending) == (0, 0) and sent.sent > 0
    assert remote_objects(fake_pd, fake_jira, fake_sp) == (1, 1, 1)
    assert fake_pd.incidents[pd_id]["status"] == "resolved"
    assert fake_jira.issues["OPS-1"]["fields"]["status"] == "Done"
    (page_inc,) = fake_sp.incidents.values()
    assert page_inc["status"] == "resolved"
    assert "Payments are recovering." in [u["body"] for u in page_inc["incident_updates"]]
    assert len(fake_pd.status_updates[pd_id]) == 2

    # The first machine takes the second's record back: it learns the second's remote work, and pulls none of it.
    back = app.exchange.import_document(second.exchange.export())
    assert back.extended == [inc.key] and back.records["remote_links"].added > 0
    assert back.records["remote_links"].updated > 0, "the ticket's state as the second machine last saw it"
    assert app.sync.items(states=["pending", "in_flight", "failed"]) == []
    assert app.sync.drain_once(pull=True).pulled == 0
    assert remote_objects(fake_pd, fake_jira, fake_sp) == (1, 1, 1)
    assert app.integrity.verify().ok and second.integrity.verify().ok


def test_what_a_store_still_owes_the_backends_is_sent_from_it_once_and_never_from_the_importer(
    app, second, fake_pd, fake_jira, fake_sp, cli, data_dir
):
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    for fake in (fake_pd, fake_jira, fake_sp):
        fake.stop()
    inc = app.incidents.declare("Checkout: payments failing", "SEV1", author="ic", services=["checkout"])
    app.timeline.log(
        inc.id, "Payments are failing.", author="ic", kind="comms", data={"sync": ["statuspage"]}
    )
    assert app.sync.drain_once(max_wait_s=0.5).sent == 0
    owed = len(app.sync.items(states=["pending"]))
    assert owed >= 3

    out = data_dir / "incidents.json"
    res = cli(data_dir, "export", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert (
        f"sitrep: note: {owed} sync item(s) still owed to the backends for what was exported stay queued here"
        in res.stderr
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "sync_outbox" not in out.read_text(encoding="utf-8") and doc["incidents"][0]["remote_links"] == []

    for fake in (fake_pd, fake_jira, fake_sp):
        fake.restart()
    configure_backends(second, fake_pd, fake_jira, fake_sp)
    second.exchange.import_document(doc)
    assert second.sync.items(states=None) == []
    assert second.sync.drain_once().sent == 0
    assert remote_objects(fake_pd, fake_jira, fake_sp) == (0, 0, 0)

    assert app.sync.drain_once().sent == owed  # the machine that owes them sends them, once
    assert remote_objects(fake_pd, fake_jira, fake_sp) == (1, 1, 1)
    second.exchange.import_document(app.exchange.export())
    second.timeline.log(
        inc.id, "Payments are recovering.", author="ic", kind="comms", data={"sync": ["statuspage"]}
    )
    assert second.sync.drain_once().failed == 0
    assert remote_objects(fake_pd, fake_jira, fake_sp) == (1, 1, 1)
    (page_inc,) = fake_sp.incidents.values()
    bodies = [u["body"] for u in page_inc["incident_updates"]]
    assert bodies.count("Payments are failing.") == 1 and bodies.count("Payments are recovering.") == 1


def test_the_export_holds_no_credential_from_the_keyring(
    secret_service, cli, tmp_path, fake_pd, fake_jira, fake_sp
):
    """Backends configured through the command line, their credentials in a real Secret Service; an incident
    synced to all three, then exported: not one stored credential is anywhere in the file."""
    data = tmp_path / "data"
    setups = [
        ("pagerduty", fake_pd.url, ["from_email=" + fpd.BOT_EMAIL, "service_id=PSVC001",
                                    "events_url=" + fake_pd.url + "/v2"], {"api_token": fpd.TOKEN,
                                                                          "routing_key": fpd.ROUTING_KEY}),
        ("jira", fake_jira.url, ["email=" + fj.EMAIL, "project_key=" + fj.PROJECT], {"api_token": fj.TOKEN}),
        ("statuspage", fake_sp.url, ["page_id=" + fsp.PAGE], {"api_key": fsp.API_KEY}),
    ]  # fmt: skip
    for name, url, settings, secrets in setups:
        sets = [arg for s in settings for arg in ("--set", s)]
        res = cli(data, "backend", "set", name, "--url", url, "--enable", *sets)
        assert res.returncode == 0, res.stderr
        for secret, value in secrets.items():
            res = cli(
                data, "backend", "set", name, "--secret", secret, "--token-from-stdin", stdin=value + "\n"
            )
            assert res.returncode == 0, res.stderr
    res = cli(data, "declare", "Checkout: payments failing", "--severity", "SEV1", "--service", "checkout")
    assert res.returncode == 0, res.stderr
    assert cli(data, "sync").returncode == 0
    exported = cli(data, "export").stdout
    doc = json.loads(exported)
    links = doc["incidents"][0]["remote_links"]
    assert {lk["backend"] for lk in links} == {"pagerduty", "jira", "statuspage"}, (
        "the sync record is in the file"
    )
    stored = [SecretStore().get(name, secret) for name, _, _, secrets in setups for secret in secrets]
    assert all(stored) and len(stored) == 4
    for value in stored:
        assert value not in exported
