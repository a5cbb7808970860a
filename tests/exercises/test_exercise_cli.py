"""An exercise run headless: start, status, inject (timed, next, ad hoc), pause, resume, the evaluator's
commands, end with its AAR/IP, and the history. A trigger inject waits for its status."""

from __future__ import annotations

import json
from pathlib import Path

from services.exercises.scenario import parse_scenario
from services.exercises.session import open_exercise
from services.exercises.workspace import Workspace, build_vocabulary, create_exercise

TRIGGERED = '''id = "triggered"
title = "Short drill with a trigger"
duration_min = 20
[[objectives]]
id = "O1"
text = "Mitigate and tell people"
[start]
kind = "declared"
title = "Checkout slow"
severity = "SEV2"
text = "Checkout p95 is 4 s."
incident_type = "degraded_performance"
[[injects]]
id = "A"
at = 0
title = "Slow"
content = "Checkout is slow."
  [[injects.expect]]
  id = "A-mitigate"
  text = "Mitigated"
  within_min = 10
  rule = { kind = "status", status = "mitigated" }
[[injects]]
id = "B"
after = "mitigated"
delay_min = 2
title = "Customers still complain"
content = "Support says customers still see errors."
  [[injects.expect]]
  id = "B-message"
  text = "Customers told"
  within_min = 5
  rule = { kind = "message", audience = ["customers", "public"] }
'''


def test_headless_exercise(run_cli, data_dir, tmp_path):
    scenario = tmp_path / "triggered.toml"
    scenario.write_text(TRIGGERED)
    code, out, err = run_cli("--as", "fran", "exercise", "start", str(scenario), "--speed", "60", "--json")
    assert code == 0, err
    folder = Path(json.loads(out)["folder"])
    assert folder.parent == data_dir / "exercises"

    code, out, _ = run_cli("exercise", "status", "--json")
    status = json.loads(out)
    assert [m["status"] for m in status["msel"]] == ["delivered", "pending"]  # B waits for "mitigated"
    code, out, _ = run_cli("exercise", "pause")
    assert code == 0 and "Paused" in out
    code, _, err = run_cli("exercise", "pause")
    assert code != 0 and "already paused" in err
    code, out, _ = run_cli("exercise", "resume", "--speed", "30")
    assert "×30" in out
    code, out, _ = run_cli("exercise", "inject", "--title", "Power cut", "--content", "The office loses power.",
                           "--to", "IC")  # fmt: skip
    assert "Delivered X1" in out
    code, _, err = run_cli("exercise", "inject", "--title", "x", "--content", "y", "--to", "CHEF")
    assert code != 0 and "CHEF" in err

    # The players, in the exercise's own store: the incident was declared at the start.
    code, out, _ = run_cli("--as", "ana", "list", data=folder)
    assert "INC-0001" in out
    code, _, err = run_cli("--as", "ana", "status", "INC-0001", "mitigated", data=folder)
    assert code == 0, err
    code, out, _ = run_cli("exercise", "inject", "B")  # the facilitator delivers it now instead of waiting
    assert "Delivered B" in out
    code, out, _ = run_cli("exercise", "status")
    assert "A-mitigate" in out and " met " in out

    for args in (("note", "Mitigation took a while"), ("mark", "B-message", "missed", "--note", "nothing sent"),
                 ("rate", "O1", "M", "--notes", "slow"), ("hotwash", "strength", "Clear commander"),
                 ("action", "Write the customer-notice runbook", "--issue", "Nobody told customers", "--owner",
                  "Comms team", "--due", "+14d", "--objective", "O1")):  # fmt: skip
        code, _, err = run_cli("--as", "eve", "exercise", *args)
        assert code == 0, (args, err)
    code, _, err = run_cli("exercise", "action", "CA-1", "--status", "done")
    assert code == 0, err
    code, out, err = run_cli("--as", "fran", "exercise", "end")
    assert code == 0, err
    pdf = folder / "aar.pdf"
    assert pdf.read_bytes()[:4] == b"%PDF"
    md = (folder / "aar.md").read_text()
    assert "EXERCISE" in md and "Write the customer-notice runbook" in md and "| done |" in md
    assert "B-message: Customers told" in md and "missed (marked by eve)" in md
    code, out, _ = run_cli("exercise", "report", "--format", "html", "--exercise", folder.name)
    assert code == 0 and "<table" in out and "EXERCISE" in out
    code, out, _ = run_cli("exercise", "history", "--json")
    history = json.loads(out)
    assert history[0]["scenario"] == "triggered" and history[0]["expected_missed"] == 1
    code, _, err = run_cli("exercise", "status")
    assert code != 0 and "No exercise is running" in err
    # The real store has no incident, no exercise rows.
    code, out, _ = run_cli("list")
    assert "INC-" not in out


def test_a_trigger_inject_falls_due_after_its_status(sitrep, data_dir, clock, tmp_path):
    scenario = parse_scenario(tmp_path / "t.toml", TRIGGERED, build_vocabulary(sitrep.catalog, sitrep.comms))
    folder = create_exercise(sitrep, scenario, facilitator="fran", data_dir=data_dir, config_dir=data_dir / "config")
    ex = open_exercise(folder, now=clock)
    try:
        ex.exercises.start(by="fran", speed=10)
        inc = ex.incidents.list()[0]
        assert inc.is_exercise and inc.severity == "SEV2"
        clock.advance(seconds=30)  # T+0:05
        ex.incidents.set_status(inc.key, "mitigated", author="ana")
        assert ex.exercises.tick() == []  # B is due 2 scenario minutes after the status
        clock.advance(seconds=11)  # 110 scenario seconds later
        assert ex.exercises.tick() == []
        clock.advance(seconds=1)
        assert ex.exercises.tick() == ["B"]
        sheet = {r.expectation.id: r for r in ex.exercises.state().sheet}
        assert sheet["A-mitigate"].status == "met" and sheet["A-mitigate"].delay_text == "5 min 00 s"
        clock.advance(minutes=1)  # 10 scenario minutes: B's 5-minute window passed
        assert {r.expectation.id: r.status for r in ex.exercises.state().sheet}["B-message"] == "missed"
        ex.exercises.pause(by="fran")
        held = ex.exercises.state().clock_text
        clock.advance(minutes=5)
        assert ex.exercises.state().clock_text == held
        assert Workspace(data_dir, data_dir / "config").find(None).path == folder
    finally:
        ex.close()
