"""The metric engine against a straightforward reference computation over the same rows.

The reference reads every incident through the ORM and computes each figure with datetime arithmetic and the
statistics module: no SQL, no shared code with services.analytics.metrics beyond the data.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from models.entities import Incident
from models.enums import Milestone
from models.types import new_id
from services.analytics.metrics import MetricFilter, format_minutes, format_user_minutes, load_definitions
from services.analytics.sample_history import generate, write_csv
from services.core import Sitrep
from services.errors import ValidationError

M = Milestone
# What must lie between each shipped metric's two milestones, written out by hand from the milestone order
# (impact started ≤ detected ≤ acknowledged ≤ mitigated ≤ resolved; detected ≤ declared ≤ resolved).
BETWEEN = {
    "time_to_detect": (),
    "time_to_acknowledge": (),
    "time_to_mitigate": (M.DETECTED, M.ACKNOWLEDGED),
    "time_to_resolve": (M.DETECTED, M.ACKNOWLEDGED, M.DECLARED, M.MITIGATED),
    "customer_impact": (M.DETECTED, M.ACKNOWLEDGED),
    "time_to_declare": (),
}
PAIRS = {
    "time_to_detect": (M.IMPACT_STARTED, M.DETECTED),
    "time_to_acknowledge": (M.DETECTED, M.ACKNOWLEDGED),
    "time_to_mitigate": (M.IMPACT_STARTED, M.MITIGATED),
    "time_to_resolve": (M.IMPACT_STARTED, M.RESOLVED),
    "customer_impact": (M.IMPACT_STARTED, M.MITIGATED),
    "time_to_declare": (M.DETECTED, M.DECLARED),
    "time_between_incidents": (M.IMPACT_STARTED, None),
}
SEV_ORDER = ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def insert_raw(app: Sitrep, number: int, **fields) -> str:
    """An incident written straight to the table, as data from elsewhere might be (no validation)."""
    row = {
        "id": new_id(),
        "number": number,
        "key": f"INC-{number:04d}",
        "title": fields.pop("title", "raw incident"),
        "summary": "",
        "incident_type": fields.pop("incident_type", "service_outage"),
        "severity": fields.pop("severity", "SEV2"),
        "status": "resolved",
        "is_major": False,
        "is_exercise": fields.pop("is_exercise", False),
        "services": fields.pop("services", ["checkout"]),
        "affected_users": fields.pop("affected_users", None),
        "error_rate_pct": None,
        "source": "test",
        "external_ref": None,
        "created_at": T0,
        "updated_at": T0,
    }
    for m in Milestone:
        row[m.column] = fields.pop(m.value, None)
    row.setdefault("declared_at", T0)
    if row["declared_at"] is None:
        row["declared_at"] = T0
    assert not fields, fields
    with app.store.write_connection() as conn:
        conn.execute(insert(Incident.__table__), row)
    return row["id"]


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Sitrep:
    """About 1,500 generated incidents plus hand-made awkward ones, in one store shared by the module."""
    d: Path = tmp_path_factory.mktemp("metrics")

    def clock() -> datetime:
        return datetime(2026, 3, 14, 9, 0, tzinfo=UTC)

    app = Sitrep.open(f"sqlite:///{d / 'sitrep.db'}", backups_dir=d / "backups", now=clock, config_dir=d)
    (d / "metrics.toml").write_text(
        '[[metric]]\nid = "time_to_declare"\nlabel = "Time to declare"\nshort = "TTDecl"\nkind = "duration"\n'
        'start = "detected"\nend = "declared"\ndescription = "Detection to declaration."\n',
        encoding="utf-8",
    )
    app.metrics.reload_definitions()
    csv_path = write_csv(
        generate(1500, seed=11, start=datetime(2024, 9, 1, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC)),
        d / "h.csv",
    )
    report = app.history.import_file(csv_path, author="tester")
    assert not report.problems and len(report.created) == 1500
    n = 1501
    awkward = [
        # resolved before detected: out of order for TTR, fine for TTD
        dict(impact_started=T0, detected=T0 + timedelta(minutes=30), resolved=T0 + timedelta(minutes=20)),
        # mitigated before impact started
        dict(impact_started=T0, detected=T0 + timedelta(minutes=1), mitigated=T0 - timedelta(minutes=5)),
        # nothing but the declaration
        dict(),
        # an exercise with perfect data
        dict(
            is_exercise=True,
            impact_started=T0,
            detected=T0 + timedelta(minutes=2),
            acknowledged=T0 + timedelta(minutes=3),
            mitigated=T0 + timedelta(minutes=9),
            resolved=T0 + timedelta(minutes=19),
            affected_users=100,
        ),  # fmt: skip
        # no services at all
        dict(
            services=[],
            impact_started=T0,
            detected=T0 + timedelta(minutes=4),
            mitigated=T0 + timedelta(hours=1),
            resolved=T0 + timedelta(hours=2),
        ),  # fmt: skip
        # two incidents starting at the same moment on the same service (a tie in "between")
        dict(services=["ledger"], impact_started=T0, detected=T0 + timedelta(minutes=1)),
        dict(services=["ledger", "checkout"], impact_started=T0, detected=T0 + timedelta(minutes=2)),
        dict(
            services=["ledger"],
            impact_started=T0 + timedelta(days=2),
            detected=T0 + timedelta(days=2, minutes=3),
        ),
        # zero-length: detected at the very moment impact started
        dict(
            impact_started=T0,
            detected=T0,
            severity="SEV1",
            affected_users=0,
            mitigated=T0 + timedelta(hours=1),
        ),
        # a drill on an unusual service with a huge impact
        dict(
            is_exercise=True,
            services=["drills"],
            impact_started=T0,
            mitigated=T0 + timedelta(hours=3),
            affected_users=10**6,
        ),  # fmt: skip
    ]
    for fields in awkward:
        insert_raw(app, n, **fields)
        n += 1
    yield app
    app.close()


# -- the reference ----------------------------------------------------------------------------------------
def anchor(inc: Incident) -> datetime:
    return inc.impact_started_at or inc.detected_at or inc.declared_at


def group_of(inc: Incident, by: str) -> str:
    a = anchor(inc)
    if by == "severity":
        return inc.severity
    if by == "type":
        return inc.incident_type
    if by == "month":
        return f"{a.year:04d}-{a.month:02d}"
    if by == "quarter":
        return f"{a.year:04d}-Q{(a.month - 1) // 3 + 1}"
    if by == "week":
        return (a.date() - timedelta(days=a.weekday())).isoformat()
    return "all"


def selected(inc: Incident, flt: MetricFilter, *, with_period: bool = True) -> bool:
    if inc.is_exercise and not flt.include_exercises:
        return False
    if flt.severities and inc.severity not in flt.severities:
        return False
    if flt.incident_types and inc.incident_type not in flt.incident_types:
        return False
    wanted = {s.lower() for s in flt.services}
    if wanted and not any(s.lower() in wanted for s in inc.services):
        return False
    if with_period:
        if flt.since and anchor(inc) < flt.since:
            return False
        if flt.until and anchor(inc) >= flt.until:
            return False
    return True


_LOADED: dict[int, list[Incident]] = {}


def reference(app: Sitrep, metric: str, by: str, flt: MetricFilter):
    """(groups {name: sorted values}, overall sorted values, excluded keys) computed the plain way."""
    if id(app) not in _LOADED:
        with app.store.read() as s:
            _LOADED[id(app)] = list(s.scalars(select(Incident)))
    incidents = _LOADED[id(app)]
    wanted = {s.lower() for s in flt.services}
    start_m, end_m = PAIRS[metric]
    groups: dict[str, list[float]] = {}
    overall: list[float] = []
    excluded: set[str] = set()
    if metric == "time_between_incidents":
        per_service: dict[str, list[Incident]] = {}
        for inc in incidents:
            if not selected(inc, flt, with_period=False) or getattr(inc, start_m.column) is None:
                continue
            for svc in inc.services:
                if wanted and svc.lower() not in wanted:
                    continue
                per_service.setdefault(svc, []).append(inc)
        for svc, seq in per_service.items():
            seq.sort(key=lambda i: (i.impact_started_at, i.id))
            for this, nxt in zip(seq, seq[1:], strict=False):
                if not selected(this, flt):
                    continue
                value = (nxt.impact_started_at - this.impact_started_at).total_seconds() / 60
                key = svc if by == "service" else group_of(this, by)
                groups.setdefault(key, []).append(value)
                overall.append(value)
        for inc in incidents:
            if selected(inc, flt) and (not inc.services or inc.impact_started_at is None):
                excluded.add(inc.key)
    else:
        for inc in incidents:
            if not selected(inc, flt):
                continue
            s, e = getattr(inc, start_m.column), getattr(inc, end_m.column)
            inside = [getattr(inc, m.column) for m in BETWEEN[metric] if getattr(inc, m.column) is not None]
            ok = s is not None and e is not None and e >= s and all(s <= t <= e for t in inside)
            if metric == "customer_impact" and inc.affected_users is None:
                ok = False
            if not ok:
                excluded.add(inc.key)
                continue
            value = (e - s).total_seconds() / 60
            if metric == "customer_impact":
                value *= inc.affected_users
            overall.append(value)
            if by == "service":
                names = [sv for sv in inc.services if not wanted or sv.lower() in wanted] or ["(no service)"]
                for sv in names:
                    groups.setdefault(sv, []).append(value)
            else:
                groups.setdefault(group_of(inc, by), []).append(value)
    return {k: sorted(v) for k, v in groups.items()}, sorted(overall), excluded


def ref_stats(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    if len(values) == 1:
        p90 = q1 = q3 = values[0]
    else:
        p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {
        "count": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p90": p90,
        "min": min(values),
        "max": max(values),
        "q1": q1,
        "q3": q3,
    }


def assert_stats_equal(got, want: dict, where: str, scale: float = 1.0) -> None:
    assert got.count == want["count"], where
    for k in ("mean", "median", "p90", "min", "max", "q1", "q3"):
        if want["count"] == 0:
            assert getattr(got, k) is None, where
        else:
            # SQLite reads times to the millisecond; the reference is exact to the microsecond.
            assert math.isclose(getattr(got, k), want[k], rel_tol=1e-6, abs_tol=2e-5 * scale), (where, k)


FILTERS = {
    "default": MetricFilter(),
    "exercises": MetricFilter(include_exercises=True),
    "period+sev": MetricFilter(
        since=datetime(2025, 3, 1, tzinfo=UTC),
        until=datetime(2025, 11, 1, tzinfo=UTC),
        severities=("SEV1", "SEV2", "SEV3"),
    ),  # fmt: skip
    "services+type": MetricFilter(
        services=("Checkout", "ledger", "payments"),
        incident_types=("service_outage", "degraded_performance", "change_failure"),
    ),  # fmt: skip
}
METRICS = list(PAIRS)
BYS = ["all", "service", "severity", "type", "week", "month", "quarter"]


@pytest.mark.parametrize("flt_name", list(FILTERS))
@pytest.mark.parametrize("by", BYS)
@pytest.mark.parametrize("metric", METRICS)
def test_figures_equal_the_reference(history, metric, by, flt_name):
    flt = FILTERS[flt_name]
    table = history.metrics.table(metric, by, flt)
    groups, overall, excluded = reference(history, metric, by, flt)
    got = {g.group: g.stats for g in table.groups}
    assert set(got) == set(groups)
    scale = 10**6 if metric == "customer_impact" else 1.0  # a millisecond times up to a million users
    for name, values in groups.items():
        assert_stats_equal(got[name], ref_stats(values), f"{metric}/{by}/{flt_name}/{name}", scale)
    assert_stats_equal(table.overall, ref_stats(overall), f"{metric}/{by}/{flt_name}/overall", scale)
    assert {x.key for x in table.excluded} == excluded
    assert table.metric.id == metric


def test_the_reference_is_not_trivial(history):
    """Guard against a reference and an engine that agree because both see nothing."""
    table = history.metrics.table("time_to_resolve", "service")
    assert table.overall.count > 1000
    assert len(table.groups) >= 10
    assert 0 < len(table.excluded) < 300
    assert sum(g.stats.count for g in table.groups) > table.overall.count  # multi-service incidents


def test_out_of_order_milestones_are_excluded_with_the_reason(history):
    ttr = history.metrics.table("time_to_resolve")
    reasons = {x.key: x.reason for x in ttr.excluded}
    assert reasons["INC-1501"] == (
        "Detected (2025-06-02 08:30:00 UTC) is not between Impact started and Resolved"
    )
    assert reasons["INC-1503"] == "no Impact started or Resolved time"
    ttm = history.metrics.table("time_to_mitigate")
    assert {x.key: x.reason for x in ttm.excluded}["INC-1502"] == (
        "Mitigated (2025-06-02 07:55:00 UTC) is before Impact started (2025-06-02 08:00:00 UTC)"
    )
    # The same incident still counts where its milestones are in order.
    ttd = history.metrics.table("time_to_detect")
    assert "INC-1501" not in {x.key for x in ttd.excluded}
    assert ttd.overall.min >= 0
    assert all((g.stats.min or 0) >= 0 for t in history.metrics.tables() for g in t.groups)


def test_zero_is_a_real_value_not_a_gap(history):
    ttd = history.metrics.table(
        "time_to_detect", "severity", MetricFilter(since=T0, until=T0 + timedelta(minutes=1))
    )
    assert ttd.overall.min == 0
    impact = history.metrics.table(
        "customer_impact", "all", MetricFilter(since=T0, until=T0 + timedelta(minutes=1))
    )
    assert impact.overall.min == 0


def test_exercises_are_left_out_unless_asked(history):
    flt = MetricFilter(services=("drills",))
    assert history.metrics.table("customer_impact", "service", flt).overall.count == 0
    with_drills = history.metrics.table(
        "customer_impact", "service", MetricFilter(services=("drills",), include_exercises=True)
    )
    assert with_drills.overall.count == 1
    assert with_drills.groups[0].group == "drills"
    assert with_drills.overall.max == pytest.approx(180 * 10**6)


def test_between_counts_ties_and_each_service(history):
    samples = history.metrics.samples("time_between_incidents", "service", MetricFilter(services=("ledger",)))
    assert samples.groups == {"ledger": [0.0, 2 * 24 * 60]}
    assert "INC-1505" in {x.key for x in history.metrics.table("time_between_incidents").excluded}


def test_severity_groups_follow_the_matrix_order(history):
    table = history.metrics.table("time_to_acknowledge", "severity")
    assert [g.group for g in table.groups] == SEV_ORDER


def test_points_are_the_counted_incidents(history):
    points, excluded = history.metrics.points("time_to_resolve")
    table = history.metrics.table("time_to_resolve")
    assert len(points) == table.overall.count
    assert {x.key for x in excluded} == {x.key for x in table.excluded}
    assert [p.at for p in points] == sorted(p.at for p in points)
    values = sorted(p.value for p in points)
    assert math.isclose(statistics.median(values), table.overall.median, rel_tol=1e-9)
    tbi, _ = history.metrics.points("time_between_incidents", MetricFilter(services=("ledger",)))
    assert sorted(p.value for p in tbi) == [0.0, 2 * 24 * 60]
    assert {p.service for p in tbi} == {"ledger"}


def test_known_values_for_the_filter_pickers(history):
    known = history.metrics.known_values()
    assert "checkout" in known["services"] and "ledger" in known["services"]
    assert known["severities"] == SEV_ORDER
    assert "service_outage" in known["incident_types"]
    assert known["span"][0] < known["span"][1]


def test_definitions_ship_with_every_figure(history):
    table = history.metrics.table("ttr")
    d = table.as_dict()
    assert d["metric"]["formula"] == "resolved − impact started"
    assert d["metric"]["description"]
    assert d["metric"]["unit"] == "minutes"
    assert history.metrics.definition("TBI").id == "time_between_incidents"
    assert history.metrics.definition("customer-impact").unit == "user-minutes"
    assert history.metrics.definition("Time to detect").id == "time_to_detect"


def test_a_users_metric_named_with_hyphens_is_found_however_it_is_typed(tmp_path):
    from services.core import Sitrep

    (tmp_path / "metrics.toml").write_text(
        '[[metric]]\nid = "time-to-close"\nshort = "TTC"\nlabel = "Time to close"\nkind = "duration"\n'
        'start = "resolved"\nend = "closed"\n',
        encoding="utf-8",
    )
    app = Sitrep.open(f"sqlite:///{tmp_path / 's.db'}", config_dir=tmp_path)
    try:
        for typed in ("time-to-close", "time_to_close", "TTC", "Time to close"):
            assert app.metrics.definition(typed).id == "time-to-close"
    finally:
        app.close()


def test_user_definitions_override_add_and_hide(tmp_path):
    (tmp_path / "metrics.toml").write_text(
        '[[metric]]\nid = "time_to_resolve"\nstart = "declared"\ndescription = "Declared to resolved, as our '
        'SLA reads."\n\n[[metric]]\nid = "customer_impact"\nenabled = false\n\n[[metric]]\nid = "time_to_close"\n'
        'label = "Time to close"\nkind = "duration"\nstart = "resolved"\nend = "closed"\n',
        encoding="utf-8",
    )
    defs = load_definitions(tmp_path)
    assert defs["time_to_resolve"].start == (M.DECLARED,)
    assert defs["time_to_resolve"].label == "Time to resolve"  # kept from the shipped file
    assert "customer_impact" not in defs
    assert defs["time_to_close"].formula == "closed − resolved"
    assert list(defs)[-1] == "time_to_close"


@pytest.mark.parametrize(
    "text, fragment",
    [
        (
            '[[metric]]\nid = "x"\nlabel = "X"\nkind = "duration"\nstart = "detected"\nend = "fixed"\n',
            "not a milestone",
        ),
        (
            '[[metric]]\nid = "x"\nlabel = "X"\nkind = "median"\nstart = "detected"\nend = "resolved"\n',
            "kind 'median'",
        ),
        ('[[metric]]\nid = "x"\nkind = "duration"\nstart = "detected"\nend = "resolved"\n', "'label'"),
        ('[[metric]\nid = "x"', "cannot be read"),
        ('[[metric]]\nlabel = "no id"\n', "needs an 'id'"),
    ],
)
def test_a_broken_user_definition_is_reported_with_the_file(tmp_path, text, fragment):
    (tmp_path / "metrics.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_definitions(tmp_path)
    assert fragment in err.value.message
    assert "metrics.toml" in err.value.message


def test_unknown_metric_grouping_and_empty_period_are_refused(sitrep):
    with pytest.raises(ValidationError, match="Unknown metric 'mttr'"):
        sitrep.metrics.table("mttr")
    with pytest.raises(ValidationError, match="Cannot group by 'team'"):
        sitrep.metrics.table("ttr", "team")
    with pytest.raises(ValidationError, match="period is empty"):
        sitrep.metrics.table("ttr", "all", MetricFilter(since=T0, until=T0))
    with pytest.raises(ValidationError, match="Unknown severity"):
        sitrep.metrics.table("ttr", "all", MetricFilter(severities=("SEV9",)))


def test_an_empty_store_gives_empty_figures(sitrep):
    for table in sitrep.metrics.tables(by="service"):
        assert table.overall.count == 0 and table.groups == [] and table.excluded == []


def test_incidents_declared_here_count(sitrep, clock):
    inc = sitrep.incidents.declare(
        "Checkout: payments failing", "SEV1", author="ana", services=["checkout"],
        impact_started_at=clock() - timedelta(minutes=20), detected_at=clock() - timedelta(minutes=5),
    )  # fmt: skip
    clock.advance(minutes=40)
    sitrep.incidents.set_status(inc.id, "mitigated", author="ana")
    clock.advance(minutes=30)
    sitrep.incidents.set_status(inc.id, "resolved", author="ana")
    assert sitrep.metrics.table("ttd").overall.median == pytest.approx(15)
    assert sitrep.metrics.table("ttm").overall.median == pytest.approx(60)
    assert sitrep.metrics.table("ttr", "service").groups[0].stats.median == pytest.approx(90)


@pytest.mark.parametrize(
    "minutes, text",
    [
        (0.05, "3s"),
        (0.07, "4.2s"),
        (0.5, "30s"),
        (5.25, "5m 15s"),
        (42, "42m"),
        (125, "2h 05m"),
        (60 * 23 + 59, "23h 59m"),
        (60 * 47, "47.00h"),
        (60 * 50 + 15, "50.25h"),
        (None, "-"),
    ],
)
def test_durations_read_like_a_person_writes_them(minutes, text):
    assert format_minutes(minutes) == text


def test_customer_impact_reads_in_user_hours():
    assert format_user_minutes(60 * 64_800) == "64.8k user-h"
    assert format_user_minutes(90) == "1.5 user-h"
    assert format_user_minutes(60 * 2_500_000, unit=False) == "2.5M"


def test_a_damaged_store_is_reported_in_words(tmp_path):
    import sqlite3

    from services.errors import StoreError

    app = Sitrep.open(f"sqlite:///{tmp_path / 'sitrep.db'}")
    app.history.import_file(write_csv(generate(300, seed=2), tmp_path / "h.csv"), author="ana")
    app.close()
    conn = sqlite3.connect(tmp_path / "sitrep.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # The incidents and the durations the metric tables read (models/metric_durations.py), indexes included.
    roots = [r for (r,) in conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE rootpage > 0 AND tbl_name IN "
        "('incidents', 'incident_durations', 'incident_duration_counts')"
    )]  # fmt: skip
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with (tmp_path / "sitrep.db").open("r+b") as fh:  # scribble over their root pages
        for root in roots:
            fh.seek((root - 1) * page + 8)
            fh.write(b"\xff" * (page - 16))
    app = Sitrep.open(f"sqlite:///{tmp_path / 'sitrep.db'}")
    try:
        with pytest.raises(StoreError, match="damaged"):
            app.metrics.table("time_to_resolve", "service")
    finally:
        app.close()


def test_figures_are_reused_until_the_store_changes(sitrep, clock):
    inc = sitrep.incidents.declare(
        "Checkout: payments failing", "SEV1", author="ana", services=["checkout"],
        impact_started_at=clock() - timedelta(minutes=20), detected_at=clock() - timedelta(minutes=5),
    )  # fmt: skip
    clock.advance(minutes=10)
    sitrep.incidents.set_status(inc.id, "resolved", author="ana")
    first = sitrep.metrics.table("ttr", "service")
    assert first.overall.median == pytest.approx(30)
    # Nothing changed: the same figures, not a second pass over the store.
    assert sitrep.metrics.table("ttr", "service") is first
    points, _ = sitrep.metrics.points("ttr")
    points.clear()  # a caller's copy: clearing it must not empty what is remembered
    assert len(sitrep.metrics.points("ttr")[0]) == 1

    # A change made through the app is seen at once.
    second = sitrep.incidents.declare(
        "Checkout: slow", "SEV3", author="ana", services=["checkout"], impact_started_at=clock()
    )
    clock.advance(minutes=50)
    sitrep.incidents.set_status(second.id, "resolved", author="ana")
    after = sitrep.metrics.table("ttr", "service")
    assert after is not first and after.overall.count == 2 and after.overall.max == pytest.approx(50)
    assert len(sitrep.metrics.points("ttr")[0]) == 2


def test_a_change_from_another_process_is_seen(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    console, cli = Sitrep.open(url), Sitrep.open(url)
    try:
        insert_raw(console, 1, impact_started=T0, resolved=T0 + timedelta(minutes=30))
        assert console.metrics.table("ttr").overall.count == 1
        # Another Sitrep on the same file (as `sitrep import` beside the console) has its own connections.
        insert_raw(cli, 2, impact_started=T0, resolved=T0 + timedelta(minutes=90))
        table = console.metrics.table("ttr")
        assert table.overall.count == 2 and table.overall.max == pytest.approx(90)
    finally:
        cli.close()
        console.close()
