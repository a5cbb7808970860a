"""IncidentView, written out by hand for the first paint (services/record/rows.py), is the frozen value the
dataclass was: the same construction, comparison, immutability and printing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.cli_output import plain
from models.enums import Milestone, Status
from services.record.rows import IncidentView
from services.record.views import IncidentView as ViewsIncidentView

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def view(**changes) -> IncidentView:
    fields = dict(id="i1", key="INC-00001", number=1, title="Checkout 502s", summary="", incident_type="outage",
                  severity="SEV1", status=Status.INVESTIGATING, is_major=True, is_exercise=False, services=("checkout",),
                  affected_users=None, error_rate_pct=12.5, source="local", created_at=T0, updated_at=T0)  # fmt: skip
    fields.update(changes)
    return IncidentView(**fields)


def test_the_views_module_hands_out_the_same_class():
    assert ViewsIncidentView is IncidentView


def test_made_by_keyword_or_position_with_the_same_defaults():
    by_keyword = view()
    by_position = IncidentView(*by_keyword._astuple()[:16])
    assert by_position == by_keyword
    assert by_keyword.milestones == {} and by_keyword.flagged_pairs == ()
    assert by_keyword.milestones is not view().milestones  # a dict of its own, not one shared by every view
    with pytest.raises(TypeError):
        IncidentView("i1", "INC-00001")  # fields left out are an error, as with the dataclass


def test_compared_field_by_field_and_only_with_its_own_kind():
    assert view() == view()
    assert view() != view(title="Checkout 503s")
    assert view(milestones={Milestone.DETECTED: T0}) != view()
    assert view() != tuple(view()._astuple())
    assert view().__eq__("INC-00001") is NotImplemented


def test_immutable_and_unhashable_while_it_holds_a_dict():
    v = view()
    with pytest.raises(AttributeError, match="immutable"):
        v.title = "changed"
    with pytest.raises(AttributeError, match="immutable"):
        del v.title
    with pytest.raises(TypeError):
        hash(v)
    assert v.title == "Checkout 502s"


def test_printed_and_turned_to_json_with_every_field_in_order():
    v = view(milestones={Milestone.DETECTED: T0}, flagged_pairs=(("detected", "started"),))
    text = repr(v)
    assert text.startswith("IncidentView(id='i1', key='INC-00001', number=1,") and text.endswith(
        "flagged_pairs=(('detected', 'started'),))"
    )
    out = json.loads(json.dumps(plain(v)))
    assert list(out) == list(IncidentView.__slots__)
    assert out["status"] == "investigating" and out["services"] == ["checkout"]
    assert out["milestones"] == {Milestone.DETECTED.value: plain(T0)}
    assert v.is_open and v.milestone(Milestone.DETECTED) == T0 and v.milestone(Milestone.RESOLVED) is None
