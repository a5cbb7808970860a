"""`sitrep alerts ...` against a real Alertmanager: poll, list, show, ack, silence, groups, triage into an
incident with the bridge, quality; and the maintenance CLI's matchers and recurrence."""

from __future__ import annotations

import json

import pytest

from tests.detection.alertmanager_proc import RealAlertmanager
from tests.detection.test_alert_storm import pytestmark as needs_alertmanager  # noqa: F401
from tests.detection.test_alert_storm import storm


@pytest.fixture
def alertmanager(tmp_path):
    folder = tmp_path / "am"
    folder.mkdir()
    am = RealAlertmanager(folder).start()
    yield am
    am.stop()


def test_the_alerts_commands_from_poll_to_a_declared_incident(run_cli, alertmanager):
    assert run_cli("backend", "set", "alertmanager", "--url", alertmanager.url, "--enable")[0] == 0
    alertmanager.fire(storm())
    code, out, err = run_cli("alerts", "poll")
    assert code == 0 and "33 new" in out, err
    code, out, _ = run_cli("alerts", "list", "--json")
    alerts = json.loads(out)
    assert code == 0 and len(alerts) == 33
    disk = next(a for a in alerts if a["rule"] == "DiskAlmostFull")
    code, out, _ = run_cli("alerts", "show", disk["id"][:12])
    assert code == 0 and "metadata problems: missing service" in out and "firing" in out
    assert run_cli("alerts", "ack", disk["id"])[0] == 0
    code, _out, err = run_cli("alerts", "ack", disk["id"])
    assert code != 0 and "Already acknowledged" in err
    code, out, _ = run_cli("alerts", "silence", disk["id"], "--for", "30m", "-m", "known batch job")
    assert code == 0 and "queued for Alertmanager" in out
    code, out, _ = run_cli("alerts", "groups")
    assert code == 0 and out.splitlines()[0].startswith(" 1.")
    numbered = {line.split(".")[0].strip(): line for line in out.splitlines()}
    big = next(n for n, line in numbered.items() if "likely origin postgres-main" in line)
    assert run_cli("alerts", "bridge", "--template", "https://meet.example.com/{key}")[0] == 0
    code, out, _ = run_cli("alerts", "triage", big, "--answer", "2")
    assert code == 2 and "T1:" in out  # asks the next question
    code, out, err = run_cli("--as", "ana", "alerts", "triage", big, *sum((["--answer", "2"] for _ in range(4)), []),
                             "--title", "Payments failing", "--bridge")  # fmt: skip
    assert code == 0 and "Declared INC-0001 at SEV2" in out and "bridge open: https://meet.example.com/INC-0001" in out, err
    code, out, _ = run_cli("alerts", "quality")
    assert code == 0 and "DiskAlmostFull" in out and "MISSING: missing environment; missing service" in out


def test_maintenance_plan_takes_matchers_and_a_recurrence(run_cli):
    code, out, err = run_cli("maintenance", "plan", "Cache upgrade", "--start", "+1h", "--duration", "1h",
                             "--match", "service=~redis-cache|search", "--every", "FREQ=WEEKLY;BYDAY=SU",
                             "--tz", "Europe/Berlin")  # fmt: skip
    assert code == 0, err
    code, out, _ = run_cli("maintenance", "show", "1")
    assert "mutes alerts matching service=~redis-cache|search (never critical ones)" in out
    assert "repeats FREQ=WEEKLY;BYDAY=SU in Europe/Berlin" in out
    code, _out, err = run_cli("maintenance", "plan", "Bad", "--start", "+1h", "--duration", "1h", "--every",
                              "FREQ=HOURLY", "--tz", "UTC")  # fmt: skip
    assert code != 0 and "FREQ=DAILY or FREQ=WEEKLY" in err
