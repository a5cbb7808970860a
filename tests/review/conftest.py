"""Review fixtures: the demo store with Jira (the loopback fake) and e-mail (a loopback SMTP server) on."""

from __future__ import annotations

import pytest

from services.core import Sitrep
from services.storage.secrets import MemorySecrets
from tests.comms.conftest import configure_email
from tests.comms.smtp_server import PASSWORD, SmtpServer
from tests.fakes import jira as fj
from tests.sync.conftest import WORKER_OPTIONS, adapter_entry_points, configure_backends  # noqa: F401


@pytest.fixture
def fake_jira():
    fake = fj.FakeJira()
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations == [], f"Jira fake saw requests that break the spec: {fake.violations}"


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def app(data_dir, clock):
    secrets = MemorySecrets({("jira", "api_token"): fj.TOKEN, ("email", "password"): PASSWORD})
    a = Sitrep.open(
        f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups", config_dir=data_dir / "config",
        now=clock, sync_options={"secrets": secrets, "worker_options": WORKER_OPTIONS},
    )  # fmt: skip
    yield a
    a.close()


@pytest.fixture
def wired(app, fake_jira, smtp):
    """Jira and e-mail on, before anything is declared (so the incident has its ticket)."""
    configure_backends(app, jira=fake_jira)
    configure_email(app, smtp)
    return app
