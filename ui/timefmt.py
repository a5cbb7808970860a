"""Stopwatches and date-time editors. (Times as text: ui/localtime.py.)

Every stored time is UTC; editors show the viewer's zone and hand back UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from PySide6.QtCore import QDateTime


def viewer_zone() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def full_text(value: datetime) -> str:
    """Seconds and the zone's name, in the viewer's zone: for dialogs and previews."""
    return value.astimezone(viewer_zone()).strftime("%a %Y-%m-%d %H:%M:%S %Z")


def span_text(delta: timedelta) -> str:
    """A stopwatch reading: '0:42', '12:05', '1:35:12', '2d 03:10:00'. Never negative."""
    total = max(0, int(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}:{seconds:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def to_qdatetime(value: datetime) -> QDateTime:
    """A Qt date-time for an editor; Qt shows it in the viewer's (local) zone."""
    return QDateTime.fromMSecsSinceEpoch(round(value.timestamp() * 1000))


def from_qdatetime(value: QDateTime) -> datetime:
    return datetime.fromtimestamp(value.toMSecsSinceEpoch() / 1000, UTC)


_ISO_UTC = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")


def humanise_times(text: str, now: datetime | None = None) -> str:
    """Service messages and stored entries write times as ISO UTC ('2026-03-14T09:05:00.123456Z'),
    which is exact but hard to read aloud. On screen they become the viewer's clock time."""

    def local_text(match: re.Match) -> str:
        try:
            value = datetime.fromisoformat(match.group(0))
        except ValueError:
            return match.group(0)
        shown = value.astimezone(viewer_zone())
        ref = (now or datetime.now(UTC)).astimezone(viewer_zone())
        fmt = "%H:%M:%S %Z" if shown.date() == ref.date() else "%a %d %b %H:%M:%S %Z"
        return shown.strftime(fmt)

    return _ISO_UTC.sub(local_text, text)
