"""Stores that survive their disks, sync that says when it is stuck, and terminal output that cannot be
forged (issue 20). Real SQLite files and the real command line in child processes."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from app.terminal import EscapingStream, safe
from reliability import faults
from reliability.__main__ import run as run_suite
from reliability.common import SIZES, sitrep
from services.core import Sitrep
from services.errors import StoreError
from services.storage import backups


def _store_with(data, entries=3):
    faults._seeded(data, entries)


def test_a_store_with_incidents_is_backed_up_once_a_day_when_opened(tmp_path):
    data = tmp_path / "data"
    _store_with(data)
    daily = [b for b in backups.list_backups(data / "backups", "sitrep") if b.reason == "daily"]
    assert len(daily) == 1  # the seeding opened it five times; one copy a day
    assert backups.check_copy(daily[0].path) is None


def test_rotation_keeps_the_newest_of_each_kind_within_the_budget(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    now = datetime(2026, 3, 14, tzinfo=UTC)
    for i in range(12):
        (folder / f"sitrep-{backups.stamp(now - timedelta(days=i))}-daily.db").write_bytes(b"x" * 1000)
    for i in range(3):
        (folder / f"sitrep-{backups.stamp(now - timedelta(days=i, hours=1))}-before-upgrade-from-000{i}.db").write_bytes(b"y" * 1000)
    backups.rotate(folder, "sitrep", budget=8_500)
    kept = backups.list_backups(folder, "sitrep")
    assert sum(b.size for b in kept) <= 8_500 and kept[0].taken_at == now  # the newest is always kept
    assert [b.reason for b in kept].count("daily") <= backups.KEEP["daily"]
    backups.rotate(folder, "sitrep", budget=10)  # a budget smaller than one copy still keeps the newest
    assert [b.taken_at for b in backups.list_backups(folder, "sitrep")] == [now]


def test_a_corrupted_page_stops_writes_and_a_restore_brings_the_store_back(tmp_path):
    fig = faults.Figure("corrupted")
    faults._corrupted(fig, tmp_path)
    assert fig.missed == [] and fig.internal_errors == 0, fig.missed
    data = tmp_path / "corrupted"
    kept = [b.reason for b in backups.list_backups(data / "backups", "sitrep")]
    assert "before-restore" in kept or any(p.suffix == ".damaged" for p in (data / "backups").iterdir())
    assert not (data / "sitrep.db.damaged").exists()


def test_damage_reported_by_sqlite_mid_session_stops_the_next_write(tmp_path):
    data = tmp_path / "data"
    _store_with(data, 150)
    app = Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", backups_dir=data / "backups")
    try:
        faults._corrupt_page(data / "sitrep.db")
        with pytest.raises(StoreError, match="damaged"):
            app.exchange.export()  # reads every entry: SQLite reports the bad page
        inc = app.incidents.get("INC-0001")
        with pytest.raises(StoreError, match="Writing is stopped"):
            app.timeline.log(inc.id, "after the damage", author="ana")
    finally:
        app.close()
    assert (data / "sitrep.db.damaged").exists()


def test_the_store_faults_are_answered_with_their_true_cause(tmp_path):
    fig = faults.Figure("faults")
    for fault in (faults._read_only, faults._full_disk, faults._newer_schema):
        fault(fig, tmp_path)
    assert fig.missed == [] and fig.internal_errors == 0, fig.missed


# -- the terminal --------------------------------------------------------------------------------------
def test_control_characters_are_escaped_for_a_person_and_kept_for_json(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    title = "Fine\nINC-9999  SEV1 forged \x1b]0;pwned\x07\x1b[2J"
    assert sitrep(data, "declare", title, "-s", "SEV3").returncode == 2  # a title is one line
    assert sitrep(data, "declare", "Checkout down", "-s", "SEV3").returncode == 0
    assert sitrep(data, "log", "INC-0001", "red \x1b[31malert\x1b[0m\x07").returncode == 2
    c = sqlite3.connect(data / "sitrep.db")
    with c:  # what an older version let in, or an edit made outside Sitrep
        c.execute("UPDATE incidents SET title = ?", (title,))
    c.close()
    listed = sitrep(data, "list")
    assert listed.stdout.count("\n") == 1 and "\x1b" not in listed.stdout and "\\e]0;pwned" in listed.stdout
    shown = sitrep(data, "show", "INC-0001")
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    exact = sitrep(data, "list", "--json")
    assert json.loads(exact.stdout)[0]["title"] == title


def test_escaping_names_each_control_character():
    assert safe("a\nb\x1b[2J\x07\x9b") == "a\\nb\\e[2J\\x07\\x9b"
    out = io.StringIO()
    EscapingStream(out).write("row\n\x1b]0;x\x07\tok\n")
    assert out.getvalue() == "row\n\\e]0;x\\x07\tok\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_reading_works_on_a_full_disk(tmp_path):
    fig = faults.Figure("full")
    faults._full_disk(fig, tmp_path)
    assert fig.missed == [] and fig.caught == 4, (fig.missed, fig.notes)


def test_the_reliability_suite_runs_small(tmp_path):
    """CI runs the whole suite at its small size; each scenario must hold its bar."""
    figures = run_suite("small", work=tmp_path, echo=lambda line: None)
    assert len(figures) == 7
    assert [f.scenario for f in figures if not f.holds] == [], [(f.scenario, f.missed) for f in figures]
    assert SIZES["small"].kills <= figures[0].runs
