"""The times Sitrep accepts, one rule for every way a time comes in.

A live incident's times sit in a window around now: nobody declares today an incident that started
twenty years ago, and a year 999 typed by mistake must not reach the store (where it used to be written
as "999-06-01T..." and then fail every read). History brought in from other tools may be older, down to
the start of the Unix era, never in the future. Every stored time is in one of these windows, so every
stored time reads back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.types import as_utc
from services.errors import ValidationError
from services.text.timetext import utc_text

# How far back a live incident's times may go: a long-running incident or a late write-up, not an archive.
LIVE_LOOKBACK = timedelta(days=366 * 5)
# History import and export files: anything from 1970 on.
HISTORY_START = datetime(1970, 1, 1, tzinfo=UTC)
# Clocks disagree a little between machines and backends; more than this is a time in the future.
CLOCK_SKEW = timedelta(minutes=5)


def live_problem(value: datetime, now: datetime, *, dated: bool = True) -> str | None:
    """Why `value` cannot be a live incident's time, in words, or None (`dated`: the thing has a date,
    as an entry has; a milestone *is* a time)."""
    value = as_utc(value)
    if value > now:
        return "cannot be dated in the future" if dated else "cannot be in the future"
    earliest = now - LIVE_LOOKBACK
    if value < earliest:
        return (
            f"is more than five years ago ({utc_text(value)}); a live incident's times are after "
            f"{utc_text(earliest)} (bring older incidents in with `sitrep import-history`)"
        )
    return None


def history_problem(value: datetime, now: datetime) -> str | None:
    """Why `value` cannot be a stored time at all (the wide window of imports), or None."""
    value = as_utc(value)
    if value < HISTORY_START:
        return f"is before 1970 ({value.isoformat()}); Sitrep keeps times from 1970-01-01 on"
    if value > now + CLOCK_SKEW:
        return f"is in the future ({utc_text(value)})"
    return None


# A plan or a deadline (a meeting due, a maintenance window, a regulator's clock) may lie ahead, within reason.
PLAN_HORIZON = timedelta(days=366 * 100)


def plan_problem(value: datetime, now: datetime) -> str | None:
    """Why `value` cannot be a stored plan or deadline, or None: from 1970 to a century ahead."""
    value = as_utc(value)
    if value < HISTORY_START:
        return f"is before 1970 ({value.isoformat()}); Sitrep keeps times from 1970-01-01 on"
    if value > now + PLAN_HORIZON:
        return f"is more than a hundred years ahead ({utc_text(value)})"
    return None


def check_live(value: datetime | None, now: datetime, *, what: str, field: str, dated: bool = True) -> None:
    """Refuse a live incident's time outside the window (`what` names it: "'Detected'", "An entry")."""
    if value is None:
        return
    problem = live_problem(value, now, dated=dated)
    if problem:
        raise ValidationError(f"{what} {problem}.", field=field)


def check_stored(value: datetime | None, now: datetime, *, what: str, field: str) -> None:
    """The last line for any time about to be stored: the wide window."""
    if value is None:
        return
    problem = history_problem(value, now)
    if problem:
        raise ValidationError(f"{what} {problem}.", field=field)
