"""`sitrep flag` end to end, as a person runs it (a subprocess), with the token in a real Secret Service: list the incident's
flags read from the Unleash fake, switch one off (read back, exit 0), and with Unleash down switch it on again:
queued, said queued, exit 75; `sitrep sync` delivers it later and `--switches` says so."""

from __future__ import annotations

import json

import pytest

from services.core import Sitrep
from tests.fakes import unleash as ful

FLAG = "payments.new-3ds-flow"


@pytest.fixture
def fake_unleash():
    fake = ful.FakeUnleash().start()
    yield fake
    fake.stop()
    assert fake.violations == []


def test_flag_commands(secret_service, run_cli, data_dir, fake_unleash):
    def sitrep(*args, stdin=None):
        done = run_cli(data_dir, *args, stdin=stdin, env=secret_service)
        return done.returncode, done.stdout, done.stderr

    code, out, err = sitrep("flag", "list", "--incident", "INC-0001")
    assert code != 0 and "Traceback" not in err
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                      config_dir=data_dir / "config")  # fmt: skip
    try:
        app.people.add("Ana Ruiz", "ana")
        inc = app.incidents.declare("Payments failing", "SEV1", author="ana", services=["payments-api"])
    finally:
        app.close()
    (data_dir / "config" / "flags.toml").write_text(
        f'[[flag]]\nservice = "payments"\nkey = "{FLAG}"\nenvironments = ["production"]\n', encoding="utf-8")
    code, out, err = sitrep("--as", "ana", "flag", "off", FLAG, "--incident", inc.key, "--why", "3DS loop")
    assert code == 2 and "backend set unleash" in err and "Traceback" not in err
    assert sitrep("backend", "set", "unleash", "--enable", "--url", fake_unleash.url, "--set", "timeout_s=1")[0] == 0
    assert sitrep("backend", "set", "unleash", "--secret", "api_token", "--token-from-stdin", stdin=ful.TOKEN + "\n")[0] == 0
    assert not any(ful.TOKEN in p.read_text(encoding="utf-8", errors="replace")
                   for p in (data_dir / "config").iterdir() if p.is_file())  # fmt: skip

    code, out, err = sitrep("flag", "list", "--incident", inc.key, "--json")
    assert code == 0, err
    assert json.loads(out) == [{"flag": FLAG, "service": "payments", "environment": "production", "enabled": True,
                                "problem": None}]  # fmt: skip
    code, out, err = sitrep("--as", "ana", "flag", "off", FLAG, "--incident", inc.key, "--why", "3DS loop")
    assert code == 0, err
    assert "read back off (was on)" in out and not fake_unleash.enabled(FLAG, "production")

    fake_unleash.stop()
    code, out, err = sitrep("--as", "ana", "flag", "on", FLAG, "--incident", inc.key, "--why", "fixed")
    assert code == 75 and out.startswith("Queued, not done")
    fake_unleash.restart()
    assert sitrep("sync")[0] == 0
    code, out, err = sitrep("flag", "list", "--incident", inc.key, "--switches")
    assert "Switched payments.new-3ds-flow@production on: read back on (was off)." in out
    assert fake_unleash.enabled(FLAG, "production")
    code, out, err = sitrep("change", "list", "--incident", inc.key, "--json")
    assert [r["made_through"] for r in json.loads(out)] == ["flag", "flag"]
