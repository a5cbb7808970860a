"""Each incident's value for each shipped duration metric, kept by SQLite triggers, for the metric tables.

A metric table over 100,000 incidents used to read every incident and sort each group's values in Python
(docs/performance.md). `incident_durations` holds one row per incident and measured span, and per service
where the incident has several (slot 0 stands for the whole incident: its first service, or "(no service)"),
with the value the metrics engine would compute (NULL when the incident cannot count). Its indexes keep
each group's values in order, so SQLite counts a group and picks its median or p90 by position (LIMIT 1
OFFSET k), and sums it exactly (`hi`, `lo` below), without Python seeing each value.

The spans are the shipped definitions (resources/metrics.toml), frozen here because triggers cannot read a
file: a metric the user redefines in the config folder matches no span and is computed the old way, with the
same answer. Changing a shipped definition needs a migration that rewrites the triggers and back-fills.

Exact sums: the engine's mean is math.fsum over the values. Every value v here has a quantum of 2^-68 or
coarser (it is at least 1/60000 or zero), so v * 2^68 is an integer, stored as `hi` = trunc(v * 2^24) and
`lo` = the rest in units of 2^-68 (NULL if that did not come out whole: the engine then falls back). The
sums of `hi` and `lo` give the exact total, which Python rounds once, as fsum does.

Triggers, not the services, keep the rows: every writer (ORM, append lane, history import, exchange import,
corrections, another process) goes through them in the same transaction. They re-read the incident's row
rather than trusting NEW, so the order in which SQLite runs them beside the milestone-number triggers
(models/milestone_numbers.py) cannot leave a stale value: whichever runs last sees the final row. The table is
no part of the record: never exported (services/exchange/sections.py MACHINE_LOCAL).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, text

from models.enums import MILESTONE_BEFORE, Milestone
from models.milestone_numbers import NUM_COLUMNS, num_column, numbers_missing_sql

TABLE_NAME = "incident_durations"
NO_SERVICE = "(no service)"  # the engine's name for the group of incidents on no service

_BEFORE = frozenset(MILESTONE_BEFORE)


@dataclass(frozen=True)
class Span:
    """A shipped metric as the triggers measure it: kind "duration" or "impact" (x affected users)."""

    id: int
    metric: str
    kind: str
    start: tuple[Milestone, ...]
    end: tuple[Milestone, ...]


_M = Milestone
SPANS: tuple[Span, ...] = (
    Span(1, "time_to_detect", "duration", (_M.IMPACT_STARTED,), (_M.DETECTED,)),
    Span(2, "time_to_acknowledge", "duration", (_M.DETECTED,), (_M.ACKNOWLEDGED,)),
    Span(3, "time_to_identify", "duration", (_M.DETECTED, _M.IMPACT_STARTED), (_M.IDENTIFIED,)),
    Span(4, "time_to_mitigate", "duration", (_M.IMPACT_STARTED,), (_M.MITIGATED,)),
    Span(5, "time_to_resolve", "duration", (_M.IMPACT_STARTED,), (_M.RESOLVED,)),
    Span(6, "customer_impact", "impact", (_M.IMPACT_STARTED,), (_M.MITIGATED,)),
)


def span_for(kind: str, start: tuple[Milestone, ...], end: tuple[Milestone, ...] | None) -> Span | None:
    """The span that measures exactly this definition, if the triggers keep one."""
    for span in SPANS:
        if (span.kind, span.start, span.end) == (kind, start, end):
            return span
    return None


# -- the rule, shared with the metrics engine (services/analytics/metrics_sql.py) -----------------------------
def milestones_between(start: Milestone, end: Milestone) -> list[Milestone]:
    """Milestones that, when set, must lie between start and end (detected lies inside time to resolve)."""
    return [m for m in Milestone if (start, m) in _BEFORE and (m, end) in _BEFORE]


def _num(row: str, m: Milestone) -> str:
    return f"{row}.{num_column(m)}"


def _moment(row: str, moments: tuple[Milestone, ...]) -> str:
    cols = [_num(row, m) for m in moments]
    return cols[0] if len(cols) == 1 else f"COALESCE({', '.join(cols)})"


def ms_between(row: str, starts: tuple[Milestone, ...], ends: tuple[Milestone, ...]) -> str:
    """Whole milliseconds from the first of `starts` the incident has to the first of `ends`, from the
    milestone numbers (`>> 12` is the millisecond julianday() reads from the text)."""
    return f"(({_moment(row, ends)} >> 12) - ({_moment(row, starts)} >> 12))"


def usable_sql(row: str, starts: tuple[Milestone, ...], ends: tuple[Milestone, ...]) -> str:
    """True where the incident has a start and an end, in order, with every milestone that belongs between
    them between them; one test per start and end it may use, so SQLite stops at the first failing one."""
    uses = []
    for i, s in enumerate(starts):
        for j, e in enumerate(ends):
            sc, ec = _num(row, s), _num(row, e)
            test = [f"{sc} IS NOT NULL"] + [f"{_num(row, x)} IS NULL" for x in starts[:i]]
            test += [f"{ec} IS NOT NULL"] + [f"{_num(row, x)} IS NULL" for x in ends[:j]]
            test.append(f"{ec} >= {sc}")
            test += [
                f"({_num(row, m)} IS NULL OR {_num(row, m)} BETWEEN {sc} AND {ec})"
                for m in milestones_between(s, e)
            ]
            uses.append("(" + " AND ".join(test) + ")")
    return "(" + " OR ".join(uses) + ")"


def names(moments: tuple[Milestone, ...]) -> str:
    return " or ".join(m.label for m in moments)


def _time_text(col: str) -> str:
    """A stored time as the rest of Sitrep words it: '2026-02-03 10:30:00 UTC'."""
    return f"replace(substr({col}, 1, 19), 'T', ' ') || ' UTC'"


def _pair_reason(row: str, s: Milestone, e: Milestone) -> list[str]:
    """CASE arms for the one start and end an incident uses: end before start, or a milestone that belongs
    between them outside them. These are exactly the pairs the metric uses, so a pair an import flagged
    leaves the incident out of this metric only when it is one of them."""
    sc, ec = f"{row}.{s.column}", f"{row}.{e.column}"
    arms = [
        f"WHEN {ec} < {sc} THEN '{e.label} (' || {_time_text(ec)} || ') is before {s.label} (' || {_time_text(sc)} || ')'"
    ]
    for m in milestones_between(s, e):
        mc = f"{row}.{m.column}"
        arms.append(
            f"WHEN {mc} IS NOT NULL AND ({mc} < {sc} OR {mc} > {ec}) THEN "
            f"'{m.label} (' || {_time_text(mc)} || ') is not between {s.label} and {e.label}'"
        )
    return arms


def reason_cases(
    row: str, kind: str, starts: tuple[Milestone, ...], ends: tuple[Milestone, ...]
) -> list[str]:
    """CASE arms that word why an incident cannot count (the text the rule in usable_sql mirrors)."""

    def none_of(moments: tuple[Milestone, ...]) -> str:
        return " AND ".join(f"{row}.{m.column} IS NULL" for m in moments)

    def has(m: Milestone) -> str:
        return f"{row}.{m.column} IS NOT NULL"

    cases = [
        f"WHEN {none_of(starts)} AND {none_of(ends)} THEN 'no {names(starts)} or {names(ends)} time'",
        f"WHEN {none_of(starts)} THEN 'no {names(starts)} time'",
        f"WHEN {none_of(ends)} THEN 'no {names(ends)} time'",
    ]
    if kind == "impact":
        cases.append(f"WHEN {row}.affected_users IS NULL THEN 'affected users not recorded'")
    # Which start and end this incident uses decides which pairs are checked: one CASE per combination.
    for i, s in enumerate(starts):
        for j, e in enumerate(ends):
            chosen = [has(s)] + [f"{row}.{x.column} IS NULL" for x in starts[:i]]
            chosen += [has(e)] + [f"{row}.{x.column} IS NULL" for x in ends[:j]]
            cases.append(f"WHEN {' AND '.join(chosen)} THEN CASE {' '.join(_pair_reason(row, s, e))} END")
    return cases


def _value_sql(span: Span, row: str) -> str:
    value = f"({ms_between(row, span.start, span.end)} / 60000.0)"
    if span.kind == "impact":  # minutes x affected users, multiplied in this order as the engine does
        value = f"({value} * {row}.affected_users)"
    return f"CASE WHEN {_counted_sql(span, row)} THEN {value} END"


# -- the tables ------------------------------------------------------------------------------------------------
COUNTS_NAME = "incident_duration_counts"
LEFT_OUT_INDEX = "ix_incident_durations_left_out"
# (name, columns, where): a group's values in order; the incidents left out, in number order, with their words.
INDEXES = (
    ("ix_incident_durations_service", ("span", "is_exercise", "service", "value"), None),
    ("ix_incident_durations_whole", ("span", "is_exercise", "value"), "slot = 0"),
    ("ix_incident_durations_severity", ("span", "is_exercise", "severity", "value"), "slot = 0"),
    (
        LEFT_OUT_INDEX,
        (
            "span",
            "is_exercise",
            "number",
            "incident_id",
            "key",
            "reason",
            "value",
        ),  # value: for a covering read
        "slot = 0 AND value IS NULL",
    ),
)
GROUPINGS = ("service", "severity", "all")  # what incident_duration_counts counts by


def define_tables(metadata: MetaData) -> tuple[Table, Table]:
    durations = Table(
        TABLE_NAME,
        metadata,
        Column("number", Integer, primary_key=True),  # incidents.number (rowids may change on VACUUM)
        Column("span", Integer, primary_key=True),
        Column("slot", Integer, primary_key=True),  # the service's place in the list; 0 is the whole incident
        Column("service", String, nullable=True),
        Column("is_exercise", Integer, nullable=False),
        Column("severity", String, nullable=True),
        Column("value", Float, nullable=True),  # NULL: the incident cannot count for this metric
        *(Column(limb, Integer, nullable=True) for limb in LIMBS),
        # Set on slot 0 of an incident left out: who it is and why, in the engine's words.
        Column("incident_id", String, nullable=True),
        Column("key", String, nullable=True),
        Column("reason", String, nullable=True),
        sqlite_with_rowid=False,
    )
    for name, cols, where in INDEXES:
        Index(name, *(durations.c[c] for c in cols), sqlite_where=text(where) if where else None)
    counts = Table(
        COUNTS_NAME,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("span", Integer, nullable=False),
        Column("is_exercise", Integer, nullable=False),
        Column("grouping", String, nullable=False),
        Column("grp", String, nullable=True),  # the service or severity; '' for all
        Column("counted", Integer, nullable=False),
        Column("left_out", Integer, nullable=False),
        Column("exact", Integer, nullable=False),  # how many of the counted have their limbs
        *(Column(limb, Integer, nullable=False) for limb in LIMBS),
    )
    Index(
        "ix_incident_duration_counts_group",
        counts.c.span,
        counts.c.is_exercise,
        counts.c.grouping,
        counts.c.grp,
        unique=True,
    )
    return durations, counts


# The exact sum: a value v (quantum 2^-68, |v| < 2^38) is v/4 = l2 + l1 * 2^-36 + l0 * 2^-70, each limb under
# 2^36, so a group of up to 2^27 values sums in 64-bit integers without overflow, and never fails a write.
LIMBS = ("l2", "l1", "l0")
_LIMIT = 274877906944.0  # 2^38


def exact_total(l2: int, l1: int, l0: int) -> float:
    """The sum the limbs stand for, rounded once, correctly (as math.fsum rounds the exact sum)."""
    return ((((l2 << 36) + l1) << 34) + l0) / (1 << 68)


def rows_select(where: str) -> str:
    """SELECT of every durations row for the incidents `where` picks (`i` is the incident)."""
    values = " ".join(f"WHEN {s.id} THEN {_value_sql(s, 'i')}" for s in SPANS)
    whys = " ".join(
        f"WHEN {s.id} THEN CASE WHEN {_counted_sql(s, 'i')} THEN NULL "
        f"{' '.join(reason_cases('i', s.kind, s.start, s.end))} END"
        for s in SPANS
    )
    spans = " UNION ALL ".join(f"SELECT {s.id} AS span" for s in SPANS)
    # One row per incident and span, its value and words computed once: LIMIT -1 under a join keeps SQLite
    # from flattening it into the query below, which would compute the value again for every use of it.
    measured = (
        f"SELECT i.number AS number, s.span AS span, i.services AS services, i.is_exercise AS is_exercise, "
        f"i.severity AS severity, i.id AS incident_id, i.key AS key, CASE s.span {values} END AS value, "
        f"CASE s.span {whys} END AS why FROM incidents AS i JOIN ({spans}) AS s WHERE {where} LIMIT -1"
    )
    x = f"(CASE WHEN abs(d.value) < {_LIMIT} THEN d.value * 0.25 END)"
    y = f"(({x} - CAST({x} AS INTEGER)) * 68719476736.0)"
    z = f"(({y} - CAST({y} AS INTEGER)) * 17179869184.0)"
    exact = f"{z} = CAST({z} AS INTEGER)"
    whole = "COALESCE(sv.key, 0) = 0"
    # A services text that is not JSON (written by hand elsewhere) must not fail the write: it stands as one
    # service without a name, which the metric tables by service decline, as the engine cannot read it either.
    services = "CASE WHEN json_valid(d.services) THEN d.services ELSE '[null]' END"
    return (
        f"SELECT d.number, d.span, COALESCE(sv.key, 0), CASE WHEN sv.key IS NULL THEN '{NO_SERVICE}' ELSE sv.value END, "
        f"d.is_exercise, d.severity, d.value, CASE WHEN {exact} THEN CAST({x} AS INTEGER) END, "
        f"CASE WHEN {exact} THEN CAST({y} AS INTEGER) END, CASE WHEN {exact} THEN CAST({z} AS INTEGER) END, "
        f"CASE WHEN {whole} AND d.why IS NOT NULL THEN d.incident_id END, "
        f"CASE WHEN {whole} AND d.why IS NOT NULL THEN d.key END, CASE WHEN {whole} THEN d.why END "
        f"FROM ({measured}) AS d LEFT JOIN json_each({services}) AS sv"
    )


def _counted_sql(span: Span, row: str) -> str:
    counted = usable_sql(row, span.start, span.end)
    return f"({row}.affected_users IS NOT NULL AND {counted})" if span.kind == "impact" else counted


def count_statement(where: str, sign: str = "") -> str:
    """Adds (sign '') or takes away (sign '-') the durations rows `where` picks to or from their groups' counts."""
    sums = f"{sign}count(value), {sign}(count(*) - count(value)), {sign}count(l0), " + ", ".join(
        f"{sign}COALESCE(sum({limb}), 0)" for limb in LIMBS
    )
    parts = " UNION ALL ".join(
        f"SELECT span, is_exercise, '{g}', {grp}, {sums} FROM {TABLE_NAME} WHERE ({where}){cond} GROUP BY span, is_exercise{by}"
        for g, grp, cond, by in (
            ("service", "service", "", ", service"),
            ("severity", "severity", " AND slot = 0", ", severity"),
            ("all", "''", " AND slot = 0", ""),
        )
    )
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in ("counted", "left_out", "exact", *LIMBS))
    return (
        f"INSERT INTO {COUNTS_NAME} (span, is_exercise, grouping, grp, counted, left_out, exact, {', '.join(LIMBS)}) "
        f"SELECT * FROM ({parts}) WHERE true "
        f"ON CONFLICT (span, is_exercise, grouping, grp) DO UPDATE SET {updates}"
    )


