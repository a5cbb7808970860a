"""Scenarios are data: the shipped ones check out, and a broken file is named by file, line and field,
without stopping the others (or the console) from loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.exercises.scenario import (
    SHIPPED_DIR,
    ScenarioInvalid,
    load_scenarios,
    parse_scenario,
    read_scenario_file,
)
from services.exercises.workspace import build_vocabulary

SHIPPED = sorted(SHIPPED_DIR.glob("*.toml"))

BROKEN = '''id = "broken"
title = "A broken scenario"
duration_min = 30
player_roles = ["IC", "CHEF"]

[[objectives]]
id = "O1"
text = "Declare"

[start]
kind = "alert"
text = "Something breaks."

[[injects]]
id = "I1"
at = "0:00"
title = "First"
content = """
A multi-line content with key = value inside
that must not confuse the line finder.
"""
to = ["IC"]

  [[injects.expect]]
  id = "E1"
  text = "Declare"
  rule = { kind = "declared", severity = "SEV9" }

[[injects]]
id = "I2"
at = "1:75"
tittle = "Second"
content = "x"
to = ["NOBODY"]
objectives = ["O7"]

  [[injects.expect]]
  id = "E1"
  text = "Twice"
  rule = { kind = "telepathy" }
'''


@pytest.fixture
def vocab(sitrep):
    return build_vocabulary(sitrep.catalog, sitrep.comms)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_each_shipped_scenario_checks_out(path, vocab):
    scenario = read_scenario_file(path, vocab)
    assert scenario.objectives and scenario.injects and scenario.start.text
    assert all(i.content for i in scenario.injects)
    assert sum(1 for e in scenario.expectations if e.rule is not None) >= 8  # most are scored from the record
    assert all(m.questions for m in scenario.modules)


def test_the_three_worked_scenarios_and_a_vendor_regulatory_one_ship(vocab):
    shelf = load_scenarios(None, vocab)
    assert {"bad-release-cascading-failure", "ransomware-data-theft", "cloud-region-outage"} <= set(shelf.scenarios)
    kinds = {(e.rule.kind, str(e.rule.params)) for s in shelf.scenarios.values() for e in s.expectations if e.rule}
    assert any(k == "message" and "vendor_escalation" in p for k, p in kinds)
    assert any(k == "clock" for k, _ in kinds)
    assert shelf.scenarios["cloud-region-outage"].speed == 8  # 8 simulated hours in 60 minutes


def test_every_problem_names_file_line_and_field(vocab, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    with pytest.raises(ScenarioInvalid) as caught:
        parse_scenario(path, BROKEN, vocab)
    found = {(p.line, p.field): p.message for p in caught.value.problems}
    text = "\n".join(map(str, caught.value.problems))
    assert all(str(p).startswith(f"{path}:") for p in caught.value.problems)
    assert (4, "player_roles") in found and "CHEF" in found[(4, "player_roles")]
    assert (27, "injects[0].expect[0].rule") in found and "SEV9" in found[(27, "injects[0].expect[0].rule")]
    assert (31, "injects[1].at") in found
    assert (32, "injects[1].tittle") in found and "unknown field" in found[(32, "injects[1].tittle")]
    assert (29, "injects[1].title") in found  # missing: named at its table's header line
    assert (34, "injects[1].to") in found and "NOBODY" in found[(34, "injects[1].to")]
    assert (35, "injects[1].objectives") in found
    assert (40, "injects[1].expect[0].rule") in found and "telepathy" in found[(40, "injects[1].expect[0].rule")]
    assert "used twice" in text


def test_a_syntax_error_names_its_line(vocab, tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('id = "x"\ntitle = "y"\nduration_min = = 3\n')
    with pytest.raises(ScenarioInvalid) as caught:
        read_scenario_file(path, vocab)
    assert caught.value.problems[0].line == 3 and caught.value.problems[0].field == "(syntax)"


def test_a_broken_user_scenario_does_not_stop_the_others(vocab, tmp_path):
    own = tmp_path / "config" / "scenarios"
    own.mkdir(parents=True)
    (own / "broken.toml").write_text(BROKEN)
    good = (SHIPPED_DIR / "ransomware-data-theft.toml").read_text().replace(
        'id = "ransomware-data-theft"', 'id = "our-ransomware"')
    (own / "ours.toml").write_text(good)
    shelf = load_scenarios(tmp_path / "config", vocab)
    assert "our-ransomware" in shelf.scenarios and len(shelf.scenarios) == len(SHIPPED) + 1
    assert list(shelf.broken) == [str(own / "broken.toml")]


def test_cli_check_and_list(run_cli, data_dir, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BROKEN)
    code, out, _err = run_cli("exercise", "check", str(SHIPPED[0]), str(bad))
    assert code == 1
    assert f"{bad}:32: injects[1].tittle: unknown field 'tittle'" in out
    code, out, _err = run_cli("exercise", "check", *map(str, SHIPPED))
    assert code == 0 and f"{len(SHIPPED)} scenario file(s) check out" in out
    (data_dir / "config" / "scenarios").mkdir(parents=True)
    (data_dir / "config" / "scenarios" / "bad.toml").write_text(BROKEN)
    code, out, _err = run_cli("exercise", "list")
    assert code == 0 and "ransomware-data-theft" in out and "(not loaded)" in out and Path(bad).name in out
