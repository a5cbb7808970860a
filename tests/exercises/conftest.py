"""A real store whose every backend (PagerDuty, Jira, Statuspage, Slack, e-mail) points at a loopback
fake, with the responders an exercise copies: what an exercise must never reach."""

from __future__ import annotations

from services.core import Sitrep
from services.storage.secrets import MemorySecrets
from tests.comms import fake_slack as fsl
from tests.comms.conftest import configure_email, configure_slack
from tests.comms.smtp_server import PASSWORD, SmtpServer
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd
from tests.fakes import statuspage as fsp
from tests.sync.conftest import adapter_entry_points, configure_backends  # noqa: F401

PLAYERS = (("Alice Commander", "alice"), ("Bob Comms", "bob"), ("Carol Scribe", "carol"), ("Lena Legal", "lena"),
           ("Tom Tech", "tom"))  # fmt: skip


def all_secrets(slack) -> MemorySecrets:
    return MemorySecrets({
        ("pagerduty", "api_token"): fpd.TOKEN, ("pagerduty", "routing_key"): fpd.ROUTING_KEY,
        ("jira", "api_token"): fj.TOKEN, ("statuspage", "api_key"): fsp.API_KEY,
        ("slack", "bot_token"): fsl.TOKEN, ("slack", "webhook_url"): slack.webhook_url, ("email", "password"): PASSWORD,
    })  # fmt: skip


def real_store_with_backends(data_dir, clock, tmp_path):
    fakes = {"pagerduty": fpd.FakePagerDuty().start(), "jira": fj.FakeJira().start(),
             "statuspage": fsp.FakeStatuspage().start(), "slack": fsl.FakeSlack().start()}  # fmt: skip
    smtp = SmtpServer(tmp_path).start()
    fakes["email"] = smtp
    secrets = all_secrets(fakes["slack"])
    config = data_dir / "config"
    real = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups", config_dir=config,
                       now=clock, sync_options={"secrets": secrets})  # fmt: skip
    try:
        configure_backends(real, fakes["pagerduty"], fakes["jira"], fakes["statuspage"])
        configure_slack(real, fakes["slack"])
        configure_email(real, smtp)
        for name, handle in PLAYERS:
            real.people.add(name, handle, email=f"{handle}@example.com")
        yield {"real": real, "fakes": fakes, "secrets": secrets, "data": data_dir, "config": config}
    finally:
        real.close()
        for fake in fakes.values():
            fake.stop()
