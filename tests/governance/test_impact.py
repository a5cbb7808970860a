"""Severity from customer impact: the model as data, its explanation, the rule that a severity set against
the proposal says why, and bad input in words."""

from __future__ import annotations

import pytest

from models.enums import EntryKind
from services.core import Sitrep
from services.errors import ValidationError
from services.governance.impact_model import ImpactInputs, load_impact_model
from services.record.catalog import Catalog


@pytest.fixture
def model():
    return load_impact_model(Catalog())


def test_the_example_from_the_issue_reads_as_the_issue_says(model):
    proposal = model.propose(ImpactInputs.of({"affected_pct": 42, "journeys": "checkout", "error_rate_pct": 23}))
    assert proposal.severity == "SEV1"
    assert proposal.explanation == (
        "SEV1: error rate 23% ≥ 20%; 42% of users on a core journey (checkout) ≥ 5% (SEV2)"
    )


@pytest.mark.parametrize(("share", "expected"), [(0, "SEV4"), (1, "SEV3"), (5, "SEV2"), (49.9, "SEV2"), (50, "SEV1")])
def test_raising_the_affected_share_moves_the_proposal(model, share, expected):
    assert model.propose(ImpactInputs.of({"affected_pct": share})).severity == expected


def test_a_journey_that_is_not_core_weighs_less_and_says_so(model):
    p = model.propose(ImpactInputs.of({"affected_pct": 60, "journeys": ["notifications"]}))
    assert p.severity == "SEV2"
    assert "60% of users on a journey that is not core (notifications), weighing 24% ≥ 5%" in p.explanation


def test_data_exposure_revenue_and_the_regulatory_flag_each_reach_a_level(model):
    assert model.propose(ImpactInputs.of({"data_exposure": "confirmed"})).severity == "SEV1"
    assert model.propose(ImpactInputs.of({"regulatory": "yes"})).explanation == "SEV2: a regulator may have to be told"
    assert model.propose(ImpactInputs.of({"revenue_per_min": 20000})).severity == "SEV1"
    assert model.propose(ImpactInputs.of({})).severity is None


@pytest.mark.parametrize(("raw", "words"), [
    ({"affected_pct": 140}, "between 0 and 100; 140 is out of range"),
    ({"error_rate_pct": -1}, "between 0 and 100"),
    ({"affected_pct": "lots"}, "must be a number; 'lots' is not"),
    ({"data_exposure": "maybe"}, "is not one of none, suspected, confirmed"),
    ({"revenue_per_min": -5}, "zero or more"),
    ({"blast_radius": 3}, "Unknown impact input blast_radius"),
])  # fmt: skip
def test_bad_inputs_are_refused_by_name(model, raw, words):
    with pytest.raises(ValidationError, match=words):
        ImpactInputs.of(raw)


def test_a_config_folder_model_overrides_and_a_malformed_one_is_named(tmp_path):
    (tmp_path / "impact.toml").write_text('[[level]]\nseverity = "SEV2"\naffected_pct = 1\n')
    model = load_impact_model(Catalog(), tmp_path)
    assert model.propose(ImpactInputs.of({"affected_pct": 2})).severity == "SEV2"
    assert model.propose(ImpactInputs.of({"affected_pct": 0.5})).severity == "SEV4"  # the shipped fallback
    (tmp_path / "impact.toml").write_text("[[level]\nseverity = ")
    with pytest.raises(ValidationError, match=r"impact.toml cannot be read"):
        load_impact_model(Catalog(), tmp_path)
    (tmp_path / "impact.toml").write_text('[[level]]\nseverity = "SEV9"\n')
    with pytest.raises(ValidationError, match=r"impact model .*impact.toml.* Unknown severity 'SEV9'"):
        load_impact_model(Catalog(), tmp_path)
    (tmp_path / "impact.toml").write_text('[[level]]\nseverity = "SEV1"\naffected_pct = 150\n')
    with pytest.raises(ValidationError, match=r"level 1 \(SEV1\): affected_pct is a percentage"):
        load_impact_model(Catalog(), tmp_path)


def test_declaring_against_the_proposal_asks_for_a_reason_and_records_it(sitrep: Sitrep):
    impact = {"affected_pct": 42, "journeys": "checkout", "error_rate_pct": 23}
    with pytest.raises(ValidationError, match=r"Declaring SEV2 goes against .*SEV1: error rate") as err:
        sitrep.incidents.declare("Checkout failing", "SEV2", author="ana", impact=impact)
    assert err.value.field == "severity_reason"
    inc = sitrep.incidents.declare("Checkout failing", "SEV2", author="ana", impact=impact,
                                   severity_reason="Card payments still work through the fallback")  # fmt: skip
    declared, recorded = sitrep.timeline.entries(inc.id)[:2]
    assert declared.data["against_proposal"] and declared.data["proposed"] == "SEV1"
    assert declared.data["severity_reason"] == "Card payments still work through the fallback"
    assert recorded.kind == EntryKind.IMPACT_CHANGE and recorded.data["proposed"] == "SEV1"
    shown = sitrep.impact.show(inc.key)
    assert (shown.proposed_severity, shown.first_proposed_severity, shown.agrees) == ("SEV1", "SEV1", False)


def test_declaring_as_proposed_needs_no_reason_and_no_impact_changes_nothing(sitrep: Sitrep):
    inc = sitrep.incidents.declare("Checkout failing", "SEV1", author="ana", impact={"affected_pct": 55})
    assert sitrep.impact.show(inc.key).agrees
    plain = sitrep.incidents.declare("Something else", "SEV3", author="ana")
    assert sitrep.impact.show(plain.key).proposed_severity is None
    assert [e.kind for e in sitrep.timeline.entries(plain.id)] == [EntryKind.STATUS_CHANGE]


def test_impact_updated_on_an_open_incident_moves_the_proposal_and_severity_against_it_needs_a_reason(sitrep, clock):
    inc = sitrep.incidents.declare("Search slow", "SEV3", author="ana", impact={"affected_pct": 2})
    clock.advance(minutes=5)
    shown = sitrep.impact.record(inc.key, {"affected_pct": 30, "error_rate_pct": 8}, author="ana")
    assert shown.proposed_severity == "SEV2" and shown.first_proposed_severity == "SEV3"
    last = sitrep.timeline.entries(inc.id)[-1]
    assert last.kind == EntryKind.IMPACT_CHANGE
    assert "Proposed SEV2:" in last.body and "(severity is SEV3; the commander decides)" in last.body
    with pytest.raises(ValidationError, match="Setting INC-0001 to SEV1 goes against"):
        sitrep.incidents.set_severity(inc.key, "SEV1", author="ana")
    sitrep.incidents.set_severity(inc.key, "SEV2", author="ana")  # as proposed: no reason asked
    with pytest.raises(ValidationError, match="already"):
        sitrep.impact.record(inc.key, {"affected_pct": 30}, author="ana")
    with pytest.raises(ValidationError, match="between 0 and 100"):
        sitrep.impact.record(inc.key, {"affected_pct": 101}, author="ana")
