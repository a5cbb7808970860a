"""Comms fixtures: a Sitrep wired to a loopback SMTP server, a loopback Slack and the Statuspage fake."""

from __future__ import annotations

import pytest

from services.core import Sitrep
from services.storage.secrets import MemorySecrets
from tests.comms import fake_slack as fsl
from tests.comms.smtp_server import PASSWORD, USER, SmtpServer
from tests.fakes import statuspage as fsp
from tests.sync.conftest import WORKER_OPTIONS, adapter_entry_points  # noqa: F401 - the autouse fixture

IC, DRAFTER = "ana", "bob"


def secrets(slack: fsl.FakeSlack | None = None) -> MemorySecrets:
    values = {
        ("email", "password"): PASSWORD,
        ("slack", "bot_token"): fsl.TOKEN,
        ("statuspage", "api_key"): fsp.API_KEY,
    }
    if slack is not None:
        values[("slack", "webhook_url")] = slack.webhook_url
    return MemorySecrets(values)


def configure_email(app: Sitrep, smtp: SmtpServer, **extra) -> None:
    app.sync.configure("email", {
        "enabled": True, "host": "127.0.0.1", "port": smtp.port, "security": "tls" if smtp.implicit_tls else "starttls",
        "from_address": "incidents@example.com", "username": USER, "ca_file": str(smtp.cert), "timeout_s": 2.0, **extra,
    })  # fmt: skip


def configure_slack(app: Sitrep, slack: fsl.FakeSlack, mode: str = "webhook") -> None:
    app.sync.configure("slack", {"enabled": True, "mode": mode, "url": slack.url + "/api", "channel": "C0INCIDENT",
                                 "timeout_s": 2.0, "max_requests_per_s": 0})  # fmt: skip


def configure_statuspage(app: Sitrep, sp) -> None:
    app.sync.configure("statuspage", {"enabled": True, "url": sp.url, "page_id": fsp.PAGE, "timeout_s": 2.0,
                                      "max_requests_per_s": 0, "declare_severities": [],
                                      "component_map": {"checkout": "cmp0001"}})  # fmt: skip


@pytest.fixture
def fake_slack():
    fake = fsl.FakeSlack().start()
    yield fake
    fake.stop()
    assert fake.violations == [], f"Slack fake saw requests that break the spec: {fake.violations}"


@pytest.fixture
def fake_sp():
    fake = fsp.FakeStatuspage().start()
    yield fake
    fake.stop()
    assert fake.violations == [], f"Statuspage fake saw requests that break the spec: {fake.violations}"


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def app(data_dir, clock, fake_slack):
    a = Sitrep.open(
        f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups", config_dir=data_dir / "config",
        now=clock, sync_options={"secrets": secrets(fake_slack), "worker_options": WORKER_OPTIONS},
    )  # fmt: skip
    yield a
    a.close()


@pytest.fixture
def sev1(app):
    """A declared SEV1 with Ana as incident commander and Bob as comms lead."""
    app.people.add("Ana Lopez", IC, email="ana@example.com", timezone="Europe/Madrid")
    app.people.add("Bob Stone", DRAFTER, email="bob@example.com")
    inc = app.incidents.declare("Checkout failing", "SEV1", author=IC, services=["checkout"], affected_users=1200,
                                summary="Card payments time out at checkout")  # fmt: skip
    app.roles.assign(inc.key, "IC", IC, author=IC)
    app.roles.assign(inc.key, "COMMS", DRAFTER, author=IC)
    return inc
