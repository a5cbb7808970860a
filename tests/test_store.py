"""The local store: refusing what it must not touch, storage failures in words, atomic changes, migrations."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import services.storage.store as store_module
from models.entities import Base
from models.migrations import KNOWN_REVISIONS, MIGRATIONS_DIR, SCHEMA_HEAD
from services.core import Sitrep
from services.errors import SchemaTooNew, StoreError

ROOT = Path(__file__).resolve().parents[1]


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = ("incidents", "timeline_entries", "role_assignments", "people")
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def open_at(db: Path, **kw) -> Sitrep:
    return Sitrep.open(f"sqlite:///{db}", backups_dir=db.parent / "backups", **kw)


@pytest.fixture
def populated(data_dir: Path) -> Path:
    db = data_dir / "sitrep.db"
    app = open_at(db)
    app.people.add("Ana Ruiz", "ana")
    inc = app.incidents.declare("Checkout down", "SEV1", author="ana")
    app.roles.assign(inc.key, "IC", "ana", author="ana")
    app.timeline.log(inc.id, "Errors at 40%", author="ana")
    app.close()
    return db


# -- what the store refuses to touch ---------------------------------------------------------
@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_a_database_from_a_newer_sitrep_is_refused_untouched(populated, data_dir, run_cli, journal_mode):
    with sqlite3.connect(populated) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.execute(f"PRAGMA journal_mode={journal_mode}")  # a newer Sitrep may have chosen either
    conn.close()
    before = fingerprint(populated)
    files_before = sorted(p.name for p in data_dir.iterdir())

    with pytest.raises(SchemaTooNew, match=r"newer Sitrep \(schema 9999.*left untouched"):
        open_at(populated)
    assert fingerprint(populated) == before
    assert sorted(p.name for p in data_dir.iterdir()) == files_before, "no -wal, -shm or backup left behind"

    code, out, err = run_cli("list")
    assert code == 5 and out == ""
    assert (
        err.startswith("sitrep: error: This database was written by a newer Sitrep")
        and "Traceback" not in err
    )
    assert fingerprint(populated) == before
    assert not any((data_dir / "backups").iterdir()), "refusing takes no backup (that would be a write)"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"incident notes, not a database\n", "not an SQLite file"),
        (b"SQLite format 3\x00" + b"\x00" * 84, "not a Sitrep database"),
    ],
)
def test_a_file_that_is_not_a_sitrep_database_is_refused_untouched(data_dir, run_cli, content, words):
    db = data_dir / "sitrep.db"
    db.write_bytes(content)
    before = fingerprint(db)
    with pytest.raises(StoreError, match=words):
        open_at(db)
    code, _, err = run_cli("list")
    assert code == 4 and err.startswith("sitrep: error: ") and "Traceback" not in err
    assert fingerprint(db) == before


def test_a_damaged_database_is_reported_as_damaged(populated):
    raw = populated.read_bytes()
    populated.write_bytes(raw[:100] + bytes(len(raw) - 100))  # the header survives, the pages do not
    before = fingerprint(populated)
    with pytest.raises(StoreError, match="damaged"):
        open_at(populated)
    assert fingerprint(populated) == before


def test_a_database_with_foreign_tables_is_refused(data_dir):
    db = data_dir / "sitrep.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.close()
    before = fingerprint(db)
    with pytest.raises(StoreError, match="not a Sitrep database"):
        open_at(db)
    assert fingerprint(db) == before


def test_a_bad_database_url_is_a_clear_error_without_the_password(run_cli):
    code, _, err = run_cli("--db", "postgresql+nosuchdriver://ops:hunter2@db.internal/sitrep", "list")
    assert code == 4 and "hunter2" not in err and "Traceback" not in err
    code, _, err = run_cli("--db", "not a url at all", "list")
    assert code == 4 and "not one Sitrep can use" in err


# -- storage failures ------------------------------------------------------------------------
def test_a_locked_database_is_a_clear_error_and_nothing_is_half_written(populated, monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 50)
    app = open_at(populated)  # after the patch: its connections get the short timeout
    try:
        inc = app.incidents.get("INC-0001")
        before = counts(populated)
        other = sqlite3.connect(populated, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            attempts = [
                lambda: app.timeline.log(inc.id, "Rolled back", author="ana"),
                lambda: app.incidents.set_status(inc.id, "mitigated", author="ana"),
                lambda: app.incidents.declare("Search slow", "SEV3", author="ana"),
                lambda: app.roles.release(inc.id, "IC", author="ana"),
                lambda: app.people.add("Ben Okafor", "ben"),
            ]
            for attempt in attempts:
                with pytest.raises(
                    StoreError, match="busy in another program \\(locked\\).*Nothing was saved"
                ):
                    attempt()
            assert app.incidents.get(inc.id).status.value == "declared", "reading still works meanwhile"
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert counts(populated) == before
        app.timeline.log(inc.id, "Rolled back", author="ana")
        assert app.timeline.count(inc.id) == before["timeline_entries"] + 1
        assert app.integrity.verify().ok
    finally:
        app.close()


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24


def _give_up_overriding_file_permissions() -> None:
    """Runs in the child before exec: root without these capabilities obeys file modes like anyone."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_sitrep_obeying_file_modes(*argv: str) -> subprocess.CompletedProcess:
    """The real CLI in a child process that cannot write where file modes say it may not.

    Tests run as root here, and root ignores chmod; dropping the capabilities that let it do so
    (instead of switching user, which could not read this Python) makes a read-only folder real.
    """
    env = {k: v for k, v in os.environ.items() if k != "SITREP_DATA_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "app", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=_give_up_overriding_file_permissions if os.geteuid() == 0 else None,
    )


