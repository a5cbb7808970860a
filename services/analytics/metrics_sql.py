"""The SQL the metrics engine runs: milestone columns and fallbacks, groups, durations, and why an incident
cannot count for a metric. Milestone columns come from the enum, never from user text; values the user gives
(filters) are bound parameters (`Where`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models.enums import Milestone
from models.metric_durations import ms_between, reason_cases, usable_sql
from models.milestone_numbers import num_column
from services.analytics.metrics_model import (
    ANCHOR_MILESTONES,
    NO_PROBLEM,
    NO_SERVICE,
    MetricDefinition,
    MetricFilter,
)


# -- SQL for the engine -------------------------------------------------------------------------------------------
def col(m: Milestone) -> str:
    # Milestone columns come from the enum, never from user text, so they are safe to place in SQL.
    return f"i.{m.column}"


def num(m: Milestone) -> str:
    """The milestone's time as a number (models/milestone_numbers.py): compares as the text does, and
    `>> 12` is the whole millisecond julianday() reads from the text."""
    return f"i.{num_column(m)}"


ANCHOR = "COALESCE(" + ", ".join(col(m) for m in ANCHOR_MILESTONES) + ")"


def group_expr(by: str, anchor: str) -> str:
    if by == "service":
        return f"COALESCE(sv.value, '{NO_SERVICE}')"
    if by == "severity":
        return "i.severity"
    if by == "type":
        return "i.incident_type"
    if by == "problem":  # the incident's problem, named by key and title (the latest linked, should two
        # copies merged by an import both hold one)
        return (f"COALESCE((SELECT p.key || ' ' || p.title FROM problem_links AS pl JOIN problems AS p "
                f"ON p.id = pl.problem_id WHERE pl.incident_id = i.id AND pl.active = 1 ORDER BY pl.updated_at DESC LIMIT 1), "
                f"'{NO_PROBLEM}')")
    if by == "month":
        return f"substr({anchor}, 1, 7)"
    if by == "quarter":
        return f"substr({anchor}, 1, 4) || '-Q' || ((CAST(substr({anchor}, 6, 2) AS INTEGER) + 2) / 3)"
    if by == "week":  # the Monday that starts the (UTC) week
        return f"date({anchor}, '-' || ((CAST(strftime('%w', {anchor}) AS INTEGER) + 6) % 7) || ' days')"
    return "'all'"


def minutes_sql(start_sql: str, end_sql: str) -> str:
    # julianday() reads the stored text to the millisecond, which is all the precision incident times carry,
    # and it is the cheapest way SQLite has to read a time (measured: a third of strftime('%s')).
    # Rounded to whole milliseconds, so an hour is 60.0 minutes and not 59.99999978.
    return f"(ROUND((julianday({end_sql}) - julianday({start_sql})) * 86400000.0) / 60000.0)"


def ms_between_sql(starts: tuple[Milestone, ...], ends: tuple[Milestone, ...]) -> str:
    """Whole milliseconds from the first of `starts` the incident has to the first of `ends`, from the
    numbers: exactly the milliseconds minutes_sql rounds to, without reading any text."""
    return ms_between("i", starts, ends)


def minutes_num_sql(starts: tuple[Milestone, ...], ends: tuple[Milestone, ...]) -> str:
    """minutes_sql(moment(starts), moment(ends)) from the numbers: the same value to the last bit."""
    return f"({ms_between_sql(starts, ends)} / 60000.0)"


def moment(moments: tuple[Milestone, ...], column=col) -> str:
    """The first of the milestones the incident has (the fallback list of a metric's start or end)."""
    cols = [column(m) for m in moments]
    return cols[0] if len(cols) == 1 else f"COALESCE({', '.join(cols)})"


# Why an incident was left out of every metric by --exclude-flagged: its contradicting pairs, in words.
FLAGGED_REASON = (
    "'has contradicting milestones (' || (SELECT group_concat(json_extract(f.value, '$[1]') || ' before ' || "
    "json_extract(f.value, '$[0]'), '; ') FROM json_each(i.flagged_pairs) AS f) || '); --exclude-flagged'"
)


def reason_expr(metric: MetricDefinition, flt: MetricFilter | None = None) -> str:
    """SQL that yields why an incident cannot count for a metric, or NULL when it can."""
    starts, ends = metric.start, metric.end
    assert ends is not None
    cases = []
    if flt is not None and flt.exclude_flagged:
        cases.append(f"WHEN json_array_length(i.flagged_pairs) > 0 THEN {FLAGGED_REASON}")
    cases += reason_cases("i", metric.kind, starts, ends)
    return "CASE " + " ".join(cases) + " END"


def counted_expr(metric: MetricDefinition, flt: MetricFilter | None = None) -> str:
    """SQL true exactly where reason_expr gives no reason (the incident counts), false elsewhere, never NULL.

    The same rule over the milestone numbers (a number compares as its text does), written as one test per
    start and end the incident may use, so SQLite stops at the first failing comparison: this runs over every
    incident, where the words of reason_expr are made only for the few left out."""
    starts, ends = metric.start, metric.end
    assert ends is not None
    parts = []
    if flt is not None and flt.exclude_flagged:
        parts.append("COALESCE(json_array_length(i.flagged_pairs), 0) = 0")
    if metric.kind == "impact":
        parts.append("i.affected_users IS NOT NULL")
    parts.append(usable_sql("i", starts, ends))
    return "(" + " AND ".join(parts) + ")"


class Where:
    """WHERE clauses and their bound parameters, built from a MetricFilter."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: dict[str, Any] = {}

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def in_list(self, expr: str, name: str, values: Iterable[str], *, lower: bool = False) -> str:
        names = []
        for i, v in enumerate(values):
            key = f"{name}{i}"
            self.params[key] = v.lower() if lower else v
            names.append(f":{key}")
        target = f"lower({expr})" if lower else expr
        return f"{target} IN ({', '.join(names)})"

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1=1"
