"""The headless command line: the same incident as the services, JSON for scripts, errors for people."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from whole_incident import BRIEF, cli_script, record_without_times, run_with_services

from models.enums import Milestone
from services.core import Sitrep

ROOT = Path(__file__).resolve().parents[1]


def open_store(data_dir: Path) -> Sitrep:
    return Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups")


def assert_one_line_error(code: int, out: str, err: str, expected_code: int, words: str) -> None:
    assert code == expected_code, (code, out, err)
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sitrep: error: "), err
    assert words in lines[0], err


def test_the_command_line_leaves_the_same_record_as_the_services(run_cli, data_dir, tmp_path, clock):
    for argv in cli_script():
        code, out, err = run_cli(*argv)
        assert code == 0, (argv, out, err)
        assert "Traceback" not in err

    by_cli = open_store(data_dir)
    services_dir = tmp_path / "services"
    services_dir.mkdir()
    by_services = Sitrep.open(f"sqlite:///{services_dir / 'sitrep.db'}", now=clock)
    try:
        key = run_with_services(by_services, clock)
        cli_inc = by_cli.incidents.get("INC-0001")
        cli_entries = by_cli.timeline.entries(cli_inc.id)
        svc_entries = by_services.timeline.entries(by_services.incidents.get(key).id)

        assert record_without_times(cli_entries) == record_without_times(svc_entries)
        assert len(cli_entries) == 14

        authored = {"observation", "assumption", "decision", "note", "comms"}
        assert {e.source for e in cli_entries if e.kind in authored} == {"cli"}
        assert {e.source for e in cli_entries if e.kind not in authored} == {"sitrep"}

        # The backdated times landed where the script put them relative to the declaration.
        declared = cli_inc.milestone(Milestone.DECLARED)
        note = next(e for e in cli_entries if e.kind == "note")
        assert abs(note.occurred_at - (declared - timedelta(minutes=15))) < timedelta(seconds=30)
        breaches = [e for e in cli_entries if e.kind == "clock_breach"]
        assert breaches[0].occurred_at == declared + timedelta(minutes=5), "the bridge was due 5 min in"
        assert breaches[1].occurred_at == declared + timedelta(minutes=10), "the first update at 10 min"

        assert cli_inc.status.value == "resolved"
        assert {m.value for m, v in cli_inc.milestones.items() if v is not None} == {
            m.value for m, v in by_services.incidents.get(key).milestones.items() if v is not None
        }
        assert by_cli.roles.history("INC-0001")[1].handover_brief == {**BRIEF, "from": "ana"}
    finally:
        by_cli.close()
        by_services.close()

    code, out, err = run_cli("verify")
    assert code == 0 and out.startswith("OK: 14 timeline entries in 1 incident(s)")


def test_json_output_parses_for_every_command_that_offers_it(run_cli, data_dir):
    def j(*argv: str):
        code, out, err = run_cli(*argv, "--json")
        assert code == 0, (argv, err)
        return json.loads(out)

    assert j("people", "add", "Ana Ruiz", "ana", "--tz", "Europe/Madrid")["timezone"] == "Europe/Madrid"
    inc = j("declare", "Search slow", "-s", "2", "--service", "search")
    assert (inc["key"], inc["severity"], inc["status"], inc["services"]) == (
        "INC-0001",
        "SEV2",
        "declared",
        ["search"],
    )
    entry = j("log", "INC-0001", "/decision Fail over -- the primary is gone")
    assert (entry["seq"], entry["kind"], entry["rationale"]) == (2, "decision", "the primary is gone")
    assert j("role", "assign", "INC-0001", "ic", "ana")["person"]["handle"] == "ana"
    assert j("status", "INC-0001", "investigating")["status"] == "investigating"
    assert j("severity", "INC-0001", "SEV1")["severity"] == "SEV1"
    assert j("milestone", "INC-0001", "detected", "-10m")["detected"].endswith("Z")
    assert [r["key"] for r in j("list")] == ["INC-0001"]
    shown = j("show", "INC-0001")
    assert [e["kind"] for e in shown["timeline"]][:3] == ["status_change", "decision", "role_change"]
    assert {c["id"] for c in shown["clocks"]} == {"bridge", "commander", "next_update"}
    assert [c["id"] for c in j("clocks", "INC-0001")] == ["bridge", "commander", "next_update"]
    assert [h["role"] for h in j("role", "list", "INC-0001")] == ["IC"]
    assert [h["role"] for h in j("role", "list", "INC-0001", "--history")] == ["IC"]
    assert "IC" in [r["id"] for r in j("role", "catalog")]
    assert j("role", "checklist", "INC-0001", "IC", "1")[0]["done"] is True
    assert [p["handle"] for p in j("people", "list")] == ["ana"]
    assert [s["id"] for s in j("severities")] == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    assert j("verify") == {"ok": True, "incidents": 1, "entries": 7, "log_entries": 0, "breaks": [], "attachments": []}
    doctor = j("doctor")
    assert doctor["integrity_check"] == "ok" and doctor["journal_mode"] == "wal"
    assert Path(j("backup")["backup"]).is_file()

    code, out, _ = run_cli("export")
    assert code == 0 and json.loads(out)["format"] == "sitrep.export"
    (data_dir / "x.json").write_text(out, encoding="utf-8")
    assert j("import", str(data_dir / "x.json"))["unchanged"] == ["INC-0001"]


@pytest.fixture
def with_incident(run_cli):
    for argv in (
        ["people", "add", "Ana Ruiz", "ana"],
        ["people", "add", "Ben Okafor", "ben"],
        ["declare", "Search slow", "-s", "SEV2"],
        ["role", "assign", "INC-0001", "IC", "ana"],
    ):
        assert run_cli(*argv)[0] == 0
    return "INC-0001"


HALF_A_BRIEF = ["--status", "ok", "--hypotheses", " ", "--last-update", "none", "--next-actions", "watch"]


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["declare", "Checkout down", "-s", "SEV9"], 2, "Unknown severity 'SEV9'"),
        (["status", "INC-0001", "closed"], 2, "cannot go from Declared to Closed"),
        (["show", "INC-0042"], 3, "No incident 'INC-0042'"),
        (["log", "INC-0042", "hello"], 3, "No incident 'INC-0042'"),
        (["log", "INC-0001", "/decision Fail over to the standby"], 2, "needs its rationale"),
        (["log", "INC-0001", "/frobnicate the cache"], 2, "Unknown prefix '/frobnicate'"),
        (["log", "INC-0001", "Paged the DBA", "--at", "yesterday-ish"], 2, "not a time I can read"),
        (
            ["log", "INC-0001", "Paged the DBA", "--at", "2999-01-01T00:00Z"],
            2,
            "cannot be dated in the future",
        ),
        (["log", "INC-0001", "Paged the DBA", "--at", "-99999999999d"], 2, "too far"),
        (["milestone", "INC-0001", "detected", "25:70"], 2, "not a clock time"),
        (["role", "assign", "INC-0001", "IC", "ben"], 2, "Ana Ruiz holds Incident Commander"),
        (["role", "assign", "INC-0001", "Janitor", "ben"], 3, "Unknown role 'Janitor'"),
        (["role", "assign", "INC-0001", "COMMS", "zed"], 3, "handle 'zed'"),
        (["role", "handover", "INC-0001", "IC", "ben", *HALF_A_BRIEF], 2, "Open hypotheses"),
        (["severity", "INC-0001", "SEV4"], 2, "needs a reason"),
        (["major", "INC-0001", "off"], 2, "needs a reason"),
        (["people", "add", "Zed", "zed", "--tz", "Mars/Olympus"], 2, "Unknown time zone"),
        (["correct", "no-such-entry", "text", "--reason", "typo"], 3, "does not exist"),
    ],
)
def test_errors_are_one_clear_line_and_change_nothing(run_cli, data_dir, with_incident, argv, code, words):
    before = run_cli("export")[1]
    assert_one_line_error(*run_cli(*argv), code, words)
    after = run_cli("export")[1]
    strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "exported_at"}  # noqa: E731
    assert strip(after) == strip(before), "a refused command wrote something"


def test_reopening_without_a_reason_is_refused_and_with_one_works(run_cli, with_incident):
    assert run_cli("status", with_incident, "resolved")[0] == 0
    assert_one_line_error(*run_cli("status", with_incident, "investigating"), 2, "needs a reason")
    code, out, err = run_cli(
        "status", with_incident, "investigating", "--reason", "errors are back", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["milestones"]["resolved"] is None


def test_argparse_usage_errors_exit_2_without_a_traceback(run_cli, with_incident):
    code, out, err = run_cli("status", with_incident, "sideways")
    assert code == 2 and "invalid choice" in err and "Traceback" not in err


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SITREP_DATA_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    env["SITREP_USER"] = "tester"
    return env


def test_the_real_entry_points_run(tmp_path):
    """`python -m app` and the installed `sitrep` console script, each in its own process."""
    d = tmp_path / "data"
    run = lambda argv: subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=120)  # noqa: E731

    r = run([sys.executable, "-m", "app", "--data-dir", str(d), "declare", "Checkout down", "-s", "SEV1"])
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("Declared INC-0001")

    script = Path(sys.executable).with_name("sitrep")
    assert script.is_file(), "the `sitrep` console script is not installed next to this Python"
    r = run([str(script), "--data-dir", str(d), "list"])
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("INC-0001  SEV1 MAJOR Declared")


def test_a_bug_is_reported_in_one_line_with_the_details_in_the_log(run_cli, data_dir, monkeypatch):
    from services.record.incidents import IncidentService

    def broken(self, **kwargs):
        raise RuntimeError("list exploded")

    monkeypatch.setattr(IncidentService, "list", broken)  # stands in for a bug; nothing else can
    code, out, err = run_cli("list")
    assert code == 70 and out == ""
    assert err.startswith("sitrep: internal error (a bug, not your input).") and err.count("\n") == 1
    assert "Traceback" not in err and "list exploded" not in err
    log = (data_dir / "logs" / "sitrep.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "RuntimeError: list exploded" in log


def test_export_to_a_file_and_to_a_place_that_cannot_be_written(run_cli, data_dir, tmp_path):
    assert run_cli("declare", "Checkout down", "-s", "SEV1")[0] == 0
    target = tmp_path / "out" / "incidents.json"
    assert_one_line_error(*run_cli("export", "-o", str(target)), 2, "Cannot write")
    target.parent.mkdir()
    code, out, err = run_cli("export", "INC-0001", "-o", str(target))
    assert code == 0 and out == "" and "Exported 1 incident(s)" in err
    assert json.loads(target.read_text(encoding="utf-8"))["incidents"][0]["key"] == "INC-0001"
    assert not list(target.parent.glob("*.part")), "the temporary file was renamed into place"


def test_the_data_folder_comes_from_the_option_or_the_environment(tmp_path, monkeypatch):
    from services.storage.paths import resolve_paths

    monkeypatch.setenv("SITREP_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_paths().database == tmp_path / "from-env" / "sitrep.db"
    paths = resolve_paths(tmp_path / "from-option")
    assert paths.database == tmp_path / "from-option" / "sitrep.db"
    assert {paths.logs, paths.backups, paths.config} == {
        tmp_path / "from-option" / "logs",
        tmp_path / "from-option" / "backups",
        tmp_path / "from-option" / "config",
    }
    monkeypatch.chdir(tmp_path)
    assert resolve_paths("relative").data == tmp_path / "relative"


def test_version(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("sitrep ")