def _make_read_only(root: Path) -> list[tuple[Path, int]]:
    modes = []
    for p in [root, *root.rglob("*")]:
        modes.append((p, p.stat().st_mode))
        p.chmod(0o555 if p.is_dir() else 0o444)
    return modes


def test_a_read_only_data_folder_can_be_read_but_not_changed(populated, data_dir, tmp_path_factory):
    """An archived store (a read-only share, a copy on write-protected media): reading it works;
    a change is refused in one sentence; the files stay byte-identical."""
    before = fingerprint(populated)
    for folder in ("config", "logs", "backups"):  # as the command line leaves a data folder it has used
        (data_dir / folder).mkdir(exist_ok=True)
    out = tmp_path_factory.mktemp("export-out")
    out.chmod(0o777)
    modes = _make_read_only(data_dir)
    try:
        for argv in (["log", "INC-0001", "Rolled back"], ["status", "INC-0001", "resolved"]):
            r = run_sitrep_obeying_file_modes("--data-dir", str(data_dir), *argv)
            assert r.returncode == 4, (argv, r.stdout, r.stderr)
            assert r.stderr.count("\n") == 1 and r.stderr.startswith("sitrep: error: "), r.stderr
            assert "read-only" in r.stderr and "Nothing was saved" in r.stderr and "Traceback" not in r.stderr
        listed = run_sitrep_obeying_file_modes("--data-dir", str(data_dir), "list")
        assert listed.returncode == 0 and "INC-0001" in listed.stdout, listed.stderr
        shown = run_sitrep_obeying_file_modes("--data-dir", str(data_dir), "show", "INC-0001")
        assert shown.returncode == 0 and "Timeline:" in shown.stdout, shown.stderr
        verified = run_sitrep_obeying_file_modes("--data-dir", str(data_dir), "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        exported = run_sitrep_obeying_file_modes(
            "--data-dir", str(data_dir), "export", "-o", str(out / "x.json")
        )
        assert exported.returncode == 0 and (out / "x.json").stat().st_size > 0, exported.stderr
        r = run_sitrep_obeying_file_modes("--data-dir", str(data_dir / "new"), "list")
        assert r.returncode == 4 and "Cannot create the data folder" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    finally:
        for p, mode in reversed(modes):
            p.chmod(mode)
    assert fingerprint(populated) == before
    assert counts(populated)["timeline_entries"] == 3


