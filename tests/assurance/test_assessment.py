"""Issue 21's self-assessment "done when", headless: on a seeded store, the report names the practices the
record shows as met and as missed, with the incidents and items behind each; answers by hand carry who and
when; a stored assessment is what the next one's trend compares with."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from services.assurance.assessment import MET, MISSED, NO_EVIDENCE, UNANSWERED, AssessmentService
from services.assurance.practices import parse_practices
from services.assurance.report import assessment_html, assessment_markdown
from services.errors import ValidationError


def _by_id(result):
    return {p.id: p for p in result.practices}


def _resolve(app, ref: str) -> None:
    for status in ("investigating", "mitigated", "resolved"):
        app.incidents.set_status(ref, status, author="ana", override_reason="test: the checklist is not the subject")


@pytest.fixture
def seeded(sitrep, clock):
    """Two SEV1s: one with its commander in 3 min and a review met and published on time, one with its
    commander 20 min late and a review never held; two action items, one done on time, one overdue."""
    app = sitrep
    for name, handle in (("Ana Ruiz", "ana"), ("Bob Chen", "bob"), ("Cleo Park", "cleo")):
        app.people.add(name, handle, email=f"{handle}@example.com")
    t0 = clock.value
    good = app.incidents.declare("Checkout down", "SEV1", author="ana", services=["checkout"])
    clock.advance(minutes=3)
    app.roles.assign(good.key, "IC", "ana", author="ana")
    for role, who in (("COMMS", "bob"), ("TECH", "cleo")):
        app.roles.assign(good.key, role, who, author="ana")
    clock.advance(minutes=30)
    _resolve(app, good.key)
    app.reviews.schedule(good.key, clock.value + timedelta(hours=20), ["ana", "bob"], author="ana")
    clock.advance(hours=20)
    app.reviews.attend(good.key, "ana", "present", author="ana")
    app.reviews.set_status(good.key, "in_review", author="ana")
    app.reviews.set_status(good.key, "reviewed", author="ana", override_reason="test: content is not the subject")

    bad = app.incidents.declare("Login failing", "SEV1", author="bob", services=["auth"])
    clock.advance(minutes=20)
    app.roles.assign(bad.key, "IC", "bob", author="bob")
    clock.advance(minutes=40)
    _resolve(app, bad.key)

    day = t0.date()
    on_time = app.action_items.add(good.key, "Add a canary for checkout deploys", category="prevent", owner="cleo",
                                   due_on=str(day + timedelta(days=10)), author="ana")  # fmt: skip
    late = app.action_items.add(bad.key, "Alert on login error rate", category="detect", owner="bob",
                                due_on=str(day + timedelta(days=7)), author="bob")  # fmt: skip
    clock.advance(days=4)
    app.action_items.update(on_time.key, author="cleo", status="done")
    clock.value = t0 + timedelta(days=20)
    return app, good, bad, on_time, late


def test_the_report_names_what_the_record_shows_met_and_missed(seeded, data_dir):
    app, good, bad, on_time, late = seeded
    svc = AssessmentService(app, data_dir, None)
    result = svc.evaluate(author="auditor")
    p = _by_id(result)

    assert p["rs-ma-01"].status == MISSED and p["rs-ma-01"].value == pytest.approx(0.5)
    evidence = {e["ref"]: e for e in p["rs-ma-01"].evidence}
    assert evidence[good.key]["ok"] and "after 3 min" in evidence[good.key]["note"]
    assert not evidence[bad.key]["ok"] and "after 20 min (clock 5 min)" in evidence[bad.key]["note"]

    assert p["rs-an-03"].status == MET  # both resolved SEV1s have a review
    assert p["sre-pm-48h"].status == MISSED and {e["ref"]: e["ok"] for e in p["sre-pm-48h"].evidence} == {
        good.key: True, bad.key: False}  # fmt: skip
    assert p["sre-pm-actions"].status == MISSED
    assert {e["ref"]: e["ok"] for e in p["sre-pm-actions"].evidence} == {on_time.key: True, late.key: False}
    assert p["sre-pm-owners"].status == MET
    assert p["sre-roles"].status == MISSED  # the second SEV1 had a commander only
    assert p["id-im-02"].status == MISSED and p["id-im-02"].value == 0  # no exercise in the half-year
    assert p["rs-co-02-law"].status == NO_EVIDENCE  # nothing regulatory to count is not assurance
    assert p["sre-pm-blameless"].status == UNANSWERED

    md = assessment_markdown(result)
    met_part = md.split("## Met")[1].split("## Missed")[0]
    missed_part = md.split("## Missed or not shown by the record")[1].split("\n## ")[0]
    for pid in ("rs-an-03", "sre-pm-owners"):
        assert f"**{pid}**" in met_part and f"**{pid}**" not in missed_part
    for pid in ("rs-ma-01", "sre-pm-48h", "sre-pm-actions", "sre-pm-blameless"):
        assert f"**{pid}**" in missed_part and f"**{pid}**" not in met_part
    assert f"✗ {bad.key}: commander after 20 min" in md
    html = assessment_html(result)
    assert "<h2>Met</h2>" in html and bad.key in html


def test_answers_by_hand_carry_who_and_when_and_runs_compare(seeded, data_dir, clock):
    app = seeded[0]
    svc = AssessmentService(app, data_dir, None)
    first = svc.run(author="auditor")
    assert first.file and json.loads(Path(first.file).read_text(encoding="utf-8"))["taken_by"] == "auditor"
    assert all(a.previous_score is None for a in first.areas)

    with pytest.raises(ValidationError, match="answered from the record"):
        svc.answer("rs-ma-01", "met", "we think so", author="ana")
    with pytest.raises(ValidationError, match="evidence note is empty"):
        svc.answer("sre-pm-blameless", "met", "  ", author="ana")
    with pytest.raises(ValidationError, match="Answer one of"):
        svc.answer("sre-pm-blameless", "sort of", "x", author="ana")
    clock.advance(hours=1)
    row = svc.answer("sre-pm-blameless", "met", "Reviews read by the lint and a reviewer; see wiki/pm-guide",
                     author="ana")  # fmt: skip
    assert row.answered_by == "ana" and row.answered_at == clock.value.isoformat()

    clock.advance(days=1)
    second = svc.run(author="auditor")
    p = _by_id(second)
    assert p["sre-pm-blameless"].status == MET and p["sre-pm-blameless"].answered_by == "ana"
    assert p["sre-pm-blameless"].previous_status == UNANSWERED
    assert second.previous_taken_at == first.taken_at
    pm = next(a for a in second.areas if a.id == "sre-postmortem")
    was = next(a for a in first.areas if a.id == "sre-postmortem")
    assert pm.previous_score == was.score and pm.score > was.score and pm.trend.startswith("up ")
    assert [s.taken_at for s in svc.stored()] == [first.taken_at, second.taken_at]
    assert "(was not answered)" in assessment_markdown(second)


def test_a_torn_answers_file_keeps_the_whole_lines(seeded, data_dir):
    svc = AssessmentService(seeded[0], data_dir, None)
    svc.answer("sre-pm-shared", "partly", "Reading club started in May", author="bob")
    with open(data_dir / "assessments" / "answers.jsonl", "a", encoding="utf-8") as f:
        f.write('{"practice": "sre-pm-shared", "sta')  # a crash mid-write
    assert svc.hand_answers()["sre-pm-shared"].status == "partly"


def test_a_malformed_practices_file_names_the_practice():
    doc = {"area": [{"id": "a", "name": "A"}], "maturity": [{"level": 1, "name": "x", "min_score": 0}],
           "practice": [{"id": "p1", "area": "a", "text": "t", "answer": "record", "measure": "nope", "target": 1}]}
    with pytest.raises(ValidationError, match="practice p1: measure 'nope'"):
        parse_practices(doc, "assessment.toml")
    doc["practice"][0] |= {"measure": "actions_owned", "area": "zz"}
    with pytest.raises(ValidationError, match="area 'zz'"):
        parse_practices(doc, "assessment.toml")
