"""Incident rules: the status lifecycle, reopening, severity, the major flag, milestones, declaring."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.enums import Milestone, Status
from models.types import iso
from services.errors import InvalidTransition, NotFound, ValidationError

D, INV, IDE, MIT, RES, CLO = (
    Status.DECLARED,
    Status.INVESTIGATING,
    Status.IDENTIFIED,
    Status.MITIGATED,
    Status.RESOLVED,
    Status.CLOSED,
)

# The lifecycle as the domain states it, written out here rather than read from the code under test.
# Forward moves, and back among the open states when a fix does not hold; Resolved only closes.
EXPECTED_MOVES = {
    D: {INV, IDE, MIT, RES},
    INV: {IDE, MIT, RES},
    IDE: {INV, MIT, RES},
    MIT: {INV, IDE, RES},
    RES: {CLO},
    CLO: set(),
}
# Leaving Resolved or Closed is a reopen: only back to Investigating or Identified, and only with a reason.
REOPENS = {(RES, INV), (RES, IDE), (CLO, INV), (CLO, IDE)}
PATH_TO = {D: [], INV: [INV], IDE: [IDE], MIT: [MIT], RES: [RES], CLO: [RES, CLO]}


def declared(sitrep, clock, severity: str = "SEV2", **kw):
    inc = sitrep.incidents.declare("Checkout down", severity, author="ana", **kw)
    clock.advance(minutes=1)
    return inc


def reach(sitrep, clock, status: Status):
    inc = declared(sitrep, clock)
    for step in PATH_TO[status]:
        sitrep.incidents.set_status(inc.id, step, author="ana")
        clock.advance(minutes=1)
    return inc


def test_every_status_pair_is_allowed_or_refused_as_the_lifecycle_says(sitrep, clock):
    wrong = []
    for current in Status:
        for target in Status:
            inc = reach(sitrep, clock, current)
            entries = sitrep.timeline.count(inc.id)
            try:
                after = sitrep.incidents.set_status(inc.id, target, author="ana")
            except InvalidTransition as err:
                if target in EXPECTED_MOVES[current]:
                    wrong.append(f"{current} -> {target} refused: {err}")
                if (
                    sitrep.incidents.get(inc.id).status is not current
                    or sitrep.timeline.count(inc.id) != entries
                ):
                    wrong.append(f"{current} -> {target} refused but changed something")
                if target == current:
                    expected_words = f"already {current.label}"
                elif (current, target) in REOPENS:
                    expected_words = "needs a reason"
                else:
                    expected_words = f"from {current.label} to {target.label}"
                if expected_words not in str(err):
                    wrong.append(f"{current} -> {target} message lacks {expected_words!r}: {err}")
            else:
                if target not in EXPECTED_MOVES[current]:
                    wrong.append(f"{current} -> {target} allowed")
                last = sitrep.timeline.entries(inc.id)[-1]
                if (after.status, last.kind, last.data["from"], last.data["to"]) != (
                    target,
                    "status_change",
                    current.value,
                    target.value,
                ):
                    wrong.append(f"{current} -> {target} recorded {last}")
    assert wrong == []


def test_status_changes_stamp_their_milestone_once(sitrep, clock):
    inc = declared(sitrep, clock)
    t_mit = clock()
    sitrep.incidents.set_status(inc.id, "mitigated", author="ana")
    clock.advance(minutes=5)
    sitrep.incidents.set_status(inc.id, "investigating", author="ana")  # the fix did not hold
    assert sitrep.incidents.get(inc.id).milestone(Milestone.MITIGATED) == t_mit, (
        "going back keeps the first time"
    )
    clock.advance(minutes=5)
    sitrep.incidents.set_status(inc.id, "mitigated", author="ana")
    assert sitrep.incidents.get(inc.id).milestone(Milestone.MITIGATED) == t_mit
    last = sitrep.timeline.entries(inc.id)[-1]
    assert "milestones" not in last.data
    t_res = clock()
    sitrep.incidents.set_status(inc.id, "resolved", author="ana")
    clock.advance(minutes=5)
    t_clo = clock()
    sitrep.incidents.set_status(inc.id, "closed", author="ana")
    view = sitrep.incidents.get(inc.id)
    assert (view.milestone(Milestone.RESOLVED), view.milestone(Milestone.CLOSED)) == (t_res, t_clo)


def test_a_backdated_status_change_is_dated_when_it_happened(sitrep, clock):
    inc = declared(sitrep, clock)
    clock.advance(minutes=30)
    at = clock() - timedelta(minutes=10)
    sitrep.incidents.set_status(inc.id, "mitigated", author="ana", at=at)
    entry = sitrep.timeline.entries(inc.id)[-1]
    assert (entry.occurred_at, entry.recorded_at) == (at, clock())
    assert sitrep.incidents.get(inc.id).milestone(Milestone.MITIGATED) == at
    with pytest.raises(ValidationError, match="future"):
        sitrep.incidents.set_status(inc.id, "resolved", author="ana", at=clock() + timedelta(minutes=1))


def test_a_status_change_cannot_break_the_milestone_order(sitrep, clock):
    inc = declared(sitrep, clock, impact_started_at=clock() - timedelta(minutes=30))
    with pytest.raises(InvalidTransition, match="'Mitigated' .* cannot come before 'Impact started'"):
        sitrep.incidents.set_status(inc.id, "mitigated", author="ana", at=clock() - timedelta(hours=1))
    assert sitrep.incidents.get(inc.id).status is D


# -- reopening -------------------------------------------------------------------------------
def test_reopening_needs_a_reason_and_clears_the_closing_milestones(sitrep, clock):
    inc = reach(sitrep, clock, RES)
    resolved_at = sitrep.incidents.get(inc.id).milestone(Milestone.RESOLVED)
    with pytest.raises(
        InvalidTransition, match=r"Reopening INC-0001 \(Resolved → Investigating\) needs a reason"
    ) as err:
        sitrep.incidents.set_status(inc.id, "investigating", author="ana", reason="   ")
    assert err.value.field == "reason"

    view = sitrep.incidents.set_status(inc.id, "investigating", author="ana", reason="errors are back")
    assert view.status is INV and view.milestone(Milestone.RESOLVED) is None
    entry = sitrep.timeline.entries(inc.id)[-1]
    assert entry.body == "Status reopened: Resolved → Investigating. Reason: errors are back"
    assert entry.data == {
        "from": "resolved",
        "to": "investigating",
        "reason": "errors are back",
        "cleared_milestones": {"resolved": iso(resolved_at)},
        "action": "reopened",
    }
    clock.advance(minutes=10)
    again = sitrep.incidents.set_status(inc.id, "resolved", author="ana")
    assert again.milestone(Milestone.RESOLVED) == clock(), "resolving again stamps the new time"


def test_reopening_a_closed_incident_clears_resolved_and_closed(sitrep, clock):
    inc = reach(sitrep, clock, CLO)
    view = sitrep.incidents.set_status(inc.id, "identified", author="ana", reason="same fault, new region")
    assert view.status is IDE
    assert view.milestone(Milestone.RESOLVED) is None and view.milestone(Milestone.CLOSED) is None
    assert set(sitrep.timeline.entries(inc.id)[-1].data["cleared_milestones"]) == {"resolved", "closed"}


@pytest.mark.parametrize(("start", "target"), [(RES, MIT), (RES, D), (CLO, RES), (CLO, MIT)])
def test_only_investigating_or_identified_reopen_even_with_a_reason(sitrep, clock, start, target):
    inc = reach(sitrep, clock, start)
    with pytest.raises(InvalidTransition) as err:
        sitrep.incidents.set_status(inc.id, target, author="ana", reason="errors are back")
    message = str(err.value)
    assert f"cannot go from {start.label} to {target.label}" in message
    assert "Investigating, Identified (reopening needs a reason)" in message


# -- severity and the major flag ---------------------------------------------------------------
def test_lowering_the_severity_needs_a_reason_raising_does_not(sitrep, clock):
    inc = declared(sitrep, clock, "SEV1")
    with pytest.raises(ValidationError, match="Lowering INC-0001 from SEV1 to SEV3 needs a reason") as err:
        sitrep.incidents.set_severity(inc.id, "SEV3", author="ana")
    assert err.value.field == "reason"
    assert sitrep.incidents.get(inc.id).severity == "SEV1" and sitrep.timeline.count(inc.id) == 1

    sitrep.incidents.set_severity(inc.id, "3", author="ana", reason="only EU affected")
    lowered = sitrep.timeline.entries(inc.id)[-1]
    assert lowered.body == "Severity lowered: SEV1 → SEV3 (Minor). Reason: only EU affected"
    assert lowered.data == {"from": "SEV1", "to": "SEV3", "reason": "only EU affected"}

    view = sitrep.incidents.set_severity(inc.id, "sev2", author="ana")
    assert view.severity == "SEV2"
    assert sitrep.timeline.entries(inc.id)[-1].body == "Severity raised: SEV3 → SEV2 (Major)"


def test_severity_refusals(sitrep, clock):
    inc = declared(sitrep, clock, "SEV2")
    with pytest.raises(InvalidTransition, match="already SEV2"):
        sitrep.incidents.set_severity(inc.id, "SEV2", author="ana")
    with pytest.raises(
        ValidationError, match="Unknown severity 'SEV9'. Choose one of SEV1, SEV2, SEV3, SEV4, SEV5"
    ):
        sitrep.incidents.set_severity(inc.id, "SEV9", author="ana")
    sitrep.incidents.set_status(inc.id, "resolved", author="ana")
    with pytest.raises(InvalidTransition, match="reopen it to change its severity"):
        sitrep.incidents.set_severity(inc.id, "SEV1", author="ana")


def test_major_declaration_and_de_escalation(sitrep, clock):
    inc = declared(sitrep, clock, "SEV3")
    assert not inc.is_major, "SEV3 is not major by the matrix"
    sitrep.incidents.set_major(inc.id, True, author="ana")
    assert sitrep.timeline.entries(inc.id)[-1].body == "Declared a major incident"
    with pytest.raises(InvalidTransition, match="already a major incident"):
        sitrep.incidents.set_major(inc.id, True, author="ana")
    with pytest.raises(ValidationError, match="De-escalating a major incident needs a reason"):
        sitrep.incidents.set_major(inc.id, False, author="ana", reason=" ")
    assert sitrep.incidents.get(inc.id).is_major
    view = sitrep.incidents.set_major(inc.id, False, author="ana", reason="one tenant only")
    assert not view.is_major
    entry = sitrep.timeline.entries(inc.id)[-1]
    assert (entry.kind, entry.body) == (
        "major_change",
        "De-escalated: no longer a major incident. Reason: one tenant only",
    )
    assert entry.data == {"major": False, "reason": "one tenant only"}
    with pytest.raises(InvalidTransition, match="not a major incident"):
        sitrep.incidents.set_major(inc.id, False, author="ana", reason="again")


def test_the_matrix_decides_major_unless_the_commander_does(sitrep, clock):
    assert declared(sitrep, clock, "SEV1").is_major
    assert not declared(sitrep, clock, "SEV1", is_major=False).is_major
    assert declared(sitrep, clock, "SEV4", is_major=True).is_major


# -- milestones ------------------------------------------------------------------------------
def test_milestones_out_of_order_are_refused_with_the_rule(sitrep, clock):
    inc = declared(sitrep, clock)
    t_declared = inc.milestone(Milestone.DECLARED)
    with pytest.raises(ValidationError) as err:
        sitrep.incidents.set_milestone(inc.id, "detected", t_declared + timedelta(seconds=30), author="ana")
    assert str(err.value) == (
        f"'Declared' ({iso(t_declared)}) cannot come before 'Detected' ({iso(t_declared + timedelta(seconds=30))}): "
        "detected must happen first."
    )
    assert err.value.field == "detected"

    sitrep.incidents.set_milestone(inc.id, "mitigated", clock(), author="ana")
    with pytest.raises(
        ValidationError, match="'Resolved' .* cannot come before 'Mitigated'.*mitigated must happen first"
    ):
        sitrep.incidents.set_milestone(inc.id, "resolved", clock() - timedelta(seconds=1), author="ana")
    with pytest.raises(ValidationError, match="'IC assigned' .* cannot come before 'Declared'"):
        sitrep.incidents.set_milestone(inc.id, "IC assigned", t_declared - timedelta(minutes=1), author="ana")
    assert sitrep.incidents.get(inc.id).milestone(Milestone.RESOLVED) is None


def test_milestone_edits_are_recorded(sitrep, clock):
    inc = declared(sitrep, clock)
    t1 = clock()
    sitrep.incidents.set_milestone(inc.id, "acknowledged", t1, author="ana")
    t2 = t1 - timedelta(seconds=20)
    sitrep.incidents.set_milestone(inc.id, "acknowledged", t2, author="ana", reason="pager log says earlier")
    sitrep.incidents.set_milestone(inc.id, "acknowledged", None, author="ana")
    set_, moved, cleared = sitrep.timeline.entries(inc.id)[-3:]
    assert set_.body == f"Milestone set: Acknowledged at {iso(t1)}"
    assert (
        moved.body
        == f"Milestone moved: Acknowledged from {iso(t1)} to {iso(t2)}. Reason: pager log says earlier"
    )
    assert cleared.body == f"Milestone cleared: Acknowledged (was {iso(t2)})"
    assert moved.data == {
        "milestone": "acknowledged",
        "from": iso(t1),
        "to": iso(t2),
        "reason": "pager log says earlier",
    }
    assert {e.kind for e in (set_, moved, cleared)} == {"milestone_change"}


def test_milestone_refusals(sitrep, clock):
    inc = declared(sitrep, clock)
    with pytest.raises(ValidationError, match="'Bridge opened' cannot be in the future"):
        sitrep.incidents.set_milestone(inc.id, "bridge_opened", clock() + timedelta(minutes=1), author="ana")
    with pytest.raises(ValidationError, match="declaration time cannot be cleared"):
        sitrep.incidents.set_milestone(inc.id, "declared", None, author="ana")
    with pytest.raises(ValidationError, match="'Acknowledged' is already unset"):
        sitrep.incidents.set_milestone(inc.id, "acknowledged", None, author="ana")
    with pytest.raises(
        ValidationError, match="Unknown milestone 'lunch'. Use one of: impact_started, detected"
    ):
        sitrep.incidents.set_milestone(inc.id, "lunch", clock(), author="ana")
    assert sitrep.timeline.count(inc.id) == 1


# -- declaring and details -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"title": "  "}, "title", "needs a title"),
        ({"title": "x" * 301}, "title", "under 300 characters"),
        ({"severity": "P1"}, "severity", "Unknown severity 'P1'"),
        ({"incident_type": "gremlins"}, "incident_type", "Unknown incident type 'gremlins'"),
        ({"affected_users": -1}, "affected_users", "zero or more"),
        ({"error_rate_pct": 120.0}, "error_rate_pct", "between 0 and 100"),
        ({"declared_in": 5}, "declared", "cannot be in the future"),
        ({"impact_after_detection": True}, "milestones", "impact started must happen first"),
    ],
)
def test_declaring_validates_what_it_is_given(sitrep, clock, kwargs, field, words):
    args = {"title": "Checkout down", "severity": "SEV2"}
    args.update({k: v for k, v in kwargs.items() if k in ("title", "severity")})
    extra = {
        k: v
        for k, v in kwargs.items()
        if k not in ("title", "severity", "declared_in", "impact_after_detection")
    }
    if "declared_in" in kwargs:
        extra["declared_at"] = clock() + timedelta(minutes=kwargs["declared_in"])
    if "impact_after_detection" in kwargs:
        extra["impact_started_at"] = clock() - timedelta(minutes=1)
        extra["detected_at"] = clock() - timedelta(minutes=5)
    with pytest.raises(ValidationError, match=words) as err:
        sitrep.incidents.declare(args["title"], args["severity"], author="ana", **extra)
    assert err.value.field == field
    assert sitrep.incidents.list() == []


def test_declaring_numbers_incidents_and_records_the_declaration(sitrep, clock):
    first = declared(sitrep, clock, "SEV3", services=["search", " search ", "", "auth"], summary="  slow  ")
    second = declared(sitrep, clock, "SEV4")
    assert (first.key, first.number, second.key) == ("INC-0001", 1, "INC-0002")
    assert first.services == ("search", "auth") and first.summary == "slow"
    assert [i.key for i in sitrep.incidents.list()] == ["INC-0002", "INC-0001"], "most recent first"
    for ref in (first.id, "INC-0001", "inc-0001", "1", " 1 "):
        assert sitrep.incidents.get(ref).id == first.id
    with pytest.raises(NotFound, match="No incident 'INC-0099'"):
        sitrep.incidents.get("INC-0099")


def test_listing_filters(sitrep, clock):
    a = declared(sitrep, clock, "SEV1", services=["checkout"])
    b = declared(sitrep, clock, "SEV3", services=["search"])
    sitrep.incidents.set_status(a.id, "resolved", author="ana")
    assert [i.key for i in sitrep.incidents.list()] == [b.key, a.key], "open ones first"
    assert [i.key for i in sitrep.incidents.list(open_only=True)] == [b.key]
    assert [i.key for i in sitrep.incidents.list(severities=["1"])] == [a.key]
    assert [i.key for i in sitrep.incidents.list(service="Search")] == [b.key]
    assert [i.key for i in sitrep.incidents.list(statuses=[Status.RESOLVED])] == [a.key]


def test_details_changes_are_recorded_and_an_empty_change_is_refused(sitrep, clock):
    inc = declared(sitrep, clock)
    view = sitrep.incidents.update_details(inc.id, author="ana", affected_users=1200, error_rate_pct=12.5)
    assert (view.affected_users, view.error_rate_pct) == (1200, 12.5)
    entry = sitrep.timeline.entries(inc.id)[-1]
    assert entry.kind == "impact_change"
    assert entry.body == "Details updated: affected users → 1200; error rate pct → 12.5"
    assert entry.data == {
        "changes": {
            "affected_users": {"from": None, "to": 1200},
            "error_rate_pct": {"from": None, "to": 12.5},
        }
    }
    with pytest.raises(ValidationError, match="Nothing changed"):
        sitrep.incidents.update_details(inc.id, author="ana", affected_users=1200)
    with pytest.raises(ValidationError, match="title cannot be empty"):
        sitrep.incidents.update_details(inc.id, author="ana", title=" ")
    sitrep.incidents.update_details(inc.id, author="ana", services=["checkout", "payments"])
    assert sitrep.incidents.get(inc.id).services == ("checkout", "payments")


def test_an_author_is_required(sitrep, clock):
    with pytest.raises(ValidationError, match="who is writing") as err:
        sitrep.incidents.declare("Checkout down", "SEV2", author="  ")
    assert err.value.field == "author"