# -- atomicity -------------------------------------------------------------------------------
class OutboxDown(Exception):
    pass


def _failing_hook(db, entry) -> None:
    raise OutboxDown(f"could not queue entry #{entry.seq}")


def test_a_failure_inside_a_change_leaves_state_and_timeline_as_they_were(sitrep, clock):
    sitrep.people.add("Ana Ruiz", "ana")
    sitrep.people.add("Ben Okafor", "ben")
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    typo = sitrep.timeline.log(inc.id, "Erors at 40%", author="ana")
    clock.advance(minutes=10)
    before_state = sitrep.incidents.get(inc.key)
    before_entries = sitrep.timeline.entries(inc.id)
    before_roles = sitrep.roles.history(inc.key)
    seen = []
    sitrep.changes.subscribe(seen.append)
    sitrep.store.entry_hooks.append(_failing_hook)

    brief = dict.fromkeys(("status", "hypotheses", "last_update", "next_actions"), "see the timeline")
    attempts = [
        lambda: sitrep.incidents.set_status(inc.key, "mitigated", author="ana"),
        lambda: sitrep.incidents.set_severity(inc.key, "SEV2", author="ana", reason="contained"),
        lambda: sitrep.incidents.set_major(inc.key, False, author="ana", reason="contained"),
        lambda: sitrep.incidents.set_milestone(inc.key, "bridge_opened", clock(), author="ana"),
        lambda: sitrep.incidents.update_details(inc.key, author="ana", affected_users=1200),
        lambda: sitrep.timeline.log(inc.id, "Rolled back", author="ana"),
        lambda: sitrep.timeline.correct(typo.id, "Errors at 40%", author="ana", reason="typo"),
        lambda: sitrep.roles.hand_over(inc.key, "IC", "ben", brief, author="ana"),
        lambda: sitrep.roles.release(inc.key, "IC", author="ana"),
        lambda: sitrep.clocks.check(inc.key),
        lambda: sitrep.incidents.declare("Search slow", "SEV3", author="ana"),
    ]
    for attempt in attempts:
        with pytest.raises(OutboxDown):
            attempt()

    assert sitrep.incidents.get(inc.key) == before_state
    assert sitrep.timeline.entries(inc.id) == before_entries
    assert sitrep.roles.history(inc.key) == before_roles
    assert [i.key for i in sitrep.incidents.list()] == ["INC-0001"]
    assert seen == [], "nothing was announced for changes that did not happen"

    sitrep.store.entry_hooks.remove(_failing_hook)
    assert sitrep.incidents.declare("Search slow", "SEV3", author="ana").key == "INC-0002"
    assert sitrep.integrity.verify().ok


def test_an_entry_hook_writes_in_the_same_transaction(sitrep):
    """What a hook writes commits with the entry (the outbox depends on it)."""
    with sitrep.store.write_connection() as conn:
        conn.execute(text("CREATE TABLE probe_outbox (entry_id TEXT PRIMARY KEY, seq INTEGER)"))

    def queue(db, entry) -> None:
        db.execute(text("INSERT INTO probe_outbox VALUES (:id, :seq)"), {"id": entry.id, "seq": entry.seq})

    sitrep.store.entry_hooks.append(queue)
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    entry = sitrep.timeline.log(inc.id, "Errors at 40%", author="ana")
    with sitrep.store.read_connection() as conn:
        rows = conn.execute(text("SELECT seq FROM probe_outbox ORDER BY seq")).scalars().all()
    assert rows == [1, entry.seq]


# -- durability settings ---------------------------------------------------------------------
def test_wal_full_sync_and_foreign_keys_are_on_for_writes(sitrep):
    with sitrep.store.write_connection() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with sitrep.store.read_connection() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_foreign_keys_are_enforced(sitrep):
    refused = pytest.raises(StoreError, match="conflicts with what is stored.*Nothing was saved")
    with refused, sitrep.store.write_connection() as conn:
        conn.execute(
            text(
                "INSERT INTO role_assignments (id, incident_id, role, person_id, started_at, assigned_by, "
                "checklist_done) VALUES ('r', 'no-such-incident', 'IC', 'no-such-person', "
                "'2026-03-14T09:00:00.000000Z', 'ana', '[]')"
            )
        )


