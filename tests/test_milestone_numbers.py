"""Milestone times as numbers (models/milestone_numbers.py, migration 0018).

Every writer keeps the numbers equal to the text (the triggers), a store made at the previous head gets them
back-filled, and every figure computed from them is exactly what the definition before them computed from
the text with julianday(): the same values to the last bit, the same incidents left out with the same words.
"""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from models.enums import Milestone
from models.migrations import SCHEMA_HEAD
from models.milestone_numbers import num_column, number_sql
from models.types import iso
from services.analytics.metrics import NO_SERVICE, MetricFilter
from services.analytics.metrics_sql import ANCHOR, group_expr, minutes_sql, moment, reason_expr
from services.analytics.sample_history import generate, write_csv
from services.core import Sitrep
from tests.store_kit import store_at_revision

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
SERVICES = (["checkout"], ["ledger", "checkout"], [], ["search"], ["Checkout", "auth"], ["ledger"])
FILTERS = {
    "default": MetricFilter(),
    "exercises": MetricFilter(include_exercises=True),
    "exclude_flagged": MetricFilter(exclude_flagged=True),
    "checkout": MetricFilter(services=("checkout",)),
    "sev_and_period": MetricFilter(severities=("SEV2", "unknown"), since=T0 - timedelta(days=400)),
}
BYS = ("all", "service", "severity", "month")


def _raw_rows(seed: int, first_number: int, count: int) -> list[dict]:
    """Incidents as data from elsewhere may hold them: any milestone missing, any order, times a few
    microseconds apart (the same millisecond, different text), flagged pairs, exercises."""
    rng = random.Random(seed)
    rows = []
    for n in range(first_number, first_number + count):
        base = T0 - timedelta(days=rng.randint(0, 700), microseconds=rng.randint(0, 999_999))
        times: dict[str, str | None] = {}
        for k, m in enumerate(Milestone):
            pick = rng.random()
            if pick < 0.15:
                times[m.column] = None
            elif pick < 0.25:  # the same millisecond as the start, a few microseconds either side
                times[m.column] = iso(base + timedelta(microseconds=rng.randint(-400, 400)))
            elif pick < 0.32:  # out of order
                times[m.column] = iso(base - timedelta(minutes=rng.randint(1, 300), microseconds=rng.randint(0, 999)))
            else:
                times[m.column] = iso(base + timedelta(minutes=k * rng.randint(1, 90), microseconds=rng.randint(0, 999_999)))
        rows.append({
            "id": f"raw-{n}", "number": n, "key": f"RAW-{n:05d}", "title": "raw", "summary": "",
            "incident_type": rng.choice(["service_outage", "security"]), "severity": rng.choice(["SEV1", "SEV2", "unknown"]),
            "status": "resolved", "is_major": 0, "is_exercise": int(rng.random() < 0.1),
            "services": json.dumps(rng.choice(SERVICES)), "affected_users": rng.choice([None, 0, 17, 2500]),
            "source": "test", "created_at": iso(T0), "updated_at": iso(T0),
            "flagged_pairs": rng.choice(['[]', '[]', '[["mitigated", "resolved"]]']), **times,
        })  # fmt: skip
    return rows


def _insert(db: Path, rows: list[dict]) -> None:
    cols = list(rows[0])
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            f"INSERT INTO incidents ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [tuple(r[c] for c in cols) for r in rows],
        )
    conn.close()


