"""`sitrep impact`, `sitrep delegations` and `sitrep declare` with impact inputs, end to end in this process."""

from __future__ import annotations

import json


def _people(run_cli):
    for name, handle in (("Priya Nair", "priya.nair"), ("Sam Okafor", "sam.okafor")):
        assert run_cli("--as", "priya.nair", "people", "add", name, handle)[0] == 0


def test_declare_with_impact_then_impact_set_and_show(run_cli):
    code, _, err = run_cli("--as", "sam", "declare", "Checkout down", "-s", "SEV2", "--affected-pct", "42",
                           "--journey", "checkout", "--error-rate", "23")  # fmt: skip
    assert code == 2 and "Declaring SEV2 goes against the impact model's proposal (SEV1: error rate 23% ≥ 20%" in err
    code, _, _ = run_cli("--as", "sam", "declare", "Checkout down", "-s", "SEV2", "--affected-pct", "42",
                         "--journey", "checkout", "--error-rate", "23", "--severity-reason", "fallback works")  # fmt: skip
    assert code == 0
    code, out, _ = run_cli("impact", "show", "--incident", "1", "--json")
    shown = json.loads(out)
    assert (shown["proposed_severity"], shown["severity"], shown["impact"]["affected_pct"]) == ("SEV1", "SEV2", 42)
    code, _, err = run_cli("--as", "sam", "impact", "set", "--incident", "1", "--affected-pct", "140")
    assert code == 2 and "between 0 and 100; 140 is out of range" in err and "Traceback" not in err
    code, out, _ = run_cli("--as", "sam", "impact", "set", "--incident", "1", "--affected-pct", "3", "--error-rate", "1")
    assert code == 0 and "proposed: SEV3: 3% of users on a core journey (checkout) ≥ 0.1%; error rate 1% ≥ 1%" in out


def test_delegations_list_add_review_confirm_revoke(run_cli):
    _people(run_cli)
    code, out, _ = run_cli("delegations")
    assert code == 0 and "No delegations" in out
    code, _, err = run_cli("--as", "priya.nair", "delegations", "add", "approve_external", "nobody", "--owner", "priya.nair")
    assert code == 2 and "Nobody called 'nobody' is in the responder directory" in err
    code, out, _ = run_cli("--as", "priya.nair", "delegations", "add", "approve_external", "sam.okafor",
                           "--owner", "priya.nair", "--expires", "2099-01-31", "--json")  # fmt: skip
    ident = json.loads(out)["id"][:8]
    code, _, err = run_cli("--as", "sam.okafor", "delegations", "confirm", ident)
    assert code == 2 and "Only the delegation's owner, Priya Nair (@priya.nair), can confirm" in err
    assert run_cli("--as", "priya.nair", "delegations", "confirm", ident, "--note", "fine")[0] == 0
    code, out, _ = run_cli("delegations", "review", ident)
    assert code == 0 and "added by priya.nair" in out and "confirmed by priya.nair: fine" in out
    assert run_cli("--as", "priya.nair", "delegations", "revoke", ident)[0] == 0
    code, out, _ = run_cli("delegations", "--all")
    assert code == 0 and "revoked" in out


def test_severity_accuracy_is_a_metric_of_sitrep_metrics(run_cli):
    assert run_cli("--as", "sam", "declare", "A", "-s", "SEV2", "--affected-pct", "42", "--journey", "checkout",
                   "--error-rate", "23", "--severity-reason", "fallback works")[0] == 0  # fmt: skip
    assert run_cli("--as", "sam", "severity", "1", "SEV1")[0] == 0  # to the proposal: no reason asked
    assert run_cli("--as", "sam", "declare", "B", "-s", "SEV3")[0] == 0
    code, out, _ = run_cli("metrics", "--metric", "severity_accuracy")
    assert code == 0 and "Time to resolve" not in out
    assert "Severity accuracy (SevAcc), 2 incident(s): final = initial for 1 (50%); raised 1, lowered 0" in out
    assert "with impact recorded (1): final = proposal for 1 (100%); declared at the first proposal for 0 (0%)" in out
    code, out, _ = run_cli("metrics", "--json")
    assert json.loads(out)["severity_accuracy"]["final_matches_proposal"] == 1
    code, out, _ = run_cli("metrics", "--definitions")
    assert "severity_accuracy" in out