# -- backups ---------------------------------------------------------------------------------
def test_a_backup_is_a_consistent_copy(populated):
    app = open_at(populated)
    try:
        writer = sqlite3.connect(populated, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO people (id, name, handle, timezone) VALUES ('p2', 'Not Yet Committed', 'nyc', 'UTC')"
        )
        try:
            path = app.store.backup(reason="manual")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    finally:
        app.close()
    assert path is not None and path.parent == populated.parent / "backups" and "manual" in path.name
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (SCHEMA_HEAD,)
    conn.close()
    assert counts(path) == counts(populated)
    copy = open_at(path)
    try:
        assert copy.integrity.verify().ok and [p.handle for p in copy.people.list()] == ["ana"]
    finally:
        copy.close()


# -- migrations ------------------------------------------------------------------------------
def _script(directory: Path) -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    return ScriptDirectory.from_config(cfg)


def test_schema_head_and_known_revisions_match_the_migrations_folder():
    script = _script(MIGRATIONS_DIR)
    assert script.get_heads() == [SCHEMA_HEAD], "update SCHEMA_HEAD when adding a migration"
    assert {r.revision for r in script.walk_revisions()} == set(KNOWN_REVISIONS)


def test_the_migrated_schema_matches_the_models(sitrep):
    """A model changed without a migration shows up here as a difference."""
    with sitrep.store.writer.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


# The probe revision goes on top of whatever the real head is, so these tests hold as migrations are added.
PROBE = "9999"


def _migrations_with(tmp_path: Path, revision_0002: str) -> Path:
    """A copy of the real migrations plus one more revision: an 'older' database then needs an upgrade."""
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(MIGRATIONS_DIR / name, folder / name)
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        shutil.copy(path, folder / "versions" / path.name)
    header = (
        f'revision = "{PROBE}"\ndown_revision = "{SCHEMA_HEAD}"\nbranch_labels = None\ndepends_on = None\n'
    )
    body = "from alembic import op\nimport sqlalchemy as sa\n\n" + header + textwrap.dedent(revision_0002)
    body += "\n\ndef downgrade():\n    pass\n"
    (folder / "versions" / f"{PROBE}_probe.py").write_text(body, encoding="utf-8")
    return folder


def _newer_sitrep(monkeypatch, folder: Path) -> None:
    monkeypatch.setattr(store_module, "MIGRATIONS_DIR", folder)
    monkeypatch.setattr(store_module, "SCHEMA_HEAD", PROBE)
    monkeypatch.setattr(store_module, "KNOWN_REVISIONS", KNOWN_REVISIONS | {PROBE})


def _revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        value = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    conn.close()
    return value


