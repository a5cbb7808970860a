"""The durations index (models/metric_durations.py, migration 0022) and the metric tables read from it.

Two claims: the index holds exactly what the incidents say after every kind of write (the services,
another connection, the history import, an exchange import, corrections, deletion, an upgraded store), and a
table read from it (services/analytics/metrics_durations.py) is equal, figure for figure, to the table the
engine computes from every incident (the reference, `read_durations = False`).
"""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models import metric_durations
from models.enums import Milestone
from models.milestone_numbers import num_column, number_sql
from models.types import iso
from services.analytics import history_import
from services.analytics.metrics import Figures, MetricFilter, check_figures
from services.analytics.metrics_durations import serves
from services.analytics.sample_history import generate, write_csv
from services.core import Sitrep
from services.storage.store import Store
from tests.store_kit import store_at_revision
from tests.test_milestone_numbers import _insert
from tests.test_milestone_numbers import _raw_rows as numbers_raw_rows

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
# Several services per incident, none, a repeated one; no two names that differ only in case (that case is
# declined and tested on its own).
SERVICES = (
    ["checkout"],
    ["ledger", "checkout"],
    [],
    ["search"],
    ["auth", "ledger", "search"],
    ["ledger", "ledger"],
)
FIGURES = (
    Figures(),
    Figures(percentiles=(0.0, 12.5, 99.0, 100.0), share_under=(("1m", 1.0), ("1h", 60.0), ("0", 0.0))),
)
SERVED = ("service", "severity", "all")
FILTERS = (
    MetricFilter(include_exercises=True),
    MetricFilter(exclude_flagged=True),
    MetricFilter(services=("checkout",)),
    MetricFilter(severities=("SEV2",)),
    MetricFilter(since=T0 - timedelta(days=300)),
)


def _raw_rows(seed: int, first_number: int, count: int, services=SERVICES) -> list[dict]:
    """The milestone-number tests' raw incidents (missing and out-of-order milestones, times microseconds
    apart, exercises, flagged pairs, affected users missing or zero), on these services."""
    rng = random.Random(seed)
    rows = numbers_raw_rows(seed, first_number, count)
    for row in rows:
        row["services"] = json.dumps(rng.choice(services))
    return rows


def _stored_and_expected(db: Path) -> tuple[list, list]:
    """The index as kept, and as computed afresh from the incidents by the back-fill's own SELECT."""
    conn = sqlite3.connect(db)
    try:
        order = " ORDER BY 1, 2, 3"
        stored = conn.execute(f"SELECT * FROM {metric_durations.TABLE_NAME}{order}").fetchall()
        expected = conn.execute(metric_durations.rows_select("1 = 1") + order).fetchall()
    finally:
        conn.close()
    return stored, expected


def assert_index_in_step(app: Sitrep) -> None:
    stored, expected = _stored_and_expected(app.store.path)
    assert stored == expected
    # Every incident has its whole row for every span: the index is not empty by accident.
    conn = sqlite3.connect(app.store.path)
    incidents = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    conn.close()
    assert sum(1 for r in stored if r[2] == 0) == incidents * len(metric_durations.SPANS)
    # The counts are the rows counted: per service (every row), per severity and all (whole incidents).
    want: dict[tuple, list[int]] = {}
    for _number, span, slot, service, exercise, severity, value, l2, l1, l0, *_who in stored:
        keys = [("service", service)] + ([("severity", severity), ("all", "")] if slot == 0 else [])
        for grouping, grp in keys:
            c = want.setdefault((span, exercise, grouping, grp), [0, 0, 0, 0, 0, 0])
            exact = l0 is not None
            for k, add in enumerate(
                (
                    value is not None,
                    value is None,
                    exact,
                    l2 if exact else 0,
                    l1 if exact else 0,
                    l0 if exact else 0,
                )
            ):
                c[k] += add
    conn = sqlite3.connect(app.store.path)
    got = {
        tuple(r[:4]): list(r[4:])
        for r in conn.execute(
            f"SELECT span, is_exercise, grouping, grp, counted, left_out, exact, l2, l1, l0 FROM {metric_durations.COUNTS_NAME} "
            "WHERE counted + left_out > 0"
        )
    }
    conn.close()
    assert {k: v for k, v in got.items() if want.get(k) != v} == {
        k: v for k, v in want.items() if got.get(k) != v
    }


