"""How the console writes times: the viewer's zone on screen, UTC on hover, durations in words,
stopwatches, and the bridge to Qt's date-time editors.

Every stored time is UTC; editors show the viewer's zone and hand back UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QDateTime

from models.types import as_utc
from services.text.timetext import UTC_TEXT_PATTERN, parse_utc_text, utc_text


def viewer_zone() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def _local(value: datetime) -> datetime:
    return as_utc(value).astimezone(viewer_zone())


def viewer_time(value: datetime, now: datetime | None = None) -> str:
    """'09:42' today, 'Fri 09:42' this week, '2026-03-07 09:42' before that (viewer's zone)."""
    local = _local(value)
    if now is None:
        return local.strftime("%Y-%m-%d %H:%M")
    today = _local(now).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if timedelta(0) <= (today - local.date()) < timedelta(days=6):
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def full_text(value: datetime) -> str:
    """Seconds and the zone's name, in the viewer's zone: for dialogs and previews."""
    return _local(value).strftime("%a %Y-%m-%d %H:%M:%S %Z")


def viewer_and_utc(value: datetime) -> str:
    """For tooltips: both readings of the same instant."""
    return f"{_local(value).strftime('%Y-%m-%d %H:%M:%S %Z')} (your time)\n{utc_text(value)}"


def _split(delta: timedelta) -> tuple[int, int, int, int]:
    """Days, hours, minutes, seconds of a span; a negative span (clock skew) is none at all."""
    total = max(0, int(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return days, hours, minutes, seconds


def duration_text(delta: timedelta) -> str:
    """'45 min', '2 h 10 min', '3 d 4 h'. Negative durations (clock skew) read as 0 min."""
    days, hours, minutes, _seconds = _split(delta)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def span_text(delta: timedelta) -> str:
    """A stopwatch reading: '0:42', '12:05', '1:35:12', '2d 03:10:00'. Never negative."""
    days, hours, minutes, seconds = _split(delta)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}:{seconds:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def zone_offset_text(local: datetime) -> str:
    """'UTC+09:00', 'UTC-05:00', 'UTC+00:00'."""
    offset = local.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


def person_local_time(tz_name: str, now: datetime) -> str:
    """What the clock on a responder's wall says now, e.g. 'Sat 18:42 (UTC+09:00)'."""
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return "unknown zone"
    local = as_utc(now).astimezone(zone)
    return f"{local.strftime('%a %H:%M')} ({zone_offset_text(local)})"


def to_qdatetime(value: datetime) -> QDateTime:
    """A Qt date-time for an editor; Qt shows it in the viewer's (local) zone."""
    return QDateTime.fromMSecsSinceEpoch(round(value.timestamp() * 1000))


def from_qdatetime(value: QDateTime) -> datetime:
    return datetime.fromtimestamp(value.toMSecsSinceEpoch() / 1000, UTC)


def humanise_times(text: str, now: datetime | None = None) -> str:
    """Service messages and timeline bodies write times in UTC ('2026-03-14 09:05:00 UTC'; older
    entries the record's ISO form, '2026-03-14T09:05:00.123456Z'). On screen they become the
    viewer's clock time: the time of day for today, with the date otherwise."""
    ref = _local(now or datetime.now(UTC))

    def local_text(match) -> str:
        value = parse_utc_text(match.group(0))
        if value is None:
            return match.group(0)
        shown = _local(value)
        fmt = "%H:%M:%S %Z" if shown.date() == ref.date() else "%a %d %b %H:%M:%S %Z"
        return shown.strftime(fmt)

    return UTC_TEXT_PATTERN.sub(local_text, text)