def _columns(db: Path, table: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    conn.close()
    return names


def test_an_upgrade_takes_a_backup_first_and_keeps_the_record(populated, tmp_path, monkeypatch):
    # Rebuilding 'incidents' (which the timeline references) is the hard case for SQLite.
    folder = _migrations_with(
        tmp_path,
        """
        def upgrade():
            with op.batch_alter_table("incidents", recreate="always") as batch:
                batch.add_column(sa.Column("region", sa.String(32), nullable=True))
        """,
    )
    before = counts(populated)
    _newer_sitrep(monkeypatch, folder)

    app = open_at(populated)
    try:
        backup = app.store.last_backup
        assert app.store.schema_revision() == PROBE
        assert app.integrity.verify().ok
        assert app.integrity.doctor({})["foreign_key_check"] == "ok"
        assert app.timeline.count(app.incidents.get("INC-0001").id) == 3
    finally:
        app.close()
    assert "region" in _columns(populated, "incidents")
    assert counts(populated) == before

    assert backup is not None and backup.is_file() and f"before-upgrade-from-{SCHEMA_HEAD}" in backup.name
    assert _revision(backup) == SCHEMA_HEAD and "region" not in _columns(backup, "incidents")
    assert counts(backup) == before
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
    conn.close()


def test_a_failing_upgrade_leaves_the_database_as_it_was(populated, tmp_path, monkeypatch):
    folder = _migrations_with(
        tmp_path,
        """
        def upgrade():
            op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
            raise RuntimeError("the migration hit a bug half-way")
        """,
    )
    before = counts(populated)
    _newer_sitrep(monkeypatch, folder)
    with pytest.raises(RuntimeError, match="half-way"):
        open_at(populated)
    assert _revision(populated) == SCHEMA_HEAD
    with sqlite3.connect(populated) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "half_done" not in tables
    assert counts(populated) == before
    assert len(list((populated.parent / "backups").glob(f"*before-upgrade-from-{SCHEMA_HEAD}.db"))) == 1


def test_an_upgrade_that_would_orphan_rows_is_rolled_back(populated, tmp_path, monkeypatch):
    folder = _migrations_with(
        tmp_path,
        """
        def upgrade():
            op.execute("DELETE FROM people")
        """,
    )
    before = counts(populated)
    _newer_sitrep(monkeypatch, folder)
    with pytest.raises(StoreError, match="rows pointing at nothing \\(in role_assignments\\).*rolled back"):
        open_at(populated)
    assert _revision(populated) == SCHEMA_HEAD
    assert counts(populated) == before


def test_a_fresh_database_is_created_without_a_backup(data_dir):
    app = open_at(data_dir / "sitrep.db")
    try:
        assert app.store.last_backup is None and app.store.schema_revision() == SCHEMA_HEAD
    finally:
        app.close()
    assert not (data_dir / "backups").exists() or not any((data_dir / "backups").iterdir())


def test_a_broken_change_listener_does_not_undo_the_change_or_silence_the_others(sitrep, caplog):
    heard = []

    def broken(change) -> None:
        raise RuntimeError("panel crashed")

    sitrep.changes.subscribe(broken)
    unsubscribe = sitrep.changes.subscribe(heard.append)
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    entry = sitrep.timeline.log(inc.id, "Errors at 40%", author="ana")
    assert [(c.topic, c.incident_id, c.seq) for c in heard] == [
        ("incident", inc.id, None),
        ("timeline", inc.id, entry.seq),
    ]
    assert sitrep.timeline.count(inc.id) == 2
    assert "change listener failed" in caplog.text
    unsubscribe()
    sitrep.timeline.log(inc.id, "Rolled back", author="ana")
    assert len(heard) == 2


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_runs_a_whole_incident(url, clock):
    from whole_incident import run_with_services

    app = Sitrep.open(url, now=clock)
    try:
        key = run_with_services(app, clock)
        assert app.timeline.count(app.incidents.get(key).id) == 14
        assert app.integrity.verify(key).ok and app.store.backup() is None
    finally:
        app.close()


def test_the_command_line_takes_any_database_url(run_cli):
    code, out, err = run_cli("--db", "sqlite://", "list")
    assert (code, out.strip(), err) == (0, "No incidents.", "")


def test_two_programs_appending_at_once_keep_one_unbroken_chain(populated):
    """The console and a command line on the same file: writes queue, numbers never collide."""
    import threading

    first, second = open_at(populated), open_at(populated)
    try:
        inc = first.incidents.get("INC-0001")
        start = first.timeline.count(inc.id)
        errors: list[BaseException] = []

        def append(app, who: str) -> None:
            try:
                for n in range(40):
                    app.timeline.log(inc.id, f"{who} {n}", author=who)
            except BaseException as exc:  # reported below; a thread's exception would vanish otherwise
                errors.append(exc)

        threads = [threading.Thread(target=append, args=(a, w)) for a, w in ((first, "ana"), (second, "ben"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        entries = first.timeline.entries(inc.id)
        assert [e.seq for e in entries] == list(range(1, start + 81))
        assert [e.body for e in entries if e.author == "ben"] == [f"ben {n}" for n in range(40)]
        assert second.integrity.verify().ok
    finally:
        first.close()
        second.close()
