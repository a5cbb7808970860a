"""Fixtures the problem and change-link tests share: a Sitrep set up as the sync tests' is, and the loopback
Jira fake. Registered under their usual names (`app`, `fake_jira`) by importing the functions."""

from __future__ import annotations

import pytest

from services.core import Sitrep
from tests.fakes import jira as fj
from tests.sync.conftest import WORKER_OPTIONS, fake_secrets


@pytest.fixture(name="fake_jira")
def fake_jira_fixture():
    fake = fj.FakeJira().start()
    yield fake
    fake.stop()
    assert fake.violations == [], f"the Jira fake saw requests that break its contract: {fake.violations}"


@pytest.fixture(name="app")
def app_fixture(data_dir, clock):
    """A Sitrep with a config folder and in-memory secrets, as tests/sync/conftest.py's."""
    a = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                    config_dir=data_dir / "config", now=clock,
                    sync_options={"secrets": fake_secrets(), "worker_options": WORKER_OPTIONS})  # fmt: skip
    yield a
    a.close()


def jira_time(dt) -> str:
    """A time as Jira writes an issue's `created`."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
