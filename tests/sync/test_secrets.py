"""Credentials live only in the OS keyring: a real Secret Service here, and refusal without one."""

from __future__ import annotations

import json
import sqlite3

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from services.errors import ValidationError
from services.storage.secrets import KeyringUnavailable, SecretStore

SECRET = "s3cr3t-TOKEN-value-9f8e7d"


@pytest.fixture
def keyring_backend():
    """Swap keyring's backend for one test, then put the session's back."""
    previous = keyring.get_keyring()
    yield lambda kr: keyring.set_keyring(kr)
    keyring.set_keyring(previous)


def test_a_secret_round_trips_through_a_real_secret_service(secret_service):
    store = SecretStore()
    st = store.status()
    assert st.usable and st.backend == "keyring.backends.SecretService.Keyring"
    store.set("pagerduty", "api_token", SECRET)
    assert store.get("pagerduty", "api_token") == SECRET
    assert store.delete("pagerduty", "api_token") is True
    assert store.get("pagerduty", "api_token") is None
    assert store.delete("pagerduty", "api_token") is False


def test_the_fail_backend_refuses_to_store_and_says_why(keyring_backend):
    keyring_backend(fail.Keyring())
    store = SecretStore()
    assert not store.status().usable
    with pytest.raises(KeyringUnavailable) as err:
        store.set("jira", "api_token", SECRET)
    assert "no OS keyring was found" in err.value.message
    assert "never in its database or a file" in err.value.message
    assert SECRET not in err.value.message
    with pytest.raises(KeyringUnavailable):
        store.get("jira", "api_token")


class PlaintextKeyring(KeyringBackend):
    """Stands in for keyrings.alt's plaintext file backend."""

    priority = 1
    written: dict = {}

    def set_password(self, service, username, password):
        self.written[(service, username)] = password

    def get_password(self, service, username):
        return self.written.get((service, username))

    def delete_password(self, service, username):
        self.written.pop((service, username), None)


def test_a_plaintext_keyring_is_refused(keyring_backend):
    keyring_backend(PlaintextKeyring())
    with pytest.raises(KeyringUnavailable) as err:
        SecretStore().set("statuspage", "api_key", SECRET)
    assert "plain or weakly protected file" in err.value.message
    assert PlaintextKeyring.written == {}


def test_cli_stores_a_token_in_the_keyring_and_never_in_the_store_or_settings(secret_service, tmp_path, cli):
    res = cli(tmp_path, "backend", "set", "pagerduty", "--url", "http://127.0.0.1:9", "--set",
              "from_email=bot@example.com", "--set", "service_id=PSVC001", "--token-from-stdin",
              stdin=SECRET + "\n")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Stored the PagerDuty api token in the OS keyring" in res.stderr
    assert SecretStore().get("pagerduty", "api_token") == SECRET
    shown = cli(tmp_path, "backend", "show", "pagerduty", "--json")
    assert json.loads(shown.stdout)["credentials"] == {"api_token": True, "routing_key": False}
    settings = (tmp_path / "config" / "backends.json").read_text()
    assert SECRET not in settings and "token" not in json.loads(settings)["backends"]["pagerduty"]
    con = sqlite3.connect(tmp_path / "sitrep.db")
    dump = "\n".join(con.iterdump())
    con.close()
    assert SECRET not in dump
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*"))
    assert SECRET not in logs


def test_cli_refuses_to_store_without_a_keyring(tmp_path, run_cli):
    res = run_cli(tmp_path, "backend", "set", "jira", "--token-from-stdin", stdin=SECRET + "\n",
                  env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})  # fmt: skip
    assert res.returncode == 7
    assert "Cannot store the jira api token: no OS keyring was found" in res.stderr
    assert "Traceback" not in res.stderr and SECRET not in res.stderr
    assert (
        not (tmp_path / "config" / "backends.json").exists()
        or SECRET not in (tmp_path / "config" / "backends.json").read_text()
    )


def test_a_credential_cannot_be_put_in_the_settings_file(app):
    with pytest.raises(ValidationError, match="looks like a credential"):
        app.sync.configure("jira", {"api_token": SECRET})


def test_the_keyring_and_a_refused_connection_are_named_as_a_person_knows_them():
    from services.adapters.http import _net_reason
    from services.storage.secrets import KeyringStatus

    assert KeyringStatus(True, "keyring.backends.SecretService.Keyring", "").label.startswith(
        "the Secret Service"
    )
    assert KeyringStatus(True, "keyring.backends.macOS.Keyring", "").label == "the macOS Keychain"
    assert KeyringStatus(True, "acme.vault.Keyring", "").label == "acme.vault.Keyring"
    assert _net_reason(ConnectionRefusedError(111, "Connection refused")) == "connection refused"
