"""Sync fixtures: the three vendor fakes on loopback and a Sitrep wired to them."""

from __future__ import annotations

import os
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from services.core import Sitrep
from services.storage.secrets import MemorySecrets
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd
from tests.fakes import statuspage as fsp

ROOT = Path(__file__).resolve().parents[2]

# Fast clocks for tests: real HTTP, real SQLite, but back-off in milliseconds.
WORKER_OPTIONS = {"backoff_base": 0.02, "backoff_cap": 0.3, "breaker_threshold": 5, "breaker_cooldown": 0.5}


@pytest.fixture(scope="session", autouse=True)
def adapter_entry_points(tmp_path_factory):
    """The built-in adapters are found through entry points, as in production.

    A venv installed before pyproject declared them has no such metadata; then a dist-info made from
    pyproject's own table is put on sys.path (and PYTHONPATH, for subprocesses), so the real discovery
    path runs either way.
    """
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        "sitrep.adapters"
    ]
    found = {ep.name for ep in entry_points(group="sitrep.adapters")}
    if set(declared) <= found:
        yield declared
        return
    site = tmp_path_factory.mktemp("entry-points")
    info = site / "sitrep_builtin_adapters-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sitrep-builtin-adapters\nVersion: 0\n")
    lines = ["[sitrep.adapters]"] + [f"{k} = {v}" for k, v in declared.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    sys.path.append(str(site))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([p for p in (old, str(site)) if p])
    yield declared
    sys.path.remove(str(site))
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


def _started(fake):
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations == [], f"{fake.label} fake saw requests that break the spec: {fake.violations}"


@pytest.fixture
def fake_pd():
    yield from _started(fpd.FakePagerDuty())


@pytest.fixture
def fake_jira():
    yield from _started(fj.FakeJira())


@pytest.fixture
def fake_sp():
    yield from _started(fsp.FakeStatuspage())


def fake_secrets() -> MemorySecrets:
    return MemorySecrets({
        ("pagerduty", "api_token"): fpd.TOKEN,
        ("pagerduty", "routing_key"): fpd.ROUTING_KEY,
        ("jira", "api_token"): fj.TOKEN,
        ("statuspage", "api_key"): fsp.API_KEY,
    })  # fmt: skip


def configure_backends(app: Sitrep, pd=None, jira=None, sp=None, **common) -> None:
    base = {"enabled": True, "timeout_s": 1.0, "max_requests_per_s": 0, **common}
    if pd is not None:
        app.sync.configure("pagerduty", {**base, "url": pd.url, "events_url": pd.url + "/v2",
                                         "from_email": fpd.BOT_EMAIL, "service_id": "PSVC001",
                                         "priority_map": {"SEV1": "P1", "SEV2": "P2", "SEV3": "P3"}})  # fmt: skip
    if jira is not None:
        app.sync.configure("jira", {**base, "url": jira.url, "email": fj.EMAIL, "project_key": fj.PROJECT})
    if sp is not None:
        app.sync.configure("statuspage", {**base, "url": sp.url, "page_id": fsp.PAGE,
                                          "component_map": {"checkout": "cmp0001", "payments": "cmp0002"}})  # fmt: skip


@pytest.fixture
def app(data_dir, clock):
    """A Sitrep with a config folder, in-memory secrets and quick back-off (the fake clock dates entries)."""
    a = Sitrep.open(
        f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups", config_dir=data_dir / "config",
        now=clock, sync_options={"secrets": fake_secrets(), "worker_options": WORKER_OPTIONS},
    )  # fmt: skip
    yield a
    a.close()


# -- a private Secret Service ---------------------------------------------------------------
@pytest.fixture(scope="module")
def secret_service(tmp_path_factory):
    """A real Secret Service on a private D-Bus session: dbus-daemon + gnome-keyring-daemon --unlock,
    with a throwaway HOME, so tests never touch a developer's own keyring. Yields the environment a
    subprocess needs to reach it; in this process keyring is pointed at it for the session."""
    import shutil
    import subprocess

    import keyring
    from keyring.backends import SecretService

    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed; scripts/test installs dbus-daemon and gnome-keyring")
    home = tmp_path_factory.mktemp("keyring-home")
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
           "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}  # fmt: skip
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    address = bus.stdout.readline().strip()
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    unlock = subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
        input="sitrep-test-keyring", env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if unlock.returncode != 0:
        bus.terminate()
        bus.wait(10)
        bus.stdout.close()
        pytest.fail(f"gnome-keyring-daemon did not start: {unlock.stderr}")
    previous_address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
    previous = keyring.get_keyring()
    keyring.set_keyring(SecretService.Keyring())
    yield env
    keyring.set_keyring(previous)
    if previous_address is None:
        os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
    else:
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = previous_address
    # gnome-keyring-daemon leaves with its bus.
    bus.terminate()
    bus.wait(10)
    bus.stdout.close()


@pytest.fixture
def cli(monkeypatch, capsys):
    """`sitrep --data-dir DIR ...` through the same main() the console script calls, in this process.

    A subprocess spends about a second importing before it does anything; these tests run the CLI
    dozens of times. What only a separate process can show (a worker killed mid-request) uses
    `run_cli`. Same return shape as `run_cli`: returncode, stdout, stderr.
    """
    import io
    import logging
    import subprocess

    from app.__main__ import main

    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level

    def run(data_dir, *args, stdin: str | None = None):
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        argv = ["--data-dir", str(data_dir), *args]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(argv, code, out, err)

    yield run
    for handler in root.handlers[:]:
        if handler not in handlers_before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level_before)
    if hasattr(root, "_sitrep_configured"):
        del root._sitrep_configured


@pytest.fixture
def run_cli():
    """`python -m app --data-dir DIR ...` in a subprocess, as a person would run it."""
    import subprocess

    def run(data_dir, *args, stdin: str | None = None, env: dict | None = None, timeout: float = 120):
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), full_env.get("PYTHONPATH")) if p)
        return subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
            input=stdin, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT,
        )  # fmt: skip

    return run