def assert_tables_equal(app: Sitrep, *, served: bool = True) -> int:
    """Every table the index serves equals the reference; returns how many were read from the index."""
    svc = app.metrics
    read = 0
    for metric_id, metric in svc.definitions.items():
        for grouping in (*SERVED, "type", "month"):
            for figures in FIGURES:
                svc.read_durations = False
                want = svc.table(metric_id, grouping, None, figures)
                fast = svc._durations_table(metric, grouping, MetricFilter(), check_figures(figures))
                svc.read_durations = True
                got = svc.table(metric_id, grouping, None, figures)
                assert got == want, f"{metric_id} by {grouping}"
                if fast is not None:
                    assert fast == want, f"{metric_id} by {grouping} (read from the index)"
                    read += 1
    if served:
        # Every shipped duration metric, by each grouping the index serves, with and without extra figures.
        assert read == 6 * len(SERVED) * len(FIGURES)
    return read


@pytest.fixture
def history(sitrep, clock, tmp_path) -> Sitrep:
    """Imported history, raw rows from another connection, incidents run through the services."""
    csv_path = write_csv(
        generate(200, seed=31, start=datetime(2024, 1, 1, tzinfo=UTC), end=T0), tmp_path / "h.csv"
    )
    sitrep.history.import_file(csv_path, author="tester")
    _insert(sitrep.store.path, _raw_rows(seed=8, first_number=1000, count=400))
    for k, exercise in enumerate((False, True)):
        inc = sitrep.incidents.declare(
            f"Checkout failing {k}", "SEV2", author="ana", services=["checkout", "ledger"], is_exercise=exercise,
            impact_started_at=clock() - timedelta(minutes=30), detected_at=clock() - timedelta(minutes=10),
        )  # fmt: skip
        clock.advance(minutes=20)
        sitrep.incidents.set_status(inc.id, "mitigated", author="ana")
        sitrep.incidents.set_milestone(
            inc.id, "detected", clock() - timedelta(minutes=25), author="ana", reason="log"
        )
        clock.advance(minutes=15)
        sitrep.incidents.set_status(inc.id, "resolved", author="ana")
    return sitrep


def test_tables_read_from_the_index_equal_the_engines_computation(history):
    assert_index_in_step(history)
    assert_tables_equal(history)


def test_every_write_keeps_the_index_in_step(history, clock):
    app = history
    inc = app.incidents.declare(
        "Ledger slow",
        "SEV3",
        author="ana",
        services=["ledger"],
        impact_started_at=clock() - timedelta(minutes=50),
    )
    assert_index_in_step(app)
    # Corrections through the services: a milestone moved, cleared, the severity changed.
    app.incidents.set_milestone(inc.id, "detected", clock() - timedelta(minutes=40), author="ana")
    app.incidents.set_milestone(inc.id, "resolved", clock(), author="ana", reason="from the log")
    app.incidents.set_milestone(inc.id, "detected", None, author="ana", reason="wrong")
    app.incidents.set_severity(inc.id, "SEV1", author="ana", reason="worse than thought")
    assert_index_in_step(app)
    assert_tables_equal(app)
    # Another connection: milestones, services, severity, the exercise flag, affected users, deletion.
    conn = sqlite3.connect(app.store.path)
    with conn:
        conn.execute("UPDATE incidents SET resolved_at = '2025-01-01T00:00:00.000700Z' WHERE number % 7 = 0")
        conn.execute("UPDATE incidents SET detected_at = NULL WHERE number % 11 = 0")
        conn.execute("""UPDATE incidents SET services = '["auth", "search"]' WHERE number % 13 = 0""")
        conn.execute("UPDATE incidents SET services = '[]' WHERE number % 17 = 0")
        conn.execute("UPDATE incidents SET severity = 'SEV1' WHERE number % 19 = 0")
        conn.execute("UPDATE incidents SET is_exercise = 1 - is_exercise WHERE number % 23 = 0")
        conn.execute("UPDATE incidents SET affected_users = NULL WHERE number % 5 = 0")
        conn.execute("DELETE FROM incidents WHERE number % 29 = 0")
    conn.close()
    assert_index_in_step(app)
    assert_tables_equal(app)


