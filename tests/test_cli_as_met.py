"""The command line as a newcomer meets it: `show` in time order (the chain's with --order logged), wrapped
rows, what each template needs, a message recorded as sent by hand, warnings at resolve, and no display."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_show_reads_by_time_and_logged_order_on_request(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    assert run_cli("--as", "ana", "people", "add", "Ana Ruiz", "ana")[0] == 0
    assert run_cli("--as", "ana", "declare", "Checkout failing", "--severity", "SEV2")[0] == 0
    long_text = "Card authorisations failing with 502 from card-gateway for about forty percent of EU checkouts"
    assert run_cli("--as", "ana", "log", "INC-0001", f"/obs {long_text}", "--at=-30m")[0] == 0
    code, out, _ = run_cli("show", "INC-0001")
    assert code == 0 and "error rate: not set" in out and "-%" not in out
    timeline = out.split("Timeline:")[1]
    assert timeline.index("#2") < timeline.index("#1")  # the backdated observation happened first
    assert "backdated; logged" in timeline
    assert all(len(line) <= 60 for line in timeline.splitlines() if not line.lstrip().startswith("#"))
    code, out, _ = run_cli("show", "INC-0001", "--order", "logged")
    timeline = out.split("Timeline:")[1]
    assert code == 0 and "in the order logged" in timeline and timeline.index("#1") < timeline.index("#2")


def test_templates_say_what_they_need_and_a_message_can_be_recorded_as_sent_by_hand(run_cli):
    code, out, _ = run_cli("comms", "templates")
    assert code == 0 and "needs: symptom, next_update_at" in out
    assert run_cli("--as", "ana", "people", "add", "Ana Ruiz", "ana")[0] == 0
    assert run_cli("--as", "ana", "declare", "Checkout failing", "--severity", "SEV1")[0] == 0
    assert run_cli("--as", "ana", "role", "assign", "INC-0001", "IC", "ana")[0] == 0
    assert run_cli("--as", "ana", "comms", "draft", "INC-0001", "initial", "--channel", "statuspage",
                   "--field", "symptom=card payments failing")[0] == 0  # fmt: skip
    assert run_cli("--as", "ana", "comms", "approve", "INC-0001/1")[0] == 0
    code, _, err = run_cli("--as", "ana", "comms", "send", "INC-0001/1")
    assert code == 2 and "not configured" in err and "sent-by-hand" in err
    code, out, _ = run_cli("--as", "ana", "comms", "sent-by-hand", "INC-0001/1", "--how", "phone", "--note", "read out")
    assert code == 0 and "recorded as sent by hand (phone) by ana" in out
    code, _, err = run_cli("--as", "ana", "status", "INC-0001", "resolved")
    assert code == 0 and "warning: still owed" in err and "post-incident review" in err


def test_the_console_with_no_display_says_how_to_get_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 4
    assert "needs a display" in done.stderr and "xvfb-run -a scripts/run --demo" in done.stderr
    assert "Traceback" not in done.stderr
