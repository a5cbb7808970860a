"""Incident roles (assign, hand over with a brief, release, checklist) and the responder directory."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.enums import Milestone
from services.errors import InvalidTransition, NotFound, ValidationError
from services.record.roles import HANDOVER_FIELDS

FULL_BRIEF = {
    "status": "Rollback running; errors at 40%",
    "hypotheses": "In: the 08:50 deploy. Out: the card network",
    "last_update": "Status page at 09:10, next promised 09:30",
    "next_actions": "Watch errors after rollback (Ben)",
}


@pytest.fixture
def incident(sitrep, clock):
    sitrep.people.add("Ana Ruiz", "ana", email="ana@example.com", timezone="Europe/Madrid")
    sitrep.people.add("Ben Okafor", "ben")
    sitrep.people.add("Chen Wei", "chen")
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    clock.advance(minutes=2)
    return inc


def test_assigning_a_held_role_names_the_holder(sitrep, incident):
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    with pytest.raises(InvalidTransition) as err:
        sitrep.roles.assign(incident.key, "IC", "ben", author="ben")
    assert str(err.value) == (
        "Ana Ruiz holds Incident Commander on INC-0001. Hand it over (with a brief) or release it first."
    )
    with pytest.raises(InvalidTransition, match="Ana Ruiz already holds Incident Commander"):
        sitrep.roles.assign(incident.key, "IC", "@ana", author="ana")
    assert [h.person.handle for h in sitrep.roles.holders(incident.key)] == ["ana"]


def test_one_person_may_hold_several_roles_and_holders_come_in_catalog_order(sitrep, incident):
    sitrep.roles.assign(incident.key, "scribe", "ben", author="ana")
    sitrep.roles.assign(incident.key, "Communications Lead", "ben", author="ana")
    sitrep.roles.assign(incident.key, "ic", "ana", author="ana")
    assert [(h.role, h.person.handle) for h in sitrep.roles.holders(incident.key)] == [
        ("IC", "ana"),
        ("COMMS", "ben"),
        ("SCRIBE", "ben"),
    ]


def test_the_first_commander_stamps_ic_assigned_once(sitrep, incident, clock):
    first = clock()
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    clock.advance(minutes=5)
    sitrep.roles.release(incident.key, "IC", author="ana", reason="shift over")
    clock.advance(minutes=1)
    sitrep.roles.assign(incident.key, "IC", "ben", author="ben")
    assert sitrep.incidents.get(incident.key).milestone(Milestone.IC_ASSIGNED) == first
    assert "milestones" not in sitrep.timeline.entries(incident.id)[-1].data


@pytest.mark.parametrize("missing", sorted(HANDOVER_FIELDS))
@pytest.mark.parametrize("how", ["absent", "blank", "none"])
def test_a_handover_brief_missing_a_field_is_refused_naming_it(sitrep, incident, missing, how):
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    brief = dict(FULL_BRIEF)
    if how == "absent":
        del brief[missing]
    else:
        brief[missing] = "   " if how == "blank" else None
    entries = sitrep.timeline.count(incident.id)
    with pytest.raises(ValidationError) as err:
        sitrep.roles.hand_over(incident.key, "IC", "ben", brief, author="ana")
    assert str(err.value) == f"The handover brief is missing: {HANDOVER_FIELDS[missing]}."
    assert err.value.field == "brief"
    assert [h.person.handle for h in sitrep.roles.holders(incident.key)] == ["ana"]
    assert sitrep.timeline.count(incident.id) == entries


def test_a_handover_names_every_missing_field(sitrep, incident):
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    with pytest.raises(ValidationError) as err:
        sitrep.roles.hand_over(incident.key, "IC", "ben", {}, author="ana")
    for label in HANDOVER_FIELDS.values():
        assert label in str(err.value)


def test_a_handover_moves_the_role_and_keeps_the_brief(sitrep, incident, clock):
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    clock.advance(minutes=10)
    holding = sitrep.roles.hand_over(incident.key, "IC", "ben", {**FULL_BRIEF, "extra": "x"}, author="ana")
    assert holding.person.handle == "ben" and holding.started_at == clock()
    assert holding.handover_brief == {**FULL_BRIEF, "from": "ana"}, "only the brief's fields are kept"
    ana, ben = sitrep.roles.history(incident.key)
    assert (ana.person.handle, ana.ended_at) == ("ana", clock())
    entry = sitrep.timeline.entries(incident.id)[-1]
    assert entry.body == "Incident Commander handed over from Ana Ruiz (@ana) to Ben Okafor (@ben)"
    assert entry.data["brief"] == FULL_BRIEF


def test_handover_refusals(sitrep, incident, clock):
    with pytest.raises(
        InvalidTransition, match="Nobody holds Incident Commander on INC-0001; assign it instead"
    ):
        sitrep.roles.hand_over(incident.key, "IC", "ben", FULL_BRIEF, author="ana")
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    with pytest.raises(InvalidTransition, match="Ana Ruiz already holds Incident Commander"):
        sitrep.roles.hand_over(incident.key, "IC", "ana", FULL_BRIEF, author="ana")
    with pytest.raises(ValidationError, match="before the outgoing holder took the role"):
        sitrep.roles.hand_over(
            incident.key, "IC", "ben", FULL_BRIEF, author="ana", at=clock() - timedelta(minutes=1)
        )
    with pytest.raises(NotFound, match="handle 'zed'"):
        sitrep.roles.hand_over(incident.key, "IC", "zed", FULL_BRIEF, author="ana")
    with pytest.raises(ValidationError, match="future"):
        sitrep.roles.hand_over(
            incident.key, "IC", "ben", FULL_BRIEF, author="ana", at=clock() + timedelta(seconds=1)
        )


def test_release(sitrep, incident, clock):
    with pytest.raises(InvalidTransition, match="Nobody holds Scribe on INC-0001"):
        sitrep.roles.release(incident.key, "SCRIBE", author="ana")
    sitrep.roles.assign(incident.key, "SCRIBE", "chen", author="ana")
    clock.advance(minutes=30)
    with pytest.raises(ValidationError, match="before the role was taken"):
        sitrep.roles.release(incident.key, "SCRIBE", author="ana", at=clock() - timedelta(hours=1))
    sitrep.roles.release(incident.key, "SCRIBE", author="ana", reason="shift over")
    assert sitrep.roles.holders(incident.key) == []
    (held,) = sitrep.roles.history(incident.key)
    assert held.ended_at == clock()
    entry = sitrep.timeline.entries(incident.id)[-1]
    assert entry.body == "Chen Wei (@chen) released from Scribe. Reason: shift over"
    assert entry.data == {"action": "released", "role": "SCRIBE", "person": "chen", "reason": "shift over"}
    assert [(key, h.role) for key, h in sitrep.roles.held_by("chen")] == [("INC-0001", "SCRIBE")]


def test_a_closed_incidents_roles_are_frozen(sitrep, incident):
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    sitrep.incidents.set_status(incident.key, "resolved", author="ana")
    sitrep.roles.assign(incident.key, "SCRIBE", "chen", author="ana")  # a resolved incident still has a crew
    sitrep.incidents.set_status(incident.key, "closed", author="ana")
    entries = sitrep.timeline.count(incident.id)
    for attempt in (
        lambda: sitrep.roles.assign(incident.key, "COMMS", "ben", author="ana"),
        lambda: sitrep.roles.hand_over(incident.key, "IC", "ben", FULL_BRIEF, author="ana"),
        lambda: sitrep.roles.release(incident.key, "IC", author="ana"),
        lambda: sitrep.roles.tick_checklist(incident.key, "IC", 0, True, author="ana"),
    ):
        with pytest.raises(InvalidTransition, match="INC-0001 is closed; its roles can no longer change"):
            attempt()
    assert sitrep.timeline.count(incident.id) == entries


def test_role_and_person_lookups(sitrep, incident, clock):
    with pytest.raises(NotFound, match="Unknown role 'Janitor'. Choose one of IC, DEPUTY, COMMS"):
        sitrep.roles.assign(incident.key, "Janitor", "ana", author="ana")
    with pytest.raises(NotFound, match="Nobody with the handle 'zed'"):
        sitrep.roles.assign(incident.key, "IC", "zed", author="ana")
    with pytest.raises(ValidationError, match="before the incident was declared"):
        sitrep.roles.assign(incident.key, "IC", "ana", author="ana", at=clock() - timedelta(hours=1))
    assert sitrep.roles.assign(incident.key, "Deputy Commander", "ben", author="ana").role == "DEPUTY"


def test_the_first_ten_minutes_checklist(sitrep, incident):
    sitrep.roles.assign(incident.key, "IC", "ana", author="ana")
    entries = sitrep.timeline.count(incident.id)
    assert sitrep.roles.tick_checklist(incident.key, "IC", 2, True, author="ana").checklist_done == (2,)
    assert sitrep.roles.tick_checklist(incident.key, "IC", 2, True, author="ana").checklist_done == (2,)
    assert sitrep.timeline.count(incident.id) == entries + 1, "ticking a ticked item records nothing"
    done = sitrep.timeline.entries(incident.id)[-1]
    assert done.kind == "action" and done.body == "IC checklist done: Open the timeline and the state summary"
    assert sitrep.roles.tick_checklist(incident.key, "IC", 2, False, author="ana").checklist_done == ()
    assert sitrep.timeline.entries(incident.id)[-1].body.startswith("IC checklist reopened:")
    with pytest.raises(ValidationError, match="has no checklist item 99"):
        sitrep.roles.tick_checklist(incident.key, "IC", 98, True, author="ana")
    with pytest.raises(InvalidTransition, match="Nobody holds Scribe"):
        sitrep.roles.tick_checklist(incident.key, "SCRIBE", 0, True, author="ana")


# -- the responder directory -------------------------------------------------------------------
@pytest.mark.parametrize("handle", ["ana", "ana.ruiz", "A-1_b", "@ana", " ana ", "x" * 80])
def test_good_handles(sitrep, handle):
    assert sitrep.people.add("Ana Ruiz", handle).handle == handle.strip().lstrip("@")


@pytest.mark.parametrize("handle", ["", "  ", "ana ruiz", ".ana", "-ana", "ana!", "ana/ruiz", "x" * 81, "@"])
def test_bad_handles(sitrep, handle):
    with pytest.raises(ValidationError, match="letters, digits, dots, dashes or underscores") as err:
        sitrep.people.add("Ana Ruiz", handle)
    assert err.value.field == "handle"
    assert sitrep.people.list() == []


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"name": " "}, "name", "needs a name"),
        ({"name": "A" * 201}, "name", "under 200 characters"),
        ({"email": "ana@"}, "email", "does not look like an e-mail address"),
        ({"email": "ana.example.com"}, "email", "e-mail"),
        ({"email": "ana ruiz@example.com"}, "email", "e-mail"),
        ({"phone": "call me maybe"}, "phone", "phone number"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone 'Mars/Olympus'"),
        ({"timezone": "Europe"}, "timezone", "Unknown time zone"),
        ({"timezone": "../../etc/passwd"}, "timezone", "Unknown time zone"),
        ({"timezone": "CET "}, None, None),
        (
            {"email": " ana@example.com ", "phone": "+34 600 000 000", "timezone": "America/New_York"},
            None,
            None,
        ),
    ],
)
def test_responder_fields_are_validated(sitrep, kwargs, field, words):
    args = {"name": "Ana Ruiz", "email": None, "phone": None, "timezone": "UTC", **kwargs}
    name = args.pop("name")
    if field is None:
        person = sitrep.people.add(name, "ana", **args)
        assert person.timezone == args["timezone"].strip()
        assert person.email in (None, "ana@example.com")
        return
    with pytest.raises(ValidationError, match=words) as err:
        sitrep.people.add(name, "ana", **args)
    assert err.value.field == field


def test_the_directory(sitrep):
    sitrep.people.add("Ben Okafor", "ben")
    sitrep.people.add("Ana Ruiz", "ana", timezone="")
    assert sitrep.people.get("@ana").timezone == "UTC"
    assert [p.handle for p in sitrep.people.list()] == ["ana", "ben"], "by name"
    with pytest.raises(ValidationError, match="The handle 'ana' is taken"):
        sitrep.people.add("Ana Two", "ana")
    with pytest.raises(ValidationError, match="The handle 'ben' is taken"):
        sitrep.people.update("ana", new_handle="ben")
    with pytest.raises(ValidationError, match="Unknown time zone"):
        sitrep.people.update("ana", timezone="Nowhere/Land")
    updated = sitrep.people.update("ana", new_handle="ana.ruiz", timezone="Europe/Madrid", phone="+34 600")
    assert (updated.handle, updated.timezone, updated.phone, updated.name) == (
        "ana.ruiz",
        "Europe/Madrid",
        "+34 600",
        "Ana Ruiz",
    )
    with pytest.raises(NotFound, match="Nobody with the handle 'ana'"):
        sitrep.people.get("ana")