def test_filters_the_index_cannot_serve_give_the_engines_answer(history):
    svc = history.metrics
    for flt in FILTERS:
        for by in SERVED:
            assert serves(svc.definition("time_to_resolve"), by, flt) is None
            svc.read_durations = False
            want = svc.table("time_to_resolve", by, flt)
            svc.read_durations = True
            assert svc.table("time_to_resolve", by, flt) == want


def test_a_users_own_definition_is_computed_the_old_way(tmp_path):
    (tmp_path / "metrics.toml").write_text(
        '[[metric]]\nid = "time_to_resolve"\nlabel = "Time to resolve"\nkind = "duration"\n'
        'start = "detected"\nend = "resolved"\n',
        encoding="utf-8",
    )
    app = Sitrep.open(f"sqlite:///{tmp_path / 's.db'}", config_dir=tmp_path)
    try:
        _insert(app.store.path, _raw_rows(seed=3, first_number=1, count=150))
        metric = app.metrics.definition("time_to_resolve")
        assert serves(metric, "service", MetricFilter()) is None
        assert serves(app.metrics.definition("time_to_detect"), "service", MetricFilter()) is not None
        assert_tables_equal(app, served=False)
    finally:
        app.close()


def test_service_names_differing_only_in_case_keep_the_engines_order(sitrep):
    rows = _raw_rows(
        seed=4, first_number=1, count=200, services=(["checkout"], ["Checkout", "auth"], ["auth"])
    )
    _insert(sitrep.store.path, rows)
    metric = sitrep.metrics.definition("time_to_resolve")
    assert sitrep.metrics._durations_table(metric, "service", MetricFilter(), Figures()) is None  # declined
    sitrep.metrics.read_durations = False
    want = sitrep.metrics.table("time_to_resolve", "service")
    sitrep.metrics.read_durations = True
    assert sitrep.metrics.table("time_to_resolve", "service") == want
    assert [g.group for g in want.groups][1:3] in (["checkout", "Checkout"], ["Checkout", "checkout"])


def test_an_empty_store_and_a_store_of_left_out_incidents(sitrep):
    assert_tables_equal(sitrep)
    _insert(
        sitrep.store.path, [{**r, "resolved_at": None} for r in _raw_rows(seed=9, first_number=1, count=30)]
    )
    assert_index_in_step(sitrep)
    table = sitrep.metrics.table("time_to_resolve", "service")
    assert table.groups == [] and table.overall.count == 0 and len(table.excluded) > 20
    assert_tables_equal(sitrep)


def test_an_exchange_import_fills_the_index(history, tmp_path, clock):
    # The raw rows hold contradictions an exchange import refuses; everything else travels.
    conn = sqlite3.connect(history.store.path)
    keys = [k for (k,) in conn.execute("SELECT key FROM incidents WHERE key NOT LIKE 'RAW-%'")]
    conn.close()
    doc = history.exchange.export(keys)
    target = Sitrep.open(f"sqlite:///{tmp_path / 'other.db'}", now=clock)
    try:
        path = tmp_path / "export.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        target.exchange.import_file(path)
        assert_index_in_step(target)
        assert_tables_equal(target)
    finally:
        target.close()


def test_an_upgraded_store_gets_its_index_back_filled(tmp_path):
    db = tmp_path / "old.db"
    store_at_revision(db, "0021")
    _insert(db, _raw_rows(seed=12, first_number=1, count=300))
    conn = sqlite3.connect(db)
    try:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (metric_durations.TABLE_NAME,)).fetchone()
    finally:
        conn.close()
    app = Sitrep.open(f"sqlite:///{db}")  # opening upgrades to the head
    try:
        assert_index_in_step(app)
        assert_tables_equal(app)
    finally:
        app.close()