_COLUMNS = f"(number, span, slot, service, is_exercise, severity, value, {', '.join(LIMBS)}, incident_id, key, reason)"
INSERT_TRIGGER = "incidents_durations_insert"
_TRIGGER_UPDATE = "incidents_durations_update"
_TRIGGER_DELETE = "incidents_durations_delete"
TRIGGER_NAMES = (INSERT_TRIGGER, _TRIGGER_UPDATE, _TRIGGER_DELETE)
# What a durations row is made of; the milestone texts are read through their numbers, whose trigger's
# UPDATE fires this one.
WATCHED = ("number", "id", "key", "services", "is_exercise", "severity", "affected_users", *NUM_COLUMNS)


def fill_statements(where: str) -> list[str]:
    """Rows and counts for the incidents `where` picks, which have none yet (a back-fill, an import)."""
    numbers = f"number IN (SELECT i.number FROM incidents AS i WHERE {where})"
    return [f"INSERT INTO {TABLE_NAME} {_COLUMNS} {rows_select(where)}", count_statement(numbers)]


def _refresh(*old: str) -> str:
    """Trigger body: take the incident's old rows out of the counts, write its rows afresh, count them in."""
    gone = " OR ".join(f"number = {o}" for o in old)
    return (
        f"{count_statement(gone, '-')}; DELETE FROM {TABLE_NAME} WHERE {gone}; "
        f"INSERT INTO {TABLE_NAME} {_COLUMNS} {rows_select('i.rowid = NEW.rowid')}; "
        f"{count_statement('number = NEW.number')};"
    )


def insert_trigger_statement() -> str:
    # A row whose numbers are still to come gets its durations when their UPDATE fires the update trigger.
    return (
        f"CREATE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON incidents WHEN NOT {numbers_missing_sql('NEW')} "
        f"BEGIN {_refresh('NEW.number')} END"
    )


def trigger_statements() -> list[str]:
    return [
        insert_trigger_statement(),
        f"CREATE TRIGGER {_TRIGGER_UPDATE} AFTER UPDATE OF {', '.join(WATCHED)} ON incidents BEGIN "
        f"{_refresh('OLD.number', 'NEW.number')} END",
        f"CREATE TRIGGER {_TRIGGER_DELETE} AFTER DELETE ON incidents BEGIN "
        f"{count_statement('number = OLD.number', '-')}; DELETE FROM {TABLE_NAME} WHERE number = OLD.number; END",
    ]


def backfill_statements() -> list[str]:
    """Rows and counts for every incident already stored (the migration that adds the tables)."""
    return fill_statements("1 = 1")
