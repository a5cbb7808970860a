"""`sitrep comms ...`: the same rules as the GUI, errors on stderr with a non-zero exit code."""

from __future__ import annotations

import json


def _setup(run_cli):
    assert run_cli("declare", "Checkout failing", "-s", "SEV1", "--service", "checkout")[0] == 0
    assert run_cli("people", "add", "Ana Lopez", "ana")[0] == 0
    assert run_cli("--as", "ana", "role", "assign", "INC-0001", "IC", "ana")[0] == 0


def test_draft_approve_send_and_log_from_the_command_line(run_cli, data_dir, monkeypatch):
    _setup(run_cli)
    code, out, err = run_cli("--as", "bob", "comms", "draft", "INC-0001", "initial", "--channel", "statuspage",
                             "--field", "symptom=Checkout is failing for some customers")  # fmt: skip
    assert code == 0 and "INC-0001/1  Draft" in out and "needs approval" in out
    code, out, err = run_cli("--as", "bob", "comms", "send", "INC-0001/1")
    assert code == 2 and "needs approval by the incident commander" in err and "Traceback" not in err
    code, out, err = run_cli("--as", "bob", "comms", "approve", "INC-0001/1")
    assert code == 2 and "Only the incident commander (Ana Lopez, @ana)" in err
    code, out, err = run_cli("--as", "ana", "comms", "approve", "INC-0001/1")
    assert code == 0 and "approved by ana" in out
    # The status page is not configured here: the send is refused, naming the channel, and nothing is logged.
    code, out, err = run_cli("--as", "bob", "comms", "send", "INC-0001/1")
    assert code == 2 and "Status page is not configured" in err
    code, out, err = run_cli("comms", "contact", "INC-0001", "Phoned the DPA desk", "--channel", "phone",
                             "--audience", "regulators", "--with", "DPA desk")  # fmt: skip
    assert code == 0
    code, out, err = run_cli("comms", "log", "INC-0001", "--json")
    rows = json.loads(out)
    assert [r["channel"] for r in rows] == ["phone"]
    code, out, err = run_cli("comms", "log", "--export", "csv")
    assert out.startswith("incident,seq,occurred_at") and "Phoned the DPA desk" in out
    pdf = data_dir / "log.pdf"
    assert run_cli("comms", "log", "--export", "pdf", "-o", str(pdf))[0] == 0 and pdf.read_bytes().startswith(
        b"%PDF"
    )
    code, out, err = run_cli("verify")
    assert code == 0 and "1 stakeholder log lines" in out
    code, out, err = run_cli("comms", "templates")
    assert code == 0 and "initial" in out and err == ""
    code, out, err = run_cli("comms", "show", "INC-0001/9")
    assert code == 3 and "has no message 9" in err


def test_escalation_and_regulatory_clocks_from_the_command_line(run_cli):
    assert run_cli("declare", "Records exposed", "-s", "SEV1", "--type", "data_breach")[0] == 0
    code, out, err = run_cli("comms", "escalate", "INC-0001")
    assert (
        code == 0
        and "GDPR: notify the supervisory authority" in out
        and "waiting for: incident determined material" in out
    )
    assert "needs review by counsel" in out
    code, out, err = run_cli("comms", "clock", "INC-0001", "sec_8k_item_1_05", "start")
    assert code == 0 and "left" in out
    code, out, err = run_cli("comms", "clock", "INC-0001", "gdpr_sa", "withdrawn")
    assert code == 2 and "counsel" in err
