"""The record that cannot be quietly rewritten, and times that always read back (issue 20).

Each tampering of the reliability suite's set is a test here: an edit made directly in the SQLite file,
which `sitrep verify` (or, for a store rewritten consistently with itself, `verify --against-remote`
against the loopback PagerDuty) must catch and name.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from reliability import tampering
from reliability.common import sitrep
from services.core import Sitrep
from services.errors import ImportFailure, ValidationError
from services.record.chain_heads import TIMELINE, head_of
from services.record.remote_anchor import anchors_in, verify_against_remote
from services.storage.secrets import MemorySecrets
from tests.fakes import pagerduty as fpd


@pytest.fixture(scope="module")
def fake_pd_module():
    pd = fpd.FakePagerDuty().start()
    yield pd
    pd.stop()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, fake_pd_module):
    data = tmp_path_factory.mktemp("tamper") / "pristine"
    tampering._seed(data, fake_pd_module)
    return data


@pytest.mark.parametrize("case", tampering.TAMPERINGS, ids=[t[0] for t in tampering.TAMPERINGS])
def test_each_tampering_is_caught_and_named(pristine, tmp_path, case):
    name, edit, words, remote_only = case
    data = tmp_path / "store"
    shutil.copytree(pristine, data)
    c = sqlite3.connect(data / "sitrep.db")
    with c:
        edit(c, c.execute("SELECT id FROM incidents").fetchone()[0])
    c.close()
    res = sitrep(data, "verify")
    assert "Traceback" not in res.stderr
    if not remote_only:
        assert res.returncode == 6 and words in res.stderr, res.stderr
        return
    app = tampering._open(data)
    try:
        report = verify_against_remote(app.sync, app.store, sessions=app.sync.read_back_session)
    finally:
        app.close()
    assert not report.ok and report.anchors > 0
    assert any(words in str(b) for b in report.breaks), report.breaks


def test_the_untouched_store_verifies_here_and_against_what_pagerduty_received(pristine, tmp_path):
    res = sitrep(pristine, "verify")
    assert res.returncode == 0 and "every chain holds and ends at its head" in res.stdout
    app = tampering._open(pristine)
    try:
        report = verify_against_remote(app.sync, app.store, sessions=app.sync.read_back_session)
    finally:
        app.close()
    assert report.ok and report.backends == ["PagerDuty"] and report.anchors >= 1


def test_every_note_carries_its_entry_and_the_chain_head_it_made(sitrep_app_with_pd):
    app, pd = sitrep_app_with_pd
    inc = app.incidents.declare("Checkout down", "SEV2", author="ana")
    entry = app.timeline.log(inc.id, "Roll back", author="ana", kind="decision", rationale="deploy")
    assert app.sync.drain_once(max_wait_s=10).left_pending == 0
    (note,) = [n["content"] for notes in pd.notes.values() for n in notes]
    assert anchors_in(note) == [(entry.seq, entry.hash[:16])]
    assert f"(INC-0001 #{entry.seq} · chain {entry.hash[:16]}, ana via Sitrep)" in note


@pytest.fixture
def sitrep_app_with_pd(data_dir, clock):
    fake = fpd.FakePagerDuty().start()
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=data_dir / "config", now=clock,
                      sync_options={"secrets": MemorySecrets({("pagerduty", "api_token"): fpd.TOKEN})})  # fmt: skip
    app.sync.configure("pagerduty", {"enabled": True, "url": fake.url, "from_email": fpd.BOT_EMAIL,
                                     "service_id": "PSVC001", "max_requests_per_s": 0, "timeout_s": 5.0})  # fmt: skip
    yield app, fake
    app.close()
    fake.stop()


def test_heads_move_with_every_entry_and_log_line(sitrep):
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    for i in range(3):
        last = sitrep.timeline.log(inc.id, f"note {i}", author="ana")
    with sitrep.store.read_connection() as conn:
        head = head_of(conn, TIMELINE, inc.id)
    assert (head.count, head.hash) == (last.seq, last.hash)
    assert sitrep.integrity.verify().ok


# -- times -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("when", [datetime(999, 6, 1, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)])
def test_a_time_before_the_window_is_refused_on_every_path(sitrep, when):
    with pytest.raises(ValidationError, match="more than five years ago"):
        sitrep.incidents.declare("Old", "SEV2", author="ana", detected_at=when)
    inc = sitrep.incidents.declare("Now", "SEV2", author="ana")
    with pytest.raises(ValidationError, match="more than five years ago"):
        sitrep.timeline.log(inc.id, "x", author="ana", occurred_at=when)
    with pytest.raises(ValidationError, match="more than five years ago"):
        sitrep.incidents.set_milestone(inc.id, "detected", when, author="ana")
    assert [i.key for i in sitrep.incidents.list()] == ["INC-0001"]


def test_a_stored_year_before_1000_still_reads_back(sitrep):
    inc = sitrep.incidents.declare("Now", "SEV2", author="ana")
    c = sqlite3.connect(sitrep.store.path)
    with c:  # what an older Sitrep wrote for --detected 0999-06-01T00:00Z
        c.execute("UPDATE incidents SET detected_at = '999-06-01T00:00:00.000000Z' WHERE id = ?", (inc.id,))
    c.close()
    assert sitrep.incidents.get(inc.id).milestones is not None
    assert sitrep.exchange.export()["incidents"][0]["milestones"]["detected"].startswith("999-06-01")


def test_backdating_before_the_incident_began_needs_a_reason(sitrep, clock):
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana",
                                   impact_started_at=clock() - timedelta(minutes=30))  # fmt: skip
    before = clock() - timedelta(hours=2)
    with pytest.raises(ValidationError, match="before the incident began") as err:
        sitrep.timeline.log(inc.id, "The deploy went out", author="ana", occurred_at=before)
    assert err.value.field == "occurred_at"
    entry = sitrep.timeline.log(inc.id, "The deploy went out", author="ana", occurred_at=before,
                                backdate_reason="the deploy that caused it")  # fmt: skip
    assert entry.data == {"backdate_reason": "the deploy that caused it"}
    # What led up to a declaration without a known impact start is fine within a day.
    other = sitrep.incidents.declare("Search slow", "SEV3", author="ana")
    sitrep.timeline.log(other.id, "Customer tweet", author="ana", occurred_at=clock() - timedelta(hours=3))


# -- what comes in ------------------------------------------------------------------------------------
def test_declaring_refuses_what_the_store_cannot_hold(sitrep):
    for kwargs, words in (({"affected_users": 2**70}, "at most 10,000,000,000"), ({"affected_users": -1}, "zero or more"),
                          ({"title": "a\x00b"}, "NUL byte"), ({"title": "a\nb"}, "line break"),
                          ({"summary": "s" * 20_001}, "longer than 20,000")):  # fmt: skip
        args = {"title": "Checkout down", **kwargs}
        with pytest.raises(ValidationError, match=words):
            sitrep.incidents.declare(args.pop("title"), "SEV2", author="ana", **args)


def _export_file(sitrep, tmp_path, change) -> str:
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    sitrep.timeline.log(inc.id, "note", author="ana")
    doc = sitrep.exchange.export()
    change(doc)
    path = tmp_path / "export.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(schema_version="1"), "'schema_version' must be a whole number, not str '1'"),
    (lambda d: d["incidents"][0].update(title="ok\x1b[2J"), "control character"),
    (lambda d: d["incidents"][0].update(affected_users=2**70), "larger than"),
    (lambda d: d["incidents"][0].update(summary="z" * 30_000), "longer than 20,000"),
    (lambda d: d["incidents"][0]["chain_heads"]["timeline"].update(count=9), "cut short"),
    (lambda d: d["incidents"][0]["milestones"].update(declared="0001-01-01T00:00:00.000000Z"), "before 1970"),
])  # fmt: skip
def test_an_import_refuses_what_the_cli_refuses(sitrep, tmp_path, change, words):
    path = _export_file(sitrep, tmp_path, change)
    with pytest.raises(ImportFailure, match=words.replace("(", r"\(").replace("[", r"\[")):
        sitrep.exchange.import_file(path)


def test_a_hostile_json_file_is_refused_not_a_crash(sitrep, tmp_path):
    for text, words in (("[" * 100_000 + "]" * 100_000, "nested too deeply"),
                        ('{"n": 1' + "0" * 5000 + "}", "no record can have")):  # fmt: skip
        path = tmp_path / "hostile.json"
        path.write_text(text)
        with pytest.raises(ImportFailure, match=words):
            sitrep.exchange.import_file(path)


def test_importing_a_diverged_copy_of_the_same_record_is_refused_naming_what_differs(sitrep, tmp_path):
    path = _export_file(sitrep, tmp_path, lambda d: None)
    c = sqlite3.connect(sitrep.store.path)
    with c:
        c.execute("UPDATE incidents SET severity = 'SEV1', title = 'Edited'")
    c.close()
    with pytest.raises(ImportFailure, match="same timeline here but a different title and severity"):
        sitrep.exchange.import_file(path)
