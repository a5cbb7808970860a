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


def _value_sql(span: Span, row: str) -> str:
    counted = usable_sql(row, span.start, span.end)
    value = f"({ms_between(row, span.start, span.end)} / 60000.0)"
    if span.kind == "impact":  # minutes x affected users, multiplied in this order as the engine does
        counted = f"({row}.affected_users IS NOT NULL AND {counted})"
        value = f"({value} * {row}.affected_users)"
    return f"CASE WHEN {counted} THEN {value} END"


# -- the table -------------------------------------------------------------------------------------------------
def define_table(metadata: MetaData) -> Table:
    table = Table(
        TABLE_NAME,
        metadata,
        Column("number", Integer, primary_key=True),  # incidents.number (rowids may change on VACUUM)
        Column("span", Integer, primary_key=True),
        Column("slot", Integer, primary_key=True),  # the service's place in the list; 0 is the whole incident
        Column("service", String, nullable=True),
        Column("is_exercise", Integer, nullable=False),
        Column("severity", String, nullable=True),
        Column("value", Float, nullable=True),
        Column("hi", Integer, nullable=True),
        Column("lo", Integer, nullable=True),
        sqlite_with_rowid=False,
        info={"derived": "kept by triggers from incidents (models/metric_durations.py)"},
    )
    for name, cols, whole in INDEXES:
        Index(name, *(table.c[c] for c in cols), sqlite_where=text("slot = 0") if whole else None)
    return table


# (name, columns, whole incidents only): a group's values in order, with their exact-sum parts alongside so
# a group's count and sum come from the index alone.
INDEXES = (
    ("ix_incident_durations_service", ("span", "is_exercise", "service", "value", "hi", "lo"), False),
    ("ix_incident_durations_whole", ("span", "is_exercise", "value", "hi", "lo"), True),
    ("ix_incident_durations_severity", ("span", "is_exercise", "severity", "value", "hi", "lo"), True),
)

_TO_HI = 16777216.0  # 2^24
_TO_LO = 17592186044416.0  # 2^44: hi * 2^44 + lo is the value in units of 2^-68
_HI_LIMIT = 274877906944.0  # 2^38: beyond it v * 2^24 may not fit an integer


def rows_select(where: str) -> str:
    """SELECT of every durations row for the incidents `where` picks (`i` is the incident)."""
    values = " ".join(f"WHEN {s.id} THEN {_value_sql(s, 'i')}" for s in SPANS)
    spans = " UNION ALL ".join(f"SELECT {s.id} AS span" for s in SPANS)
    inner = (
        f"SELECT i.number AS number, s.span AS span, COALESCE(sv.key, 0) AS slot, "
        f"CASE WHEN sv.key IS NULL THEN '{NO_SERVICE}' ELSE sv.value END AS service, i.is_exercise AS is_exercise, i.severity AS severity, "
        f"CASE s.span {values} END AS value "
        f"FROM incidents AS i JOIN ({spans}) AS s LEFT JOIN json_each(i.services) AS sv WHERE {where}"
    )
    scaled = f"SELECT d.*, CASE WHEN abs(d.value) < {_HI_LIMIT} THEN d.value * {_TO_HI} END AS w FROM ({inner}) AS d"
    parts = f"SELECT e.*, CAST(e.w AS INTEGER) AS h, (e.w - CAST(e.w AS INTEGER)) * {_TO_LO} AS f FROM ({scaled}) AS e"
    return (
        "SELECT number, span, slot, service, is_exercise, severity, value, h, "
        f"CASE WHEN f = CAST(f AS INTEGER) THEN CAST(f AS INTEGER) END FROM ({parts})"
    )


_COLUMNS = "(number, span, slot, service, is_exercise, severity, value, hi, lo)"
_TRIGGER_INSERT = "incidents_durations_insert"
_TRIGGER_UPDATE = "incidents_durations_update"
_TRIGGER_DELETE = "incidents_durations_delete"
TRIGGER_NAMES = (_TRIGGER_INSERT, _TRIGGER_UPDATE, _TRIGGER_DELETE)
# What a durations row is made of; the milestone texts are read through their numbers, whose trigger's
# UPDATE fires this one.
WATCHED = ("number", "services", "is_exercise", "severity", "affected_users", *NUM_COLUMNS)


def trigger_statements() -> list[str]:
    fill = f"INSERT INTO {TABLE_NAME} {_COLUMNS} {rows_select('i.rowid = NEW.rowid')};"
    return [
        # A row whose numbers are still to come gets its durations when their UPDATE fires the trigger below.
        f"CREATE TRIGGER {_TRIGGER_INSERT} AFTER INSERT ON incidents WHEN NOT {numbers_missing_sql('NEW')} BEGIN "
        f"DELETE FROM {TABLE_NAME} WHERE number = NEW.number; {fill} END",
        f"CREATE TRIGGER {_TRIGGER_UPDATE} AFTER UPDATE OF {', '.join(WATCHED)} ON incidents BEGIN "
        f"DELETE FROM {TABLE_NAME} WHERE number = OLD.number; DELETE FROM {TABLE_NAME} WHERE number = NEW.number; "
        f"{fill} END",
        f"CREATE TRIGGER {_TRIGGER_DELETE} AFTER DELETE ON incidents BEGIN "
        f"DELETE FROM {TABLE_NAME} WHERE number = OLD.number; END",
    ]


def backfill_statement() -> str:
    """Rows for every incident already stored (the migration that adds the table)."""
    return f"INSERT INTO {TABLE_NAME} {_COLUMNS} {rows_select('1 = 1')}"
