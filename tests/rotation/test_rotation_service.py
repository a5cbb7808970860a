"""Rotation and fatigue from the role record, on a fake clock and a real SQLite store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.errors import ImportFailure, NotFound, ValidationError
from services.rotation.goals import cast_exercise, goal_gaps
from services.rotation.hours import WorkingHours
from services.rotation.rules import load_rules

from .conftest import MONDAY_10


def test_working_hours_read_the_way_people_write_them():
    wh = WorkingHours.parse("mon-fri  08:30 - 17:00")
    assert wh.days == frozenset(range(5)) and wh.text == "mon-fri 08:30 - 17:00"
    assert WorkingHours.parse("Fri-Mon 22:00-06:00").days == frozenset({4, 5, 6, 0})
    assert WorkingHours.parse("22:00-06:00").overnight


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("9 to 5", "Cannot read working hours '9 to 5'"),
        ("Mon-Fry 09:00-17:00", "'fry' is not a day"),
        ("25:00-17:00", "'25:00' is not a time of day"),
        ("09:00-09:00", "start and end at the same time"),
        ("", "Cannot read working hours"),
    ],
)
def test_malformed_working_hours_are_refused_with_what_is_wrong(sitrep, text, says):
    sitrep.people.add("Ana Ruiz", "ana", timezone="Europe/Madrid")
    with pytest.raises(ValidationError) as err:
        WorkingHours.parse(text)
    assert says in err.value.message and "Mon-Fri 09:00-17:30" in err.value.message
    if text:
        with pytest.raises(ValidationError, match="working hours|time of day|day"):
            sitrep.rotation.set_profile("ana", working_hours=text)
    assert sitrep.people.get("ana").working_hours is None  # nothing half-written


def test_unknown_time_zone_and_role_are_refused_by_name(sitrep):
    with pytest.raises(ValidationError, match="Unknown time zone 'Mars/Olympus'"):
        sitrep.people.add("Cas", "cas", timezone="Mars/Olympus")
    sitrep.people.add("Ana Ruiz", "ana", timezone="Europe/Madrid")
    with pytest.raises(NotFound, match="Unknown role 'BOSS'. Choose one of IC"):
        sitrep.rotation.set_profile("ana", trained_roles=["IC", "BOSS"])
    assert sitrep.people.get("ana").trained_roles == ()


def test_a_broken_rules_file_names_itself_and_the_setting(tmp_path):
    (tmp_path / "rotation.toml").write_text('[limit_hours]\nIC = "four"\n')
    with pytest.raises(ValidationError, match=r"rotation.toml: limit_hours.IC must be a number of hours"):
        load_rules(tmp_path, ("IC", "COMMS"))
    (tmp_path / "rotation.toml").write_text('night = "late"\n')
    with pytest.raises(ValidationError, match=r"rotation.toml: Cannot read working hours 'late'"):
        load_rules(tmp_path, ("IC", "COMMS"))


def test_report_hours_night_hours_longest_stretch_and_key_people(sitrep, team):
    rep = sitrep.rotation.report(MONDAY_10 - timedelta(days=7))
    by = {p.person.handle: p for p in rep.people}
    bob = by["bob"]
    # 02:00-04:00 and 05:00-10:00 UTC: 7 h, all of it in New York's night (22:00-06:00, daylight time: UTC-4).
    assert bob.hours == pytest.approx(7.0) and bob.night_hours == pytest.approx(7.0)
    kofi = by["kofi"]  # 04:30-10:00 UTC is 04:30-10:00 in Accra: 1 h 30 min of night
    assert kofi.hours == pytest.approx(5.5) and kofi.night_hours == pytest.approx(1.5)
    # An hour's break is no rest: one stretch from 02:00 to now.
    assert bob.longest.length == timedelta(hours=8) and bob.longest.incidents == (team["C"], team["A"])
    assert by["ana"].hours == pytest.approx(6.0) and by["ana"].night_hours == 0
    assert [(k.role, k.person.handle, k.incidents, k.of) for k in rep.key_people] == [("IC", "ana", 3, 6)]
    doc = json.loads(json.dumps(rep.as_dict()))
    assert doc["people"][0]["handle"] == "bob" and doc["people"][0]["longest_stretch_hours"] == 8.0


def test_a_commander_past_the_limit_is_flagged_with_a_daytime_relief(sitrep, team):
    [warning] = sitrep.rotation.fatigue(team["A"])
    assert (warning.person.handle, warning.role) == ("bob", "IC")
    assert warning.on_duty.length == timedelta(hours=8) and warning.limit == timedelta(hours=4)
    assert not warning.day.working and f"{warning.day.local:%H:%M}" == "06:00"  # in New York
    cands = sitrep.rotation.candidates(team["A"], "IC")
    # Ana: trained, 11:00 in Madrid, free. Hana: trained but 19:00 in Tokyo. Kofi: busy on INC B.
    # Tom: not trained for command. Bob holds it.
    assert [(c.person.handle, c.free_now) for c in cands] == [("ana", True), ("hana", False)]
    assert "11:00 their time, 6 h 00 min of their day left" in cands[0].why(sitrep.rotation.role_names(), MONDAY_10)
    # Kofi's own stretch (5 h 30 min) is past the limit too, on his incident.
    assert [f.person.handle for f in sitrep.rotation.fatigue(team["B"])] == ["kofi"]


def test_nobody_is_flagged_before_the_limit(sitrep, team, clock):
    clock.value = MONDAY_10 - timedelta(hours=4, minutes=10)  # Bob: 02:00-04:00, then 05:00-05:50
    assert sitrep.rotation.fatigue(team["A"]) == []


def test_handover_plan_and_day_end_reminders(sitrep, team, clock):
    plan = sitrep.rotation.handover_plan(team["A"])
    assert plan.handover_at == MONDAY_10  # Bob's day is not on: hand over now
    assert plan.handover_to.person.handle == "ana"
    assert ("bob", "IC", False) in [(p.handle, r, w) for p, r, _, w in plan.reminders]
    spans = sitrep.rotation.day_spans(plan.days[0].person, MONDAY_10, MONDAY_10 + timedelta(hours=24))
    assert {k for _, _, k in spans} == {"work", "off", "night"}
    assert spans[0][0] == MONDAY_10 and spans[-1][1] == MONDAY_10 + timedelta(hours=24)

    brief = {"status": "s", "hypotheses": "h", "last_update": "u", "next_actions": "n"}
    sitrep.roles.hand_over(team["A"], "IC", "ana", brief, author="bob")
    clock.value = MONDAY_10 + timedelta(hours=5, minutes=30)  # 16:30 in Madrid: her day ends at 17:00
    rows = [(p.handle, role, key, ends, working) for p, role, key, ends, working in sitrep.rotation.day_ending()]
    assert ("ana", "IC", team["A"], MONDAY_10 + timedelta(hours=6), True) in rows
    plan = sitrep.rotation.handover_plan(team["A"])
    assert plan.handover_at > clock() and plan.handover_at < MONDAY_10 + timedelta(hours=6)


def test_goals_and_a_casting_for_the_next_exercise(sitrep, team):
    gaps = {(g.role, g.person.handle, g.trained) for g in goal_gaps(sitrep.rotation, MONDAY_10)}
    assert {(r, h) for r, h, _ in gaps if r == "IC"} == {("IC", "hana"), ("IC", "tom")}
    assert ("COMMS", "ana", True) in gaps and len([g for g in gaps if g[0] == "COMMS"]) == 5
    cast = cast_exercise(sitrep.rotation, ["IC", "COMMS", "SCRIBE"], MONDAY_10)
    assert [(c.role, c.person.handle) for c in cast] == [("IC", "hana"), ("COMMS", "ana"), ("SCRIBE", "tom")]
    assert "has not held Incident Commander" in cast[0].why and "trained" in cast[0].why


def test_working_hours_and_training_travel_in_an_export(sitrep, team, tmp_path, clock):
    from services.core import Sitrep

    doc = sitrep.exchange.export()
    assert doc["schema_version"] == 5
    ana = next(p for p in doc["people"] if p["handle"] == "ana")
    assert ana["working_hours"] == "Mon-Fri 09:00-17:00" and ana["trained_roles"] == ["IC", "COMMS"]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc, default=str))
    other = Sitrep.open(f"sqlite:///{tmp_path / 'other.db'}", now=clock)
    try:
        other.exchange.import_file(path)
        assert other.people.get("ana").trained_roles == ("IC", "COMMS")
        bad = dict(doc, people=[dict(ana, handle="ana2", id="x" * 36, working_hours="whenever")])
        bad["incidents"] = []
        path.write_text(json.dumps(bad, default=str))
        with pytest.raises(ImportFailure, match="working_hours' is not valid: Cannot read working hours 'whenever'"):
            other.exchange.import_file(path)
    finally:
        other.close()


def test_cli_report_profile_and_fatigue(team, run_cli):
    code, out, err = run_cli("rotation", "report", "--since", "2026-03-09", "--until", "2026-03-16 10:00", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["key_people"][0]["handle"] == "ana" and {p["handle"] for p in doc["people"]} == {"ana", "bob", "kofi"}
    code, out, err = run_cli("rotation", "profile", "tom", "--hours", "Mon-Fri 9am-5pm")
    assert code != 0 and "Cannot read working hours 'Mon-Fri 9am-5pm'" in err and "Traceback" not in err
    code, out, err = run_cli("rotation", "profile", "tom", "--hours", "Sun-Thu 07:00-15:00", "--trained", "scribe,ic")
    assert code == 0 and "trained for IC, SCRIBE" in out
