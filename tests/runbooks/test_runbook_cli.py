"""`sitrep runbook`: check names lines and exits 1; a drill started and stepped headless shows in stats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("ansible_runner")


def test_check_names_the_line_and_fails(run_cli, tmp_path: Path):
    code, out, _ = run_cli("runbook", "check", "resources/runbooks/deploy-rollback.md")
    assert code == 0 and "no problems" in out
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: x\n---\n## 1. a\nkind: acton\n")
    code, out, _ = run_cli("runbook", "check", str(bad))
    assert code == 1 and f"{bad}:5: step 1: kind 'acton'" in out


def test_a_headless_drill_is_counted_and_flags_clear(run_cli):
    code, out, _ = run_cli("--as", "ines", "runbook", "drill", "deploy-rollback", "--target", "staging", "--json")
    run = json.loads(out)["run"]
    code, out, err = run_cli("--as", "ines", "runbook", "step", run, "3", "--confirm", "staging")
    assert code != 0 and "has not passed" in err
    assert run_cli("--as", "ines", "runbook", "step", run, "2")[0] == 0
    code, out, _ = run_cli("--as", "ines", "runbook", "step", run, "3", "--dry-run")
    assert code == 0 and "+release 41" in out
    code, out, _ = run_cli("--as", "ines", "runbook", "step", run, "3", "--confirm", "staging")
    assert code == 0 and "PLAY RECAP" in out
    code, out, _ = run_cli("runbook", "stats", "--json")
    rollback = next(r for r in json.loads(out) if r["runbook"] == "deploy-rollback")
    assert rollback["drills"] == 1 and rollback["incident_uses"] == 0
    assert "never drilled" not in rollback["flags"]
    code, out, _ = run_cli("runbook", "list")
    assert "deploy-rollback" in out and "cache-flush" in out
