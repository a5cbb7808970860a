"""A metric table read from the durations index (models/metric_durations.py) instead of every incident.

The same figures as the engine's own computation (services/analytics/metrics.py), which stays the reference:
SQLite counts each group and sums it exactly from the index, and hands over only the values at the ranks the
figures read (min, max, the two either side of each quantile), picked by position in the index's order.
Python never sees the 100,000 values. What this path cannot answer exactly it declines (None), and the engine
computes the table the old way: a filter, a grouping other than service, severity or all, a metric the user
redefined, a value whose exact sum the stored parts cannot carry, service names that differ only in case
(their order among themselves is the order the engine met them in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from models.metric_durations import (
    COUNTS_NAME,
    LEFT_OUT_INDEX,
    LIMBS,
    TABLE_NAME,
    Span,
    exact_total,
    span_for,
)
from services.analytics.metrics_model import (
    NO_SERVICE,
    Exclusion,
    Figures,
    GroupStats,
    MetricDefinition,
    MetricFilter,
    MetricTable,
    RankedValues,
    Stats,
    needed_ranks,
)

# What each grouping reads: the column that names the group, and whether it counts whole incidents (slot 0)
# or each incident once per service.
_GROUPED_BY = {"service": ("service", False), "severity": ("severity", True), "all": (None, True)}


def serves(metric: MetricDefinition, by: str, flt: MetricFilter) -> Span | None:
    """The span that answers this table, or None when only the engine's own computation can."""
    if by not in _GROUPED_BY or flt != MetricFilter() or metric.kind == "between":
        return None
    return span_for(metric.kind, metric.start, metric.end)


class _Declined(Exception):
    """The index cannot give this table exactly; the engine computes it."""


def durations_table(
    execute: Callable[[str, tuple], list[tuple]],
    span: Span,
    metric: MetricDefinition,
    by: str,
    flt: MetricFilter,
    figures: Figures,
    group_order: Callable[[str, dict[str, Any]], list[str]],
) -> MetricTable | None:
    """The table, or None if it must be computed the old way. `execute` runs SQL inside one read transaction,
    so every query sees the same store."""
    try:
        return _Reader(execute, span).table(metric, by, flt, figures, group_order)
    except _Declined:
        return None


class _Reader:
    def __init__(self, execute: Callable[[str, tuple], list[tuple]], span: Span) -> None:
        self._execute = execute
        self._span = span

    def _counts(self, grouping: str) -> dict[str, tuple]:
        """Each group's (counted, left out, exact, limbs...), for the groups with a value."""
        rows = self._execute(
            f"SELECT grp, counted, left_out, exact, {', '.join(LIMBS)} FROM {COUNTS_NAME} "
            "WHERE span = ? AND is_exercise = 0 AND grouping = ?",
            (self._span.id, grouping),
        )
        return {r[0]: r[1:] for r in rows if r[1]}

    def table(self, metric, by, flt, figures, group_order) -> MetricTable:
        if metric.kind == "impact":  # as the engine: a share under a duration means nothing for user-minutes
            figures = replace(figures, share_under=())
        whole = self._counts("all").get("")
        overall = self._ranked(None, None, whole, figures) if whole else Stats.of([], figures)
        if by == "all":
            counted = {"all": whole} if whole else {}
        else:
            counted = self._counts(by)
        if None in counted:  # a service list holding a null: the engine has no name for it either
            raise _Declined
        if by == "service":
            folded = {name.lower() for name in counted if name != NO_SERVICE}
            if len(folded) < len(counted) - (NO_SERVICE in counted):
                raise _Declined
        groups = []
        for name in group_order(by, counted):
            stats = overall if by == "all" else self._ranked(by, name, counted[name], figures)
            groups.append(GroupStats(name, stats))
        return MetricTable(metric, by, flt, groups, overall, self._excluded())

    def _ranked(self, column: str | None, name: str | None, row: tuple, figures: Figures) -> Stats:
        """A group's Stats from its count, its exact sum and the values at the ranks Stats reads."""
        n, nulls, exact, *limbs = row
        if exact != n:
            raise _Declined
        where = "span = ? AND is_exercise = 0"
        if column != "service":  # whole incidents: one row each
            where += " AND slot = 0"
        if column is not None:
            where += f" AND {column} = ?"
        params = (self._span.id,) if column is None else (self._span.id, name)
        at: dict[int, float] = {}
        for first, last in _runs(needed_ranks(n, figures)):
            size = last - first + 1
            if first < n - 1 - last:  # nearer the bottom: walk up past the left-out (NULL sorts first)
                values = self._execute(
                    f"SELECT value FROM {TABLE_NAME} WHERE {where} ORDER BY value LIMIT ? OFFSET ?",
                    (*params, size, nulls + first),
                )
                at.update(zip(range(first, last + 1), (v for (v,) in values), strict=True))
            else:  # nearer the top: walk down from the largest
                values = self._execute(
                    f"SELECT value FROM {TABLE_NAME} WHERE {where} ORDER BY value DESC LIMIT ? OFFSET ?",
                    (*params, size, n - 1 - last),
                )
                at.update(zip(range(last, first - 1, -1), (v for (v,) in values), strict=True))

        def at_most(minutes: float) -> int:
            sql = f"SELECT count(value) FROM {TABLE_NAME} WHERE {where} AND value <= ?"
            return self._execute(sql, (*params, minutes))[0][0]

        return Stats.of(RankedValues(n, exact_total(*limbs), at, at_most), figures)

    def _excluded(self) -> list[Exclusion]:
        """The incidents left out, in number order, worded by the engine's rule when they were written."""
        sql = (
            # Named, or the planner walks the values' index and sorts: the left-out index is already in order.
            f"SELECT incident_id, key, reason FROM {TABLE_NAME} INDEXED BY {LEFT_OUT_INDEX} "
            "WHERE span = ? AND is_exercise = 0 AND slot = 0 AND value IS NULL ORDER BY number"
        )
        return [
            Exclusion(incident_id, key, reason)
            for incident_id, key, reason in self._execute(sql, (self._span.id,))
        ]


def _runs(ranks: list[int]) -> list[tuple[int, int]]:
    """Sorted ranks as runs of consecutive ranks (first, last), so adjacent ones come in one query."""
    runs: list[tuple[int, int]] = []
    for r in ranks:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs
