"""Incident metrics: time to detect, acknowledge, identify, mitigate, resolve, between incidents, customer impact.

Each metric is a named start and end, each an ordered fallback list of milestones, defined as data
(resources/metrics.toml, overridable in the config folder; services/analytics/metrics_model.py), so the figures always
come with the definition that produced them. The engine asks SQLite for only
the columns and rows it needs and does the grouping there; Python only sorts each group's values for the
median and p90.

Honest data: an incident whose milestones for a metric are missing or out of order is left out of that metric
and listed with the reason, never averaged in as a zero or a negative. Exercises are left out unless asked.

Over 500 lines because the engine is one class: its filters, groupings, percentiles and shares read the same
query plan; the definitions and the SQL already live apart (metrics_model.py, metrics_sql.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from models.metric_durations import names
from models.types import as_utc, iso
from services.analytics.metrics_durations import durations_table, serves
from services.analytics.metrics_model import (
    ANCHOR_MILESTONES,
    DEFINITIONS_FILE,
    GROUPINGS,
    KINDS,
    NO_PROBLEM,
    NO_SERVICE,
    PER_SERVICE_NOTE,
    PERIODS,
    UNIT_WORDS,
    UNITS,
    Exclusion,
    Figures,
    GroupStats,
    MetricDashboard,
    MetricDefinition,
    MetricFilter,
    MetricPoint,
    MetricSamples,
    MetricTable,
    Share,
    Stats,
    check_figures,
    display_unit,
    format_minutes,
    format_share,
    format_user_minutes,
    format_value,
    load_definitions,
    milestones_between,
    next_period,
    parse_threshold,
    percentile_name,
    period_label,
    period_range,
    period_start,
    quantile,
)
from services.analytics.metrics_sql import (
    ANCHOR,
    FLAGGED_REASON,
    Where,
    counted_expr,
    group_expr,
    minutes_num_sql,
    minutes_sql,
    moment,
    ms_between_sql,
    num,
    reason_expr,
)
from services.errors import ValidationError
from services.record.catalog import UNKNOWN_SEVERITY
from services.storage.store import storage_error

# The definitions and figures are part of this module's face: callers import them from here.
__all__ = [
    "ANCHOR_MILESTONES",
    "DEFINITIONS_FILE",
    "Exclusion",
    "Figures",
    "GROUPINGS",
    "GroupStats",
    "KINDS",
    "MetricDashboard",
    "MetricDefinition",
    "MetricFilter",
    "MetricPoint",
    "MetricSamples",
    "MetricTable",
    "MetricsService",
    "NO_PROBLEM",
    "NO_SERVICE",
    "PERIODS",
    "PER_SERVICE_NOTE",
    "Share",
    "Stats",
    "UNITS",
    "UNIT_WORDS",
    "check_figures",
    "display_unit",
    "format_minutes",
    "format_share",
    "format_user_minutes",
    "format_value",
    "load_definitions",
    "milestones_between",
    "next_period",
    "parse_threshold",
    "percentile_name",
    "period_label",
    "period_range",
    "period_start",
    "quantile",
]


_CACHE_LIMIT = 64  # figures kept per database state; a dashboard is four of them


class MetricsService:
    def __init__(self, store, catalog, config_dir: Path | None = None) -> None:
        self._store = store
        self._catalog = catalog
        self._config_dir = config_dir
        self._definitions: dict[str, MetricDefinition] | None = None
        # Figures already computed, valid while the database is unchanged. A person flipping between tabs,
        # metrics and filters asks for the same figures again and again; recomputing 100,000 incidents each
        # time costs hundreds of milliseconds for an identical answer.
        self._cache: dict[tuple, Any] = {}
        self._cache_version: int | None = None
        self._cache_lock = threading.Lock()
        self._watch: sqlite3.Connection | None = None
        # Metric tables may come from the durations index (the same figures, faster); the tests turn this
        # off to compare with the computation the index stands in for.
        self.read_durations = True

    def close(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self._cache_version = None
            if self._watch is not None:
                self._watch.close()
                self._watch = None

    # -- definitions ----------------------------------------------------------------------------------------
    @property
    def definitions(self) -> dict[str, MetricDefinition]:
        if self._definitions is None:
            self._definitions = load_definitions(self._config_dir)
        return self._definitions

    def reload_definitions(self) -> dict[str, MetricDefinition]:
        self._definitions = None
        return self.definitions

    def definition(self, metric_id: str) -> MetricDefinition:
        def norm(text: str) -> str:
            return text.strip().lower().replace("-", "_").replace(" ", "_")

        key = norm(metric_id or "")
        for d in self.definitions.values():
            if key in (norm(d.id), norm(d.short)):
                return d
        known = ", ".join(self.definitions)
        raise ValidationError(f"Unknown metric '{metric_id}'. Use one of: {known}.", field="metric")

    # -- figures --------------------------------------------------------------------------------------------
    def table(
        self, metric_id: str, by: str = "all", flt: MetricFilter | None = None, figures: Figures | None = None
    ) -> MetricTable:
        metric = self.definition(metric_id)
        by = self._check_by(by)
        flt = self._normalise(flt or MetricFilter())
        figures = check_figures(figures or Figures())
        self._require_sqlite()
        return self._remembered(
            ("table", metric, by, flt, figures), lambda: self._table(metric, by, flt, figures)
        )

    def _table(self, metric: MetricDefinition, by: str, flt: MetricFilter, figures: Figures) -> MetricTable:
        fast = self._durations_table(metric, by, flt, figures) if self.read_durations else None
        if fast is not None:
            return fast
        samples = self._remembered(("samples", metric, by, flt), lambda: self._samples(metric, by, flt))
        # A share under a duration threshold means nothing for user-minutes.
        if metric.kind == "impact":
            figures = replace(figures, share_under=())
        groups = [GroupStats(g, Stats.of(v, figures)) for g, v in samples.groups.items()]
        return MetricTable(
            samples.metric, by, samples.filter, groups, Stats.of(samples.overall, figures), samples.excluded
        )

    def _durations_table(
        self, metric: MetricDefinition, by: str, flt: MetricFilter, figures: Figures
    ) -> MetricTable | None:
        """The table from the durations index, or None where only the computation below gives it exactly
        (services/analytics/metrics_durations.py). Every query runs in one read transaction."""
        span = serves(metric, by, flt)
        if span is None:
            return None
        with self._store.read_connection() as conn:
            raw = conn.connection.driver_connection
            began = not raw.in_transaction
            try:
                if began:
                    raw.execute("BEGIN")
                return durations_table(
                    lambda sql, params: raw.execute(sql, params).fetchall(),
                    span, metric, by, flt, figures, self._group_order,
                )  # fmt: skip
            except sqlite3.Error as exc:
                if "no such table" in str(exc):  # a store not yet at the schema head: the old way serves
                    return None
                raise storage_error(exc) from None
            finally:
                if began and raw.in_transaction:
                    raw.rollback()

    def tables(
        self,
        metric_ids: Iterable[str] | None = None,
        by: str = "all",
        flt: MetricFilter | None = None,
        figures: Figures | None = None,
    ) -> list[MetricTable]:
        ids = list(metric_ids) if metric_ids else list(self.definitions)
        return [self.table(m, by, flt, figures) for m in ids]

    def samples(self, metric_id: str, by: str = "all", flt: MetricFilter | None = None) -> MetricSamples:
        metric = self.definition(metric_id)
        by = self._check_by(by)
        flt = self._normalise(flt or MetricFilter())
        self._require_sqlite()
        return self._remembered(("samples", metric, by, flt), lambda: self._samples(metric, by, flt))

    def _samples(self, metric: MetricDefinition, by: str, flt: MetricFilter) -> MetricSamples:
        if metric.kind == "between":
            groups, overall, excluded = self._between_rows(metric, by, flt)
        else:
            groups, overall, excluded = self._duration_rows(metric, by, flt)
        overall.sort()
        for values in groups.values():
            values.sort()
        ordered = {g: groups[g] for g in self._group_order(by, groups)}
        return MetricSamples(metric, by, flt, ordered, overall, excluded)

    def points(
        self, metric_id: str, flt: MetricFilter | None = None
    ) -> tuple[list[MetricPoint], list[Exclusion]]:
        """One point per counted incident (per incident and service for "between"), oldest first."""
        metric = self.definition(metric_id)
        flt = self._normalise(flt or MetricFilter())
        self._require_sqlite()
        points, excluded = self._remembered(("points", metric, flt), lambda: self._points(metric, flt))
        return list(points), list(excluded)

    def _points(
        self, metric: MetricDefinition, flt: MetricFilter
    ) -> tuple[tuple[MetricPoint, ...], tuple[Exclusion, ...]]:
        where = self._where(flt, by_service=False)
        if metric.kind == "between":
            inner, params = self._between_sql(
                metric,
                "all",
                flt,
                extra="i.key AS key, i.title AS title, i.severity AS severity, i.incident_type AS itype",
            )
            sql = (
                f"SELECT id, key, title, anchor, {minutes_sql('s', 'next_s')}, severity, itype, service FROM ({inner}) "
                f"WHERE next_s IS NOT NULL AND {self._period_sql('anchor', flt, params)} ORDER BY anchor, id"
            )
            excluded = self._between_exclusions(metric, flt)
        else:
            counted = counted_expr(metric, flt)
            value = minutes_num_sql(metric.start, metric.end)
            if metric.kind == "impact":
                value = f"({value} * i.affected_users)"
            params = where.params
            sql = (
                f"SELECT i.id, i.key, i.title, {ANCHOR}, {value}, i.severity, i.incident_type, NULL "
                f"FROM incidents AS i WHERE {where.sql()} AND {counted} ORDER BY {ANCHOR}, i.id"
            )
            excluded = self._duration_exclusions(metric, where, flt)
        with self._store.read_connection() as conn:
            rows = conn.execute(text(sql), params).all()
        points = tuple(
            MetricPoint(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4], r[5], r[6], r[7]) for r in rows
        )
        return points, tuple(excluded)

    def dashboard(
        self, metric_id: str, period: str = "month", flt: MetricFilter | None = None
    ) -> MetricDashboard:
        if period not in PERIODS:
            raise ValidationError(f"A trend goes by {', '.join(PERIODS)}, not '{period}'.", field="period")
        flt = self._normalise(flt or MetricFilter())
        trend = self.table(metric_id, period, flt)
        points, _excluded = self.points(metric_id, flt)
        return MetricDashboard(
            metric=trend.metric,
            period=period,
            filter=flt,
            trend=trend,
            periods=period_range(period, [g.group for g in trend.groups]),
            by_service=self.samples(metric_id, "service", flt),
            by_severity=self.table(metric_id, "severity", flt),
            overall=self.table(metric_id, "all", flt),
            points=points,
        )

    def known_values(self) -> dict[str, list[str]]:
        """Services, severities and incident types present in the store, for filter pickers."""
        self._require_sqlite()
        with self._store.read_connection() as conn:
            services = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT DISTINCT sv.value FROM incidents AS i, json_each(i.services) AS sv ORDER BY 1"
                    )
                )
            ]
            types = [
                r[0] for r in conn.execute(text("SELECT DISTINCT incident_type FROM incidents ORDER BY 1"))
            ]
            severities = [r[0] for r in conn.execute(text("SELECT DISTINCT severity FROM incidents"))]
            span = conn.execute(text(f"SELECT MIN({ANCHOR}), MAX({ANCHOR}) FROM incidents AS i")).first()
        rank = {s: i for i, s in enumerate(self._catalog.severities)}
        severities.sort(key=lambda s: (rank.get(s, len(rank)), s))
        return {
            "services": services,
            "severities": severities,
            "incident_types": types,
            "span": [span[0], span[1]] if span and span[0] else [],
        }

    # -- internals ------------------------------------------------------------------------------------------
    def _remembered(self, key: tuple, compute):
        """The cached figure for `key` if the database has not changed since it was computed, else computed
        now. The group order depends on the severity catalog, so that is part of the key too."""
        key = (*key, tuple(self._catalog.severities), self.read_durations)
        with self._cache_lock:
            version = self._data_version()
            if version is None:  # no way to tell when the data changes: never reuse
                self._cache.clear()
            elif version != self._cache_version:
                self._cache.clear()
                self._cache_version = version
            elif key in self._cache:
                return self._cache[key]
        # Computed outside the lock so a worker thread's charts do not hold up the GUI thread's table. What
        # is computed now is at least as new as `version`; a change committed meanwhile moves the version on,
        # so the figure is recomputed next time, never served stale.
        value = compute()
        if version is not None:
            with self._cache_lock:
                if self._cache_version == version:
                    if len(self._cache) >= _CACHE_LIMIT:
                        self._cache.clear()
                    self._cache[key] = value
        return value

    def _data_version(self) -> int | None:
        """SQLite's count of commits made by other connections, read on a connection of our own that never
        writes, so every commit (this process or another, such as the CLI beside the console) moves it on.
        None where it cannot be watched (an in-memory store). Called with the cache lock held."""
        path = self._store.path
        if self._store.in_memory or path is None:
            return None
        try:
            if self._watch is None:
                self._watch = sqlite3.connect(str(path), check_same_thread=False)
            return self._watch.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None

    def _require_sqlite(self) -> None:
        if not self._store.is_sqlite:
            raise ValidationError("Metrics are computed by the SQLite store; this store is not SQLite.")

    @staticmethod
    def _check_by(by: str) -> str:
        by = (by or "all").strip().lower()
        if by == "incident_type":
            by = "type"
        if by not in GROUPINGS:
            raise ValidationError(f"Cannot group by '{by}'. Use one of: {', '.join(GROUPINGS)}.", field="by")
        return by

    def _normalise(self, flt: MetricFilter) -> MetricFilter:
        sev = tuple(
            UNKNOWN_SEVERITY if s.strip().lower() == UNKNOWN_SEVERITY else self._catalog.severity(s).id
            for s in flt.severities
        )
        svc = tuple(s.strip() for s in flt.services if s and s.strip())
        types = tuple(t.strip().lower() for t in flt.incident_types if t and t.strip())
        since = as_utc(flt.since) if flt.since else None
        until = as_utc(flt.until) if flt.until else None
        if since and until and until <= since:
            raise ValidationError("The period is empty: 'until' must come after 'since'.", field="until")
        return replace(flt, severities=sev, services=svc, incident_types=types, since=since, until=until)

    def _group_order(self, by: str, groups: dict[str, list[float]]) -> list[str]:
        if by == "severity":
            rank = {s: i for i, s in enumerate(self._catalog.severities)}
            return sorted(groups, key=lambda s: (rank.get(s, len(rank)), s))
        if by == "service":
            return sorted(groups, key=lambda s: (s == NO_SERVICE, s.lower()))
        if by == "problem":
            return sorted(groups, key=lambda s: (s == NO_PROBLEM, s))
        return sorted(groups)

    def _where(
        self, flt: MetricFilter, *, by_service: bool, with_period: bool = True, drop_flagged: bool = False
    ) -> Where:
        w = Where()
        if drop_flagged and flt.exclude_flagged:
            w.add("json_array_length(i.flagged_pairs) = 0")
        if not flt.include_exercises:
            w.add("i.is_exercise = 0")
        if flt.severities:
            w.add(w.in_list("i.severity", "sev", flt.severities))
        if flt.incident_types:
            w.add(w.in_list("i.incident_type", "typ", flt.incident_types))
        if flt.services:
            if by_service:
                w.add(w.in_list("sv.value", "svc", flt.services, lower=True))
            else:
                inner = w.in_list("f.value", "svc", flt.services, lower=True)
                w.add(f"EXISTS (SELECT 1 FROM json_each(i.services) AS f WHERE {inner})")
        if with_period:
            if flt.since:
                w.add(f"{ANCHOR} >= :since", since=iso(flt.since))
            if flt.until:
                w.add(f"{ANCHOR} < :until", until=iso(flt.until))
        return w

    @staticmethod
    def _period_sql(expr: str, flt: MetricFilter, params: dict[str, Any]) -> str:
        parts = []
        if flt.since:
            parts.append(f"{expr} >= :since")
            params["since"] = iso(flt.since)
        if flt.until:
            parts.append(f"{expr} < :until")
            params["until"] = iso(flt.until)
        return " AND ".join(parts) or "1=1"

    def _duration_rows(self, metric: MetricDefinition, by: str, flt: MetricFilter):
        """The counted values, grouped, and which incidents are left out and why.

        SQLite groups the incidents and hands each group's durations over as one JSON array of whole
        milliseconds, read from the milestone numbers (models/milestone_numbers.py); per service it groups by
        the services' JSON text, which the figures index holds in order, so no sort and no table read is
        needed, and Python splits each distinct list once. The words for an incident left out are made only
        for those few, by the worded rule (reason_expr) that counted_expr mirrors.
        """
        by_service = by == "service"
        where = self._where(flt, by_service=False)
        group = "i.services" if by_service else group_expr(by, ANCHOR)
        users = ", json_group_array(i.affected_users)" if metric.kind == "impact" else ""
        # One scan: a counted incident's duration is never negative (its end is not before its start), so
        # an incident left out travels in the same array as minus its rowid, to be worded afterwards.
        sql = (
            f"SELECT {group}, json_group_array(CASE WHEN {counted_expr(metric, flt)} "
            f"THEN {ms_between_sql(metric.start, metric.end)} ELSE -i.rowid END){users} "
            f"FROM incidents AS i WHERE {where.sql()} GROUP BY 1"
        )
        wanted = {s.lower() for s in flt.services}
        groups: dict[str, list[float]] = {}
        overall: list[float] = []
        left_out: list[int] = []
        names_of: dict[str, list[str]] = {}
        for grp, durations, *affected in self._fetch(sql, where.params):
            found = json.loads(durations)
            if affected:  # user-minutes: minutes x affected users, multiplied as the SQL always did
                pairs = zip(found, json.loads(affected[0]), strict=True)
                values = [d / 60000.0 * u for d, u in pairs if d >= 0]
            else:
                values = [d / 60000.0 for d in found if d >= 0]
            if len(values) < len(found):
                left_out += [-d for d in found if d < 0]
            if not values:
                continue
            overall += values
            if by_service:
                names = names_of.get(grp)
                if names is None:
                    names = [n for n in json.loads(grp) if not wanted or n.lower() in wanted]
                    names_of[grp] = names = names or ([] if wanted else [NO_SERVICE])
            else:
                names = (grp,)
            for name in names:
                bucket = groups.get(name)
                if bucket is None:
                    groups[name] = list(values)
                else:
                    bucket += values
        return groups, overall, self._exclusions(metric, flt, left_out)

    def _exclusions(self, metric: MetricDefinition, flt: MetricFilter, rowids: list[int]) -> list[Exclusion]:
        """Who the left-out incidents are (their id and key) and why, worded only for them, in number order."""
        if not rowids:
            return []
        # One query whatever their number: the rowids travel as one JSON array.
        sql = (
            f"SELECT i.id, i.key, {reason_expr(metric, flt)} FROM json_each(:rowids) AS n "
            "JOIN incidents AS i ON i.rowid = n.value ORDER BY i.number"
        )
        rows = self._fetch(sql, {"rowids": json.dumps(rowids)})
        return [Exclusion(incident_id, key, reason) for incident_id, key, reason in rows]

    def _fetch(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        """Plain tuples straight from the driver: at 100,000 rows, result-row objects are a noticeable cost."""
        with self._store.read_connection() as conn:
            try:
                return conn.connection.driver_connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:  # the driver's own errors, which SQLAlchemy would have wrapped
                raise storage_error(exc) from None

    def _duration_exclusions(
        self, metric: MetricDefinition, where: Where, flt: MetricFilter
    ) -> list[Exclusion]:
        sql = (
            f"SELECT i.id, i.key, reason FROM (SELECT i.id AS id, i.key AS key, i.number AS number, "
            f"{reason_expr(metric, flt)} AS reason FROM incidents AS i WHERE {where.sql()}) AS i "
            "WHERE reason IS NOT NULL ORDER BY number"
        )
        with self._store.read_connection() as conn:
            return [Exclusion(r[0], r[1], r[2]) for r in conn.execute(text(sql), where.params)]

    def _between_sql(
        self, metric: MetricDefinition, by: str, flt: MetricFilter, extra: str = ""
    ) -> tuple[str, dict]:
        """Each incident on each service with the start of the next incident on that service."""
        where = self._where(flt, by_service=True, with_period=False, drop_flagged=True)
        sc = moment(metric.start)
        extra = f", {extra}" if extra else ""
        sql = (
            f"SELECT sv.value AS service, i.id AS id, {ANCHOR} AS anchor, {group_expr(by, ANCHOR)} AS grp, "
            f"{sc} AS s, LEAD({sc}) OVER (PARTITION BY sv.value ORDER BY {sc}, i.id) AS next_s{extra} "
            f"FROM incidents AS i JOIN json_each(i.services) AS sv WHERE {sc} IS NOT NULL AND {where.sql()}"
        )
        return sql, dict(where.params)

    def _between_rows(self, metric: MetricDefinition, by: str, flt: MetricFilter):
        """Each incident on each service against the next one's start there, sequenced in Python.

        SQL reads each start once (its number's whole milliseconds, so the differences are exact) and the
        services' JSON text; a window function over json_each() measured four times slower.
        """
        where = self._where(flt, by_service=False, with_period=False, drop_flagged=True)
        sc = moment(metric.start, num)
        params = dict(where.params)
        in_period = self._period_sql(ANCHOR, flt, params)
        group = "NULL" if by == "service" else group_expr(by, ANCHOR)
        sql = (
            f"SELECT i.services, i.id, {sc} >> 12, {group}, "
            f"({in_period}) FROM incidents AS i WHERE {sc} IS NOT NULL AND {where.sql()}"
        )
        wanted = {s.lower() for s in flt.services}
        per_service: dict[str, list[tuple[int, str, str | None, int]]] = {}
        names_of: dict[str, list[str]] = {}
        for services, incident_id, start_ms, grp, counted in self._fetch(sql, params):
            names = names_of.get(services)
            if names is None:
                names = names_of[services] = [
                    n for n in json.loads(services) if not wanted or n.lower() in wanted
                ]
            for name in names:
                seq = per_service.get(name)
                if seq is None:
                    seq = per_service[name] = []
                seq.append((start_ms, incident_id, grp, counted))
        groups: dict[str, list[float]] = {}
        overall: list[float] = []
        for name, seq in per_service.items():
            seq.sort()  # by start, then id: the same order for the same data, ties included
            for (start_ms, _id, grp, counted), nxt in zip(seq, seq[1:], strict=False):
                if not counted:
                    continue
                value = (nxt[0] - start_ms) / 60000.0
                key = name if by == "service" else grp
                bucket = groups.get(key)
                if bucket is None:
                    bucket = groups[key] = []
                bucket.append(value)
                overall.append(value)
        return groups, overall, self._between_exclusions(metric, flt)

    def _between_exclusions(self, metric: MetricDefinition, flt: MetricFilter) -> list[Exclusion]:
        where = self._where(flt, by_service=False)
        sc = moment(metric.start)
        flagged = (
            f"WHEN json_array_length(i.flagged_pairs) > 0 THEN {FLAGGED_REASON} "
            if flt.exclude_flagged
            else ""
        )
        reason = (
            f"CASE {flagged}WHEN json_array_length(i.services) = 0 THEN 'no impacted service' "
            f"WHEN {sc} IS NULL THEN 'no {names(metric.start)} time' END"
        )
        sql = (
            f"SELECT id, key, reason FROM (SELECT i.id AS id, i.key AS key, i.number AS number, {reason} AS reason "
            f"FROM incidents AS i WHERE {where.sql()}) WHERE reason IS NOT NULL ORDER BY number"
        )
        with self._store.read_connection() as conn:
            return [Exclusion(r[0], r[1], r[2]) for r in conn.execute(text(sql), where.params)]