def _history(app: Sitrep, folder: Path, clock) -> None:
    """Imported history, raw rows from another connection, and incidents run through the services:
    milestones corrected and cleared, an incident resolved, reopened and resolved again, an exercise."""
    csv_path = write_csv(generate(300, seed=23, start=datetime(2024, 1, 1, tzinfo=UTC), end=T0), folder / "h.csv")
    app.history.import_file(csv_path, author="tester")
    _insert(app.store.path, _raw_rows(seed=5, first_number=1000, count=400))
    for k, exercise in enumerate((False, False, True)):
        inc = app.incidents.declare(
            f"Checkout failing {k}", "SEV2", author="ana", services=["checkout", "ledger"], is_exercise=exercise,
            impact_started_at=clock() - timedelta(minutes=30), detected_at=clock() - timedelta(minutes=10),
        )  # fmt: skip
        clock.advance(minutes=20)
        app.incidents.set_status(inc.id, "mitigated", author="ana")
        app.incidents.set_milestone(inc.id, "detected", clock() - timedelta(minutes=25), author="ana", reason="log")
        app.incidents.set_milestone(inc.id, "acknowledged", clock() - timedelta(minutes=22), author="ana")
        app.incidents.set_milestone(inc.id, "acknowledged", None, author="ana", reason="wrong person")
        clock.advance(minutes=15)
        app.incidents.set_status(inc.id, "resolved", author="ana")
        if k == 1:
            clock.advance(minutes=5)
            app.incidents.set_status(inc.id, "investigating", author="ana", reason="it came back")
            clock.advance(minutes=45)
            app.incidents.set_status(inc.id, "resolved", author="ana")
    # A milestone rewritten behind the services' back, from another connection (the update trigger).
    conn = sqlite3.connect(app.store.path)
    with conn:
        conn.execute("UPDATE incidents SET resolved_at = '2025-01-01T00:00:00.000700Z' WHERE number % 7 = 0")
        conn.execute("UPDATE incidents SET detected_at = NULL WHERE number % 11 = 0")
    conn.close()


def _old_samples(db: Path, app: Sitrep, metric_id: str, by: str, flt: MetricFilter):
    """The figures as the engine computed them before the numbers: julianday() over the text, every row's
    reason by the worded rule, grouped in Python."""
    svc = app.metrics
    metric = svc.definition(metric_id)
    flt = svc._normalise(flt)
    where = svc._where(flt, by_service=False)
    value = minutes_sql(moment(metric.start), moment(metric.end))
    if metric.kind == "impact":
        value = f"({value} * i.affected_users)"
    group = "i.services" if by == "service" else group_expr(by, ANCHOR)
    sql = (
        f"SELECT {group}, i.id, i.key, {reason_expr(metric, flt)}, {value} FROM incidents AS i "
        f"WHERE {where.sql()} ORDER BY i.number"
    )
    conn = sqlite3.connect(db)
    rows = conn.execute(sql, where.params).fetchall()
    conn.close()
    wanted = {s.lower() for s in flt.services}
    groups: dict[str, list[float]] = {}
    overall: list[float] = []
    excluded = []
    for grp, incident_id, key, reason, val in rows:
        if reason is not None:
            excluded.append((incident_id, key, reason))
            continue
        overall.append(val)
        if by == "service":
            names = [n for n in json.loads(grp) if not wanted or n.lower() in wanted] or ([] if wanted else [NO_SERVICE])
        else:
            names = [grp]
        for name in names:
            groups.setdefault(name, []).append(val)
    return {g: sorted(v) for g, v in groups.items()}, sorted(overall), excluded


def _assert_same_figures(app: Sitrep) -> int:
    checked = 0
    for metric_id, metric in app.metrics.definitions.items():
        if metric.kind == "between":
            continue
        for by in BYS:
            for name, flt in FILTERS.items():
                groups, overall, excluded = _old_samples(app.store.path, app, metric_id, by, flt)
                got = app.metrics.samples(metric_id, by, flt)
                where = f"{metric_id}/{by}/{name}"
                assert got.overall == overall, where
                assert got.groups == groups, where
                assert [(x.incident_id, x.key, x.reason) for x in got.excluded] == excluded, where
                checked += len(overall) + len(excluded)
    return checked


