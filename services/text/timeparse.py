"""Reading times people type: ISO 8601, 'now', relative ('-15m', '2h ago'), or a local clock time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from services.errors import ValidationError

_REL = re.compile(r"^\s*-?\s*(\d+)\s*(s|sec|m|min|h|hr|hour|hours|d|day|days)\s*(ago)?\s*$", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400}  # fmt: skip
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
# Ahead of now, for planning: "+2h", "in 2h", "in 3 days".
_AHEAD = re.compile(r"^\s*(?:\+\s*|in\s+)(\d+)\s*(s|sec|m|min|h|hr|hour|hours|d|day|days)\s*$", re.I)


def parse_when(
    text: str, *, now: datetime, local_tz: tzinfo | None = None, field: str = "time", ahead: bool = False
) -> datetime:
    """A UTC datetime from what a person typed. Times without a zone are in `local_tz` (the viewer's).

    Incident times look back: "09:40" is the last 09:40. With `ahead` (planning maintenance), "09:40" is
    the next 09:40, and "+2h" or "in 2h" count forward from now."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("Give a time.", field=field)
    if raw.lower() == "now":
        return now
    try:
        if ahead:
            return _parse_ahead(raw, now, local_tz, field)
        return _parse(raw, now, local_tz, field)
    except OverflowError:
        # "99999999d ago" or year 1 with an offset: outside what a datetime can hold.
        raise ValidationError(
            f"'{raw}' is too far from today to be a time in an incident.", field=field
        ) from None


def _parse(raw: str, now: datetime, local_tz: tzinfo | None, field: str) -> datetime:
    rel = _REL.match(raw)
    if rel and (raw.lstrip().startswith("-") or rel.group(3)):
        return now - timedelta(seconds=int(rel.group(1)) * _UNITS[rel.group(2).lower()])
    zone = local_tz or datetime.now().astimezone().tzinfo or UTC
    clock = _CLOCK.match(raw)
    if clock:
        h, m, s = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if h > 23 or m > 59 or s > 59:
            raise ValidationError(f"'{raw}' is not a clock time.", field=field)
        local_now = now.astimezone(zone)
        candidate = local_now.replace(hour=h, minute=m, second=s, microsecond=0)
        if candidate > local_now:  # "09:40" typed at 00:10 means yesterday's 09:40
            candidate -= timedelta(days=1)
        return candidate.astimezone(UTC)
    try:
        value = datetime.fromisoformat(raw.replace(" ", "T", 1) if "T" not in raw else raw)
    except ValueError:
        raise ValidationError(
            f"'{raw}' is not a time I can read. Use e.g. 2026-03-14T09:30Z, 09:30 (today, your time zone), "
            "-15m or 'now'.",
            field=field,
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _parse_ahead(raw: str, now: datetime, local_tz: tzinfo | None, field: str) -> datetime:
    forward = _AHEAD.match(raw)
    if forward:
        # Planned to the minute: "+2h" at 09:41:17 is 11:41, not 11:41:17.
        return (now + timedelta(seconds=int(forward.group(1)) * _UNITS[forward.group(2).lower()])).replace(
            second=0, microsecond=0
        )
    clock = _CLOCK.match(raw)
    if clock:
        earlier = _parse(raw, now, local_tz, field)  # the last such clock time (it checks the digits)
        if now - earlier < timedelta(minutes=1):  # the current minute: planning "from 09:40" at 09:40
            return earlier
        # The next one: a day later on the wall clock (aware arithmetic keeps the wall time across DST).
        zone = local_tz or datetime.now().astimezone().tzinfo or UTC
        return (earlier.astimezone(zone) + timedelta(days=1)).astimezone(UTC)
    if _REL.match(raw):
        return _parse(raw, now, local_tz, field)
    try:
        return _parse(raw, now, local_tz, field)
    except ValidationError:
        raise ValidationError(
            f"'{raw}' is not a time I can read. Use e.g. 2026-03-14T22:00Z, 22:00 (the next one, your time "
            "zone), +2h, 'in 3 days' or 'now'.",
            field=field,
        ) from None


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """'90m', '2h', '1d', '2h30m' as a span of time."""
    raw = (text or "").strip().lower().replace(" ", "")
    parts = re.findall(r"(\d+)(d|h|m|min|s)", raw)
    if not raw or not parts or "".join(n + u for n, u in parts) != raw:
        raise ValidationError(
            f"'{text}' is not a duration I can read. Use e.g. 90m, 2h or 2h30m.", field=field
        )
    unit = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}
    span = timedelta(seconds=sum(int(n) * unit[u] for n, u in parts))
    if span <= timedelta(0):
        raise ValidationError("A duration must be longer than zero.", field=field)
    return span
