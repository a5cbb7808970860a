"""Problem records and change links: shared by incidents, on each timeline, read from the Jira fake, grouped in
the metrics, carried by export/import (merged by the problem's id), and refused with nothing lost on bad input."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from services.core import Sitrep
from services.errors import ImportFailure, NotFound, SitrepError, ValidationError
from services.exchange.export_import import SCHEMA_VERSION
from tests.itil_kit import app_fixture, fake_jira_fixture, jira_time  # noqa: F401 - fixtures
from tests.sync.conftest import adapter_entry_points, configure_backends  # noqa: F401 - the autouse fixture


def _problem_entries(app, incident_id):
    return [e for e in app.timeline.entries(incident_id) if "problem_link" in (e.data or {})]


def test_two_incidents_share_a_known_error_and_the_second_sees_its_workaround(sitrep, clock):
    first = sitrep.incidents.declare("Card auth timeouts", "SEV2", author="ana", services=["payments"])
    p = sitrep.problems.add("Auth pool exhausted under retry storms", author="ana", description="pool of 50",
                            owner="ben")  # fmt: skip
    assert p.key == "PRB-0001" and p.status == "open"
    sitrep.problems.link(first.key, p.key, author="ana")
    clock.advance(minutes=5)
    p = sitrep.problems.update(p.key, author="ben", root_cause="retries without jitter",
                               workaround="Raise the pool to 200 and restart payments-api")  # fmt: skip
    assert p.status == "known_error"  # a workaround makes it a known error
    clock.advance(hours=3)
    second = sitrep.incidents.declare("Payments failing", "SEV1", author="cy", services=["payments"])
    out = sitrep.problems.link(second.key, "PRB-0001", author="cy", why="same error signature")
    assert out.problem.incidents == (first.key, second.key)
    (entry,) = _problem_entries(sitrep, second.id)
    assert entry.author == "cy" and entry.occurred_at == clock()
    assert "Known-error workaround: Raise the pool to 200 and restart payments-api" in entry.body
    assert f"Also linked to it: {first.key}." in entry.body
    assert sitrep.problems.for_incident(second.key).key == "PRB-0001"
    # Linking again changes nothing; linking elsewhere replaces, and says so on the timeline.
    assert sitrep.problems.link(second.key, "PRB-0001", author="cy").already
    other = sitrep.problems.add("DNS resolver flaps", author="cy")
    moved = sitrep.problems.link(second.key, other.key, author="cy")
    assert moved.replaced == "PRB-0001" and sitrep.problems.get("PRB-0001").incidents == (first.key,)
    sitrep.problems.unlink(second.key, author="cy")
    assert sitrep.problems.for_incident(second.key) is None
    assert [e.data["problem_link"]["action"] for e in _problem_entries(sitrep, second.id)] == ["linked", "linked", "unlinked"]
    assert sitrep.integrity.verify().ok


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda s, inc: s.problems.link(inc, "PRB-0404", author="ana"), NotFound, "No problem 'PRB-0404'"),
    (lambda s, inc: s.problems.link(inc, "", author="ana"), ValidationError, "Name the problem"),
    (lambda s, inc: s.problems.add("  ", author="ana"), ValidationError, "needs a title"),
    (lambda s, inc: s.problems.add("x", author="ana", status="known_error"), ValidationError, "needs its workaround"),
    (lambda s, inc: s.problems.add("x", author="ana", status="fixed"), ValidationError, "not one of"),
    (lambda s, inc: s.problems.add("two\nlines", author="ana"), ValidationError, "line break"),
    (lambda s, inc: s.problems.add("x", author="ana", workaround="w" * 10_001), ValidationError, "longer than"),
    (lambda s, inc: s.problems.unlink(inc, author="ana"), ValidationError, "is not linked to a problem"),
    (lambda s, inc: s.change_links.link(inc, author="ana", ref="", summary="x"), ValidationError, "reference"),
    (lambda s, inc: s.change_links.unlink(inc, "CHG1", author="ana"), ValidationError, "No change 'CHG1'"),
])  # fmt: skip
def test_bad_input_is_refused_in_words_with_nothing_written(sitrep, call, error, words):
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    before = len(sitrep.timeline.entries(inc.id))
    with pytest.raises(error, match=words):
        call(sitrep, inc.key)
    assert len(sitrep.timeline.entries(inc.id)) == before and sitrep.problems.list() == []


def test_a_change_entered_by_hand_is_linked_once_and_unlinked_on_the_timeline(sitrep, clock):
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    when = clock() - timedelta(hours=2)
    link = sitrep.change_links.link(inc.key, author="ana", ref="CHG0030012", summary="payments-api 4.2 deploy",
                                    changed_at=when, ci="payments-api")  # fmt: skip
    assert (link.ref, link.changed_at, link.ci, link.source) == ("CHG0030012", when, "payments-api", "hand")
    with pytest.raises(ValidationError, match="already linked"):
        sitrep.change_links.link(inc.key, author="ana", ref="CHG0030012", summary="again")
    with pytest.raises(ValidationError, match="future"):
        sitrep.change_links.link(inc.key, author="ana", ref="CHG2", summary="x", changed_at=clock() + timedelta(hours=1))
    sitrep.change_links.unlink(inc.key, "CHG0030012", author="ben", why="deployed after impact began")
    assert sitrep.change_links.list(inc.key) == []
    bodies = [e.body for e in sitrep.timeline.entries(inc.id) if "change_link" in (e.data or {})]
    assert bodies[0].startswith("Change CHG0030012 linked as a possible cause: payments-api 4.2 deploy at")
    assert bodies[1] == "Change CHG0030012 unlinked: not a cause (deployed after impact began)."


# -- Jira ---------------------------------------------------------------------------------------------
def test_changes_and_a_problem_are_read_from_jira_by_type(app, clock, fake_jira):
    configure_backends(app, jira=fake_jira)
    inc = app.incidents.declare("Payments failing", "SEV1", author="ic", services=["payments"])
    recent = fake_jira.add_made_elsewhere("Change", "Rotate payments DB credentials",
                                          created=jira_time(clock() - timedelta(hours=3)), status="Done",
                                          components=("payments",))  # fmt: skip
    fake_jira.add_made_elsewhere("Change", "Old change", created=jira_time(clock() - timedelta(days=5)))
    fake_jira.add_made_elsewhere("Task", "Not a change", created=jira_time(clock() - timedelta(hours=1)))
    problem_key = fake_jira.add_made_elsewhere("Problem", "Payments DB failover is slow",
                                               created=jira_time(clock() - timedelta(days=30)), status="In Progress")  # fmt: skip

    backend, candidates = app.itil.change_candidates(clock(), now=clock())
    assert backend == "jira" and [c.key for c in candidates] == [recent]
    link = app.change_links.link_tracked(inc.key, candidates[0], backend=backend, author="ic")
    assert (link.source, link.ref, link.remote_status, link.ci) == ("jira", recent, "Done", "payments")
    assert link.changed_at == clock() - timedelta(hours=3)

    backend, record = app.itil.record(problem_key.lower(), "problem")
    problem = app.problems.add_tracked(record, backend=backend, author="ic")
    assert (problem.remote_key, problem.title, problem.remote_status) == (problem_key, "Payments DB failover is slow", "In Progress")
    # Adding the same Jira problem again is the same record, refreshed.
    fake_jira.move(problem_key, "Done")
    assert app.problems.add_tracked(app.itil.record(problem_key, "problem")[1], backend="jira", author="ic").key == problem.key
    assert app.problems.get(problem_key).remote_status == "Done"
    app.problems.link(inc.key, problem_key, author="ic")
    assert app.problems.for_incident(inc.key).remote_key == problem_key


@pytest.mark.parametrize(("fault", "words"), [
    ({"status": 500, "body": {"errorMessages": ["Internal server error"]}}, "Try again shortly; nothing was linked"),
    ({"status": 429, "headers": {"Retry-After": "30"}}, "Try again shortly; nothing was linked"),
])  # fmt: skip
def test_jira_failing_is_said_and_nothing_is_linked(app, fake_jira, fault, words):
    configure_backends(app, jira=fake_jira)
    inc = app.incidents.declare("Payments failing", "SEV1", author="ic")
    key = fake_jira.add_made_elsewhere("Problem", "Slow failover", created="2026-01-01T00:00:00.000+0000")
    fake_jira.add_fault(**fault, path=r"/issue/")
    with pytest.raises(SitrepError, match=words):
        app.itil.record(key, "problem")
    fake_jira.add_fault(**fault, path=r"/search/jql")
    with pytest.raises(SitrepError, match=words):
        app.itil.change_candidates(app.now(), now=app.now())
    assert app.problems.list() == [] and app.change_links.list(inc.key) == []


def test_an_unknown_key_or_a_wrong_type_is_refused_in_words(app, fake_jira):
    configure_backends(app, jira=fake_jira)
    task = fake_jira.add_made_elsewhere("Task", "A task", created="2026-01-01T00:00:00.000+0000")
    with pytest.raises(SitrepError, match="Jira has no issue OPS-4040 .* Nothing was linked"):
        app.itil.record("OPS-4040", "problem")
    with pytest.raises(SitrepError, match=f"{task} is a Task in Jira, not a Problem"):
        app.itil.record(task, "problem")
    with pytest.raises(ValidationError, match="is not a Jira issue key"):
        app.itil.record("not a key", "problem")


def test_jira_not_set_up_is_said(app):
    with pytest.raises(ValidationError, match="Jira is not set up"):
        app.itil.record("OPS-1", "problem")


def test_the_problem_issue_type_is_a_setting(app, clock, fake_jira):
    configure_backends(app, jira=fake_jira)
    app.sync.configure("jira", {**app.sync.settings.backend("jira"), "problem_issue_type": "Known Error"})
    key = fake_jira.add_made_elsewhere("Known Error", "Cache stampede", created="2026-01-01T00:00:00.000+0000")
    assert app.itil.record(key, "problem")[1].summary == "Cache stampede"


# -- metrics ------------------------------------------------------------------------------------------
def test_metrics_group_by_problem(sitrep, clock):
    p = sitrep.problems.add("Auth pool exhausted", author="ana", workaround="raise the pool")
    keys = []
    for minutes in (30, 90):
        inc = sitrep.incidents.declare("Payments failing", "SEV1", author="ana", services=["payments"],
                                       impact_started_at=clock())  # fmt: skip
        clock.advance(minutes=minutes)
        sitrep.incidents.set_status(inc.key, "resolved", author="ana")
        sitrep.problems.link(inc.key, p.key, author="ana")
        keys.append(inc.key)
    lone = sitrep.incidents.declare("Search slow", "SEV3", author="ana", impact_started_at=clock())
    clock.advance(minutes=10)
    sitrep.incidents.set_status(lone.key, "resolved", author="ana")
    table = sitrep.metrics.table("time_to_resolve", "problem")
    rows = {g.group: g.stats for g in table.groups}
    assert list(rows) == ["PRB-0001 Auth pool exhausted", "(no problem)"]
    assert rows["PRB-0001 Auth pool exhausted"].count == 2
    assert rows["PRB-0001 Auth pool exhausted"].mean == pytest.approx(60.0)


# -- export / import ------------------------------------------------------------------------------------
def test_an_older_imported_incident_and_a_new_one_share_one_problem(sitrep, clock, tmp_path):
    """Another machine's export brings an older incident linked to a problem; the problem arrives with its id,
    so linking a new incident here and exporting back merges into the same record."""
    other = Sitrep.open(f"sqlite:///{tmp_path / 'other.db'}", now=clock)
    old = other.incidents.declare("Card auth timeouts", "SEV2", author="ana", services=["payments"])
    p = other.problems.add("Auth pool exhausted", author="ana", workaround="raise the pool to 200")
    other.problems.link(old.key, p.key, author="ana")
    other.change_links.link(old.key, author="ana", ref="CHG0030012", summary="pool size change", ci="payments-api")
    (tmp_path / "old.json").write_text(json.dumps(other.exchange.export()))
    doc = json.loads((tmp_path / "old.json").read_text())
    assert doc["schema_version"] == SCHEMA_VERSION == 5 and doc["problems"][0]["id"] == p.id
    other.close()

    sitrep.problems.add("Something else", author="dana")  # takes PRB-0001 here: the import renumbers
    clock.advance(days=3)
    report = sitrep.exchange.import_file(tmp_path / "old.json")
    assert report
    imported = sitrep.problems.get(p.id)
    assert imported.key == "PRB-0002" and imported.incidents == (old.key,) and imported.is_known_error
    new = sitrep.incidents.declare("Payments failing", "SEV1", author="cy", services=["payments"])
    sitrep.problems.link(new.key, p.id, author="cy")
    assert sitrep.problems.get(p.id).incidents == (old.key, new.key)
    assert [c.ref for c in sitrep.change_links.list(old.key)] == ["CHG0030012"]
    # A second import changes nothing.
    sitrep.exchange.import_file(tmp_path / "old.json")
    assert sitrep.problems.get(p.id).incidents == (old.key, new.key) and len(sitrep.problems.list()) == 2


def test_a_malformed_problem_in_a_file_is_refused_whole(sitrep, clock, tmp_path):
    inc = sitrep.incidents.declare("Card auth timeouts", "SEV2", author="ana")
    p = sitrep.problems.add("Auth pool exhausted", author="ana")
    sitrep.problems.link(inc.key, p.key, author="ana")
    (tmp_path / "x.json").write_text(json.dumps(sitrep.exchange.export()))
    doc = json.loads((tmp_path / "x.json").read_text())
    doc["problems"][0]["status"] = "known_error"  # with no workaround
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    target = Sitrep.open(f"sqlite:///{tmp_path / 'target.db'}", now=clock)
    with pytest.raises(ImportFailure, match="known error needs its workaround"):
        target.exchange.import_file(bad)
    doc = json.loads((tmp_path / "x.json").read_text())
    doc["incidents"][0]["problem_links"][0]["problem_id"] = "no-such-problem"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ImportFailure):
        target.exchange.import_file(bad)
    target.close()
    with sqlite3.connect(tmp_path / "target.db") as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM problems").fetchone()[0] == 0


# -- the command line -------------------------------------------------------------------------------------------
def test_cli_problem_and_change_links(run_cli):
    assert run_cli("declare", "Card auth timeouts", "--severity", "SEV2", "--service", "payments")[0] == 0
    assert run_cli("declare", "Payments failing", "--severity", "SEV1", "--service", "payments")[0] == 0
    code, out, err = run_cli("problem", "add", "Auth pool exhausted", "--link", "INC-0001")
    assert code == 0 and "PRB-0001" in out and "INC-0001" in out, err
    code, out, _ = run_cli("problem", "workaround", "PRB-0001", "Raise the pool to 200", "--root-cause", "no jitter")
    assert code == 0 and "[Known error]" in out
    code, out, _ = run_cli("problem", "link", "INC-0002", "PRB-0001")
    assert code == 0 and "Known error. Workaround: Raise the pool to 200" in out and "Also linked to it: INC-0001" in out
    code, out, _ = run_cli("problem", "list", "--json")
    (row,) = json.loads(out)
    assert row["incidents"] == ["INC-0001", "INC-0002"] and row["status"] == "known_error"
    code, out, _ = run_cli("problem", "show", "INC-0002")
    assert code == 0 and out.startswith("PRB-0001")
    code, out, err = run_cli("problem", "link", "INC-0002", "PRB-0099")
    assert code != 0 and "No problem 'PRB-0099'" in err and "Traceback" not in err
    code, out, _ = run_cli("change", "link", "INC-0002", "CHG0030012", "--summary", "pool resize", "--when", "2h ago",
                           "--ci", "payments-api")  # fmt: skip
    assert code == 0 and "CHG0030012" in out
    code, out, _ = run_cli("change", "links", "INC-0002", "--json")
    assert [r["ref"] for r in json.loads(out)] == ["CHG0030012"]
    code, out, _ = run_cli("metrics", "--by", "problem", "--metric", "time_to_resolve")
    assert code == 0, out
    code, out, err = run_cli("change", "candidates", "INC-0002")
    assert code != 0 and "not set up" in err and "Traceback" not in err


def test_two_copies_that_linked_one_incident_to_different_problems_cannot_merge(sitrep, clock, tmp_path):
    """Each link is a timeline entry, so two copies that linked one incident differently have diverged
    timelines: the import is refused whole, and the incident keeps the one problem it had here."""
    inc = sitrep.incidents.declare("Card auth timeouts", "SEV2", author="ana")
    (tmp_path / "base.json").write_text(json.dumps(sitrep.exchange.export()))
    other = Sitrep.open(f"sqlite:///{tmp_path / 'other.db'}", now=clock)
    other.exchange.import_file(tmp_path / "base.json")
    q = other.problems.add("DNS resolver flaps", author="ben")
    other.problems.link(inc.key, q.key, author="ben")
    (tmp_path / "other.json").write_text(json.dumps(other.exchange.export()))
    other.close()
    p = sitrep.problems.add("Auth pool exhausted", author="ana")
    sitrep.problems.link(inc.key, p.key, author="ana")
    with pytest.raises(ImportFailure, match="diverged"):
        sitrep.exchange.import_file(tmp_path / "other.json")
    assert sitrep.problems.for_incident(inc.key).id == p.id and [x.key for x in sitrep.problems.list()] == ["PRB-0001"]