def _assert_numbers_match_text(db: Path) -> None:
    conn = sqlite3.connect(db)
    for m in Milestone:
        wrong = conn.execute(
            f"SELECT count(*) FROM incidents WHERE {num_column(m)} IS NOT {number_sql(m.column)}"
        ).fetchone()[0]
        ms_off = conn.execute(
            f"SELECT count(*) FROM incidents WHERE {num_column(m)} >> 12 IS NOT "
            f"CAST(ROUND(julianday({m.column}) * 86400000.0) AS INTEGER)"
        ).fetchone()[0]
        assert (wrong, ms_off) == (0, 0), m
    conn.close()


def test_numbers_compare_as_the_text_and_round_as_julianday():
    conn = sqlite3.connect(":memory:")
    rng = random.Random(7)
    fractions = [0, 1, 499, 500, 501, 999, 999_499, 999_500, 999_501, 999_999]
    texts = []
    for _ in range(3000):
        t = datetime(rng.choice([1000, 1970, 2025, 2038]), rng.randint(1, 12), rng.randint(1, 28),
                     rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), tzinfo=UTC)  # fmt: skip
        texts.append(iso(t.replace(microsecond=rng.choice(fractions + [rng.randint(0, 999_999)]))))
    rows = [conn.execute(f"SELECT ?1, {number_sql('?1')}, julianday(?1)", (t,)).fetchone() for t in texts]
    for (ta, na, ja), (tb, nb, jb) in zip(rows, rows[1:] + rows[:1], strict=True):
        assert (na < nb, na == nb) == (ta < tb, ta == tb), (ta, tb)
        assert (nb >> 12) - (na >> 12) == round((jb - ja) * 86400000.0), (ta, tb)


def test_every_writer_keeps_the_numbers_and_the_figures_are_unchanged(tmp_path, clock):
    app = Sitrep.open(f"sqlite:///{tmp_path / 'sitrep.db'}", backups_dir=tmp_path / "backups", now=clock)
    try:
        _history(app, tmp_path, clock)
        _assert_numbers_match_text(app.store.path)
        assert _assert_same_figures(app) > 10_000
    finally:
        app.close()


def test_a_store_made_at_the_previous_head_is_back_filled(tmp_path):
    db = tmp_path / "old.db"
    store_at_revision(db, "0013")
    _insert(db, _raw_rows(seed=9, first_number=1, count=500))
    app = Sitrep.open(f"sqlite:///{db}", backups_dir=tmp_path / "backups")
    try:
        assert app.store.schema_revision() == SCHEMA_HEAD
        conn = sqlite3.connect(db)
        filled = conn.execute("SELECT count(*) FROM incidents WHERE resolved_at_num IS NOT NULL").fetchone()[0]
        conn.close()
        assert filled > 300
        _assert_numbers_match_text(db)
        assert _assert_same_figures(app) > 1_000
        # Written after the upgrade, from another connection: the triggers the migration made keep up.
        _insert(db, _raw_rows(seed=10, first_number=600, count=50))
        _assert_numbers_match_text(db)
    finally:
        app.close()


def test_a_new_store_made_from_the_models_has_the_triggers(tmp_path):
    """The start-up path may create a new store from the models rather than the migrations."""
    from models.entities import Base

    engine = create_engine(f"sqlite:///{tmp_path / 'made.db'}")
    Base.metadata.create_all(engine)
    engine.dispose()
    _insert(tmp_path / "made.db", _raw_rows(seed=3, first_number=1, count=40))
    _assert_numbers_match_text(tmp_path / "made.db")


@pytest.mark.parametrize("metric", ["time_to_resolve", "customer_impact"])
def test_points_carry_the_same_values(tmp_path, clock, metric):
    app = Sitrep.open(f"sqlite:///{tmp_path / 'sitrep.db'}", backups_dir=tmp_path / "backups", now=clock)
    try:
        _insert(app.store.path, _raw_rows(seed=12, first_number=1, count=300))
        points, excluded = app.metrics.points(metric)
        groups, overall, old_excluded = _old_samples(app.store.path, app, metric, "all", MetricFilter())
        assert sorted(p.value for p in points) == overall
        assert {x.incident_id for x in excluded} == {x[0] for x in old_excluded}
    finally:
        app.close()
