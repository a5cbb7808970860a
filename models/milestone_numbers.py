"""Each incident milestone's time as a number beside its text, kept by SQLite triggers.

The metrics read durations over 100,000 incidents; turning the stored text into time with julianday() was
most of that work (docs/performance.md). Each milestone column `<name>_at` has a twin `<name>_at_num`:

    num = ms * 4096 + (us - ms * 1000) + 2048

where `us` is the time in whole microseconds since 1970 read from the text (exactly what the text says) and
`ms` is the time in milliseconds exactly as SQLite's julianday() reads that text (rounded the way SQLite
rounds). So `num >> 12` is the millisecond the metrics always computed with, which keeps every figure what it
was, and comparing two nums compares the two times to the microsecond, as comparing the texts did: `ms` never
decreases when `us` grows, and the remainder (within +-500 us of `ms`) fits in the low 12 bits.

Triggers, not the services, keep the twins equal to the text: every writer (the ORM, the append lane, the
history import's executemany, an export being imported, another process) goes through them, in the same
transaction as the milestone change. The twins are no part of the record: never exported, never mapped by the
ORM. A future migration that rebuilds the incidents table (Alembic batch mode) must recreate the triggers
(`trigger_statements()`); tests/test_milestone_numbers.py checks a migrated store keeps them in step.
"""

from __future__ import annotations

from models.enums import Milestone

NUM_SUFFIX = "_num"
INDEX_NAME = "ix_incidents_figures"
# What the metric figures read besides the numbers: enough for the index to answer them alone.
INDEX_LEADING_COLUMNS = (
    "services",
    "is_exercise",
    "severity",
    "incident_type",
    "flagged_pairs",
    "affected_users",
)

_TRIGGER_INSERT = "incidents_milestone_numbers_insert"
_TRIGGER_UPDATE = "incidents_milestone_numbers_update"
INSERT_TRIGGER = _TRIGGER_INSERT
TRIGGER_NAMES = (_TRIGGER_INSERT, _TRIGGER_UPDATE)


def num_column(m: Milestone) -> str:
    return m.column + NUM_SUFFIX


NUM_COLUMNS = tuple(num_column(m) for m in Milestone)


def number_sql(text_expr: str) -> str:
    """SQL giving the number for a stored time (fixed-width 'YYYY-MM-DDTHH:MM:SS.ffffffZ'), NULL for NULL."""
    ms = f"CAST(ROUND(julianday({text_expr}) * 86400000.0) AS INTEGER)"
    # julianday 2440587.5 is 1970-01-01T00:00Z: the millisecond count above starts 210866760000000 earlier.
    us = f"(CAST(strftime('%s', substr({text_expr}, 1, 19)) AS INTEGER) * 1000000 + CAST(substr({text_expr}, 21, 6) AS INTEGER))"
    return f"({ms} * 4096 + ({us} - ({ms} - 210866760000000) * 1000) + 2048)"


def _set_numbers(row: str) -> str:
    sets = ", ".join(f"{num_column(m)} = {number_sql(f'{row}.{m.column}')}" for m in Milestone)
    return f"UPDATE incidents SET {sets} WHERE rowid = {row}.rowid;"


def numbers_missing_sql(row: str) -> str:
    """True where a milestone has a time but no number: a writer that left the numbers to the trigger (every
    writer but the history import, which computes them in its INSERT with number_sql, saving the UPDATE)."""
    return (
        "("
        + " OR ".join(f"({row}.{m.column} IS NOT NULL AND {row}.{num_column(m)} IS NULL)" for m in Milestone)
        + ")"
    )


def trigger_statements() -> list[str]:
    """CREATE TRIGGER statements (SQLite) that keep every `_num` column equal to its milestone's text."""
    watched = ", ".join(m.column for m in Milestone)
    return [
        f"CREATE TRIGGER {_TRIGGER_INSERT} AFTER INSERT ON incidents WHEN {numbers_missing_sql('NEW')} "
        f"BEGIN {_set_numbers('NEW')} END",
        f"CREATE TRIGGER {_TRIGGER_UPDATE} AFTER UPDATE OF {watched} ON incidents BEGIN {_set_numbers('NEW')} END",
    ]


def backfill_statement() -> str:
    """Numbers for every incident already stored (the migration that adds the columns)."""
    sets = ", ".join(f"{num_column(m)} = {number_sql(m.column)}" for m in Milestone)
    return f"UPDATE incidents SET {sets}"


def is_derived(column) -> bool:
    """A column computed from others (a `_num` twin): never written by Sitrep's code, never exported."""
    return bool(column.info.get("derived_from"))
