"""`sitrep vendor ...` as a person types it: the register, a case opened, its response time crossed (recorded by
`sitrep clocks --check`), the ladder climbed, a reply, closing, and the refusals with their exit codes."""

from __future__ import annotations

import json


def _incident(run_cli) -> None:
    for argv in (("people", "add", "Sam Okafor", "sam.okafor", "--email", "sam@example.com"),
                 ("declare", "Card payments failing", "-s", "1", "--service", "card-gateway")):  # fmt: skip
        code, _out, err = run_cli("--as", "sam.okafor", *argv)
        assert code == 0, (argv, err)


def test_vendor_cases_from_the_command_line(run_cli):
    _incident(run_cli)
    code, out, err = run_cli("vendor", "list")
    assert code == 0 and err == ""
    assert "meridian     Meridian Payments (contract MP-ENT-2291, Enterprise Premier)" in out
    assert "P1   response 15 min, resolution 240 min: Critical: payments failing in production" in out
    assert "L2 after 20 min: Duty incident manager" in out

    # Raised in their portal 20 minutes ago: the 15-minute response time has already run out.
    code, out, err = run_cli("--as", "sam.okafor", "vendor", "open-case", "INC-0001", "meridian", "--priority", "P1",
                             "--ticket", "MP-88231", "--at", "20m ago")  # fmt: skip
    assert code == 0, err
    assert out.startswith("VND-0001  INC-0001  Meridian Payments P1  ticket MP-88231  level 1 (Premier support desk)")
    assert "response BREACHED" in out and "climb to L2 now" in out
    code, out, err = run_cli("clocks", "INC-0001", "--check")
    assert code == 0 and "breach recorded: Meridian Payments P1 response (VND-0001)" in err
    assert "Meridian Payments P1 response (VND-0001)" in out
    code, out, _ = run_cli("show", "INC-0001")
    assert "Clock breached: Meridian Payments P1 response (VND-0001)" in out

    code, out, err = run_cli("--as", "sam.okafor", "vendor", "climb", "VND-0001", "--note", "Bridge: meet.example.com/x")
    assert code == 0, err
    assert "> L2 Duty incident manager" in out
    assert "Escalation drafted: INC-0001/1 to duty-manager@meridian-payments.example" in out
    code, out, _ = run_cli("comms", "show", "INC-0001/1")
    assert code == 0 and "duty-manager@meridian-payments.example" in out

    code, out, err = run_cli("--as", "sam.okafor", "vendor", "reply", "VND-0001", "Engineer joining the bridge")
    assert code == 0 and "response late" in out
    code, out, _ = run_cli("vendor", "cases", "--open", "--json")
    (row,) = json.loads(out)
    assert (row["key"], row["level"], row["replies"]) == ("VND-0001", 2, 1)

    code, out, _ = run_cli("--as", "sam.okafor", "vendor", "close", "VND-0001", "--note", "Gateway fixed")
    assert code == 0 and "closed (resolved)" in out
    code, _out, err = run_cli("--as", "sam.okafor", "vendor", "reply", "VND-0001", "one more thing")
    assert code == 2 and "VND-0001 was closed as resolved" in err and "Traceback" not in err
    code, out, _ = run_cli("vendor", "show", "VND-0001")
    assert "Reply from Meridian Payments on VND-0001 (their ticket MP-88231): Engineer joining the bridge" in out
    assert "closed as resolved (their ticket MP-88231): Gateway fixed" in out


def test_refusals_name_what_is_wrong(run_cli, data_dir):
    _incident(run_cli)
    code, _out, err = run_cli("vendor", "open-case", "INC-0001", "acme", "--priority", "P1")
    assert code == 3 and "No vendor 'acme' in the vendor register" in err
    code, _out, err = run_cli("vendor", "open-case", "INC-0001", "relay", "--priority", "P2")
    assert code == 2 and "Relay Edge CDN's contract RE-7731 has no priority 'P2'; it has P1." in err
    code, _out, err = run_cli("vendor", "reply", "VND-0009", "hello")
    assert code == 3 and "No vendor case 'VND-0009'" in err
    (data_dir / "config").mkdir(exist_ok=True)
    (data_dir / "config" / "vendors.toml").write_text("[vendor.relay\nname=", encoding="utf-8")
    code, out, err = run_cli("vendor", "list")
    assert code == 1 and "vendor register problem:" in err and "not valid TOML" in err
    code, _out, err = run_cli("vendor", "cases")
    assert code == 0
