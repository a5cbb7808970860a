"""How the console writes times: in the viewer's zone on screen, in UTC on hover, durations in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.types import as_utc


def viewer_time(value: datetime, now: datetime | None = None) -> str:
    """'09:42' today, 'Fri 09:42' this week, '2026-03-07 09:42' before that (viewer's zone)."""
    local = as_utc(value).astimezone()
    if now is None:
        return local.strftime("%Y-%m-%d %H:%M")
    today = as_utc(now).astimezone().date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if timedelta(0) <= (today - local.date()) < timedelta(days=6):
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def utc_text(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def viewer_and_utc(value: datetime) -> str:
    """For tooltips: both readings of the same instant."""
    local = as_utc(value).astimezone()
    return f"{local.strftime('%Y-%m-%d %H:%M:%S %Z')} (your time)\n{utc_text(value)}"


def duration_text(delta: timedelta) -> str:
    """'45 min', '2 h 10 min', '3 d 4 h'. Negative durations (clock skew) read as 0 min."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def person_local_time(tz_name: str, now: datetime) -> str:
    """What the clock on a responder's wall says now, e.g. 'Sat 18:42 (UTC+09:00)'."""
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return "unknown zone"
    local = as_utc(now).astimezone(zone)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{local.strftime('%a %H:%M')} ({offset})"