def _schema(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()


def test_an_import_writes_the_index_at_once_and_leaves_the_schema_as_it_was(sitrep, tmp_path, migrated_db):
    """The history import holds the per-incident trigger for its transaction (history_import._hold_durations):
    afterwards the schema is the schema, and the index is what the trigger would have written."""
    statuspage = Path(__file__).parent / "data" / "statuspage" / "incidents.json"
    sitrep.history.import_file(statuspage, author="tester")
    csv_path = write_csv(
        generate(150, seed=41, start=datetime(2024, 1, 1, tzinfo=UTC), end=T0), tmp_path / "h.csv"
    )
    sitrep.history.import_file(csv_path, author="tester")
    assert _schema(sitrep.store.path) == _schema(migrated_db)
    # The numbers the import computed in its INSERT are the numbers the trigger computes from the text.
    conn = sqlite3.connect(sitrep.store.path)
    for m in Milestone:
        col, num = m.column, num_column(m)
        assert conn.execute(
            f"SELECT count(*) FROM incidents WHERE {num} IS NOT {number_sql(col)}"
        ).fetchone() == (0,)
        assert conn.execute(f"SELECT count(*) FROM incidents WHERE {col} IS NOT NULL").fetchone()[
            0
        ] > 0 or m in (
            Milestone.IC_ASSIGNED,
            Milestone.BRIDGE_OPENED,
        )
    conn.close()
    assert_index_in_step(sitrep)
    assert_tables_equal(sitrep)
    # Another incident after the import still gets its rows from the trigger, through the numbers or not.
    _insert(sitrep.store.path, _raw_rows(seed=2, first_number=5000, count=20))
    assert_index_in_step(sitrep)


def test_a_failed_import_keeps_the_trigger(sitrep, tmp_path, migrated_db, monkeypatch):
    def broken(conn, first_number):
        raise history_import.StoreError("the disk is full")

    monkeypatch.setattr(history_import, "_fill_durations", broken)
    csv_path = write_csv(
        generate(20, seed=43, start=datetime(2024, 1, 1, tzinfo=UTC), end=T0), tmp_path / "h.csv"
    )
    with pytest.raises(history_import.StoreError):
        sitrep.history.import_file(csv_path, author="tester")
    assert _schema(sitrep.store.path) == _schema(migrated_db)
    _insert(sitrep.store.path, _raw_rows(seed=2, first_number=5000, count=20))
    assert_index_in_step(sitrep)


def test_migrated_and_created_stores_have_the_same_triggers(tmp_path):
    """The migrations and the models make the same triggers, word for word (a store's figures must not
    depend on when it was made)."""
    created, migrated = tmp_path / "created.db", tmp_path / "migrated.db"
    Store.open(f"sqlite:///{created}").close()
    store = Store(f"sqlite:///{migrated}", None)
    try:
        store._enable_wal()
        store._upgrade()
    finally:
        store.close()

    def triggers(db: Path) -> list[tuple]:
        conn = sqlite3.connect(db)
        try:
            return conn.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            ).fetchall()
        finally:
            conn.close()

    made = triggers(created)
    assert made == triggers(migrated)
    assert {n for n, *_ in made} >= set(metric_durations.TRIGGER_NAMES)


def test_services_that_are_not_json_do_not_fail_a_write(sitrep):
    rows = _raw_rows(seed=6, first_number=1, count=40)
    # Not JSON, written by hand from elsewhere, on an incident that counts for time to resolve.
    rows[3].update({m.column: None for m in Milestone})
    rows[3].update(
        services="checkout, ledger",
        is_exercise=0,
        impact_started_at=iso(T0),
        resolved_at=iso(T0 + timedelta(hours=1)),
    )
    _insert(sitrep.store.path, rows)
    assert_index_in_step(sitrep)
    metric = sitrep.metrics.definition("time_to_resolve")
    assert sitrep.metrics._durations_table(metric, "service", MetricFilter(), Figures()) is None
    assert sitrep.metrics._durations_table(metric, "all", MetricFilter(), Figures()) is not None
    for by in ("all", "severity"):  # the engine reads no services there (nor can it anywhere else)
        for metric_id in ("time_to_resolve", "customer_impact"):
            sitrep.metrics.read_durations = False
            want = sitrep.metrics.table(metric_id, by)
            sitrep.metrics.read_durations = True
            assert sitrep.metrics.table(metric_id, by) == want
