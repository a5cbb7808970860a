"""The SQL the metrics engine runs: milestone columns and fallbacks, groups, durations, and why an incident
cannot count for a metric. Milestone columns come from the enum, never from user text; values the user gives
(filters) are bound parameters (`Where`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models.enums import Milestone
from models.milestone_numbers import num_column
from services.analytics.metrics_model import (
    ANCHOR_MILESTONES,
    NO_SERVICE,
    MetricDefinition,
    MetricFilter,
    milestones_between,
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
    return f"(({moment(ends, num)} >> 12) - ({moment(starts, num)} >> 12))"


def minutes_num_sql(starts: tuple[Milestone, ...], ends: tuple[Milestone, ...]) -> str:
    """minutes_sql(moment(starts), moment(ends)) from the numbers: the same value to the last bit."""
    return f"({ms_between_sql(starts, ends)} / 60000.0)"


def moment(moments: tuple[Milestone, ...], column=col) -> str:
    """The first of the milestones the incident has (the fallback list of a metric's start or end)."""
    cols = [column(m) for m in moments]
    return cols[0] if len(cols) == 1 else f"COALESCE({', '.join(cols)})"


def _none_of(moments: tuple[Milestone, ...], column=col) -> str:
    return " AND ".join(f"{column(m)} IS NULL" for m in moments)


def names(moments: tuple[Milestone, ...]) -> str:
    return " or ".join(m.label for m in moments)


# Why an incident was left out of every metric by --exclude-flagged: its contradicting pairs, in words.
FLAGGED_REASON = (
    "'has contradicting milestones (' || (SELECT group_concat(json_extract(f.value, '$[1]') || ' before ' || "
    "json_extract(f.value, '$[0]'), '; ') FROM json_each(i.flagged_pairs) AS f) || '); --exclude-flagged'"
)


NO_USERS_REASON = "'affected users not recorded'"


def _time_text(col: str) -> str:
    """A stored time as the rest of Sitrep words it: '2026-02-03 10:30:00 UTC'."""
    return f"replace(substr({col}, 1, 19), 'T', ' ') || ' UTC'"


def _pair_reason(s: Milestone, e: Milestone, numeric: bool = False) -> list[str]:
    """CASE arms for the one start and end an incident uses: end before start, or a milestone that belongs
    between them outside them. These are exactly the pairs the metric uses, so a pair an import flagged
    leaves the incident out of this metric only when it is one of them. `numeric`: the same tests on the
    milestone numbers, each arm giving 1 instead of words (see reason_expr)."""
    c = num if numeric else col
    sc, ec = c(s), c(e)
    say_end = "1" if numeric else (
        f"'{e.label} (' || {_time_text(ec)} || ') is before {s.label} (' || {_time_text(sc)} || ')'"
    )
    arms = [f"WHEN {ec} < {sc} THEN {say_end}"]
    for m in milestones_between(s, e):
        mc = c(m)
        say = "1" if numeric else (
            f"'{m.label} (' || {_time_text(mc)} || ') is not between {s.label} and {e.label}'"
        )
        arms.append(f"WHEN {mc} IS NOT NULL AND ({mc} < {sc} OR {mc} > {ec}) THEN {say}")
    return arms


def reason_expr(metric: MetricDefinition, flt: MetricFilter | None = None, *, numeric: bool = False) -> str:
    """SQL that yields why an incident cannot count for a metric, or NULL when it can.

    `numeric=True` gives the same rule over the milestone numbers, yielding 1 instead of the reason: NULL for
    exactly the incidents the worded form counts (a number compares as its text does), and cheap enough to
    run over every incident, where the words are made only for the few left out."""
    starts, ends = metric.start, metric.end
    assert ends is not None
    c = num if numeric else col

    def say(words: str) -> str:
        return "1" if numeric else words

    cases = []
    if flt is not None and flt.exclude_flagged:
        cases.append(f"WHEN json_array_length(i.flagged_pairs) > 0 THEN {say(FLAGGED_REASON)}")
    no_start, no_end = _none_of(starts, c), _none_of(ends, c)
    no_either = f"'no {names(starts)} or {names(ends)} time'"
    no_start_words, no_end_words = f"'no {names(starts)} time'", f"'no {names(ends)} time'"
    cases += [
        f"WHEN {no_start} AND {no_end} THEN {say(no_either)}",
        f"WHEN {no_start} THEN {say(no_start_words)}",
        f"WHEN {no_end} THEN {say(no_end_words)}",
    ]
    if metric.kind == "impact":
        cases.append(f"WHEN i.affected_users IS NULL THEN {say(NO_USERS_REASON)}")
    # Which start and end this incident uses decides which pairs are checked: one CASE per combination.
    for i, s in enumerate(starts):
        for j, e in enumerate(ends):
            chosen = [f"{c(s)} IS NOT NULL"] + [f"{c(x)} IS NULL" for x in starts[:i]]
            chosen += [f"{c(e)} IS NOT NULL"] + [f"{c(x)} IS NULL" for x in ends[:j]]
            cases.append(f"WHEN {' AND '.join(chosen)} THEN CASE {' '.join(_pair_reason(s, e, numeric))} END")
    return "CASE " + " ".join(cases) + " END"


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
