"""Maintenance muting: a window's matchers, its recurrence (an RRULE read in an IANA zone, so a weekly
02:00 window stays at 02:00 local across daylight-saving changes), and whether an alert is muted.

Critical alerts are never muted: they notify and are marked as fired during maintenance."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.types import as_utc
from services.errors import ValidationError

MATCHER_FIELDS = ("service", "environment", "team", "layer", "severity")
_DAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
MAX_OCCURRENCES = 1000


def check_matchers(matchers: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Matchers as stored: name, value, is_regex, is_equal (Alertmanager's silence vocabulary)."""
    out = []
    for m in matchers or ():
        name = str(m.get("name") or "").strip()
        value = str(m.get("value") if m.get("value") is not None else "").strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValidationError(f"A matcher needs a label name (letters, digits, _), not '{name}'.",
                                  field="matchers")  # fmt: skip
        is_regex = bool(m.get("is_regex"))
        if is_regex:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValidationError(f"Matcher {name}=~'{value}' is not a valid pattern: {exc}.",
                                      field="matchers") from None  # fmt: skip
        out.append({"name": name, "value": value, "is_regex": is_regex, "is_equal": m.get("is_equal", True) is not False})
    return out


def parse_matcher_text(text: str) -> dict[str, Any]:
    """`service=payments`, `env!=staging`, `instance=~db-.*`, `team!~web|search`."""
    found = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*", text or "")
    if not found:
        raise ValidationError(f"'{text}' is not a matcher; write name=value, name!=value, name=~regex or name!~regex.",
                              field="matchers")  # fmt: skip
    name, op, value = found.groups()
    return {"name": name, "value": value.strip("\"'"), "is_regex": "~" in op, "is_equal": not op.startswith("!")}


def matcher_text(m: dict[str, Any]) -> str:
    op = ("=" if m.get("is_equal", True) else "!") + ("~" if m.get("is_regex") else "")
    op = {"=": "=", "!": "!=", "=~": "=~", "!~": "!~"}[op]
    return f"{m['name']}{op}{m['value']}"


def matches(matchers: Iterable[dict[str, Any]], labels: dict[str, str]) -> bool:
    matchers = list(matchers)
    if not matchers:
        return False
    for m in matchers:
        have = labels.get(m["name"], "")
        hit = re.fullmatch(m["value"], have) is not None if m.get("is_regex") else have == m["value"]
        if hit != (m.get("is_equal", True) is not False):
            return False
    return True


# -- recurrence ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    freq: str  # DAILY | WEEKLY
    interval: int
    by_day: tuple[int, ...]
    count: int | None
    until: datetime | None


def parse_rrule(text: str) -> Rule:
    parts = {}
    for piece in (text or "").removeprefix("RRULE:").split(";"):
        if "=" not in piece:
            raise ValidationError(f"'{piece}' in the recurrence is not KEY=VALUE.", field="recurrence")
        key, value = piece.split("=", 1)
        parts[key.strip().upper()] = value.strip().upper()
    freq = parts.pop("FREQ", "")
    if freq not in ("DAILY", "WEEKLY"):
        raise ValidationError("A recurrence is FREQ=DAILY or FREQ=WEEKLY (with BYDAY, INTERVAL, COUNT or UNTIL).",
                              field="recurrence")  # fmt: skip
    try:
        interval = int(parts.pop("INTERVAL", "1"))
        count = int(parts.pop("COUNT")) if "COUNT" in parts else None
        by_day = tuple(_DAYS[d[-2:]] for d in parts.pop("BYDAY").split(",")) if "BYDAY" in parts else ()
        until_text = parts.pop("UNTIL", None)
        until = datetime.strptime(until_text.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC) if until_text else None
    except (ValueError, KeyError) as exc:
        raise ValidationError(f"The recurrence '{text}' could not be read ({exc}).", field="recurrence") from None
    if parts:
        raise ValidationError(f"Unsupported recurrence part(s): {', '.join(parts)}.", field="recurrence")
    if interval < 1:
        raise ValidationError("INTERVAL must be 1 or more.", field="recurrence")
    return Rule(freq, interval, by_day, count, until)


def check_recurrence(recurrence: str | None, time_zone: str | None, start: datetime,
                     end: datetime) -> tuple[str | None, str | None]:  # fmt: skip
    recurrence = (recurrence or "").strip() or None
    time_zone = (time_zone or "").strip() or None
    if recurrence is None:
        return None, time_zone
    parse_rrule(recurrence)
    if time_zone is None:
        raise ValidationError("A recurring window needs its time zone (e.g. Europe/Berlin), so it keeps its local hour.",
                              field="time_zone")  # fmt: skip
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone '{time_zone}'.", field="time_zone") from None
    return recurrence, time_zone


def occurrences(start: datetime, end: datetime, recurrence: str | None, time_zone: str | None,
                *, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:  # fmt: skip
    """(start, end) in UTC of each occurrence, the first being the window itself. Each occurrence keeps
    the first one's local wall-clock time and length in `time_zone`."""
    if not recurrence:
        yield start, end
        return
    rule = parse_rrule(recurrence)
    zone = ZoneInfo(time_zone or "UTC")
    local = start.astimezone(zone)
    length = end - start
    day0 = local.date()
    yield start, end  # the window as planned is always the first occurrence (RFC 5545's DTSTART)
    produced = 1
    day_offset = 1
    while produced < MAX_OCCURRENCES:
        day = day0 + timedelta(days=day_offset)
        day_offset += 1
        weeks = (day - (day0 - timedelta(days=day0.weekday()))).days // 7
        if rule.freq == "DAILY":
            wanted = (day - day0).days % rule.interval == 0
        else:
            wanted = weeks % rule.interval == 0 and day.weekday() in (rule.by_day or (day0.weekday(),))
        if not wanted:
            continue
        at = datetime.combine(day, local.timetz().replace(tzinfo=None)).replace(tzinfo=zone).astimezone(UTC)
        if rule.until and at > rule.until or until and at > until:
            return
        yield at, at + length
        produced += 1
        if rule.count and produced >= rule.count:
            return


OCCURRENCE_HORIZON = timedelta(days=28)  # how far ahead a repeating window's silences are made


def upcoming_occurrences(row: Any) -> tuple[tuple[datetime, datetime], ...]:
    """A stored window's occurrences from its start to four weeks later (at least the window itself)."""
    start, end = as_utc(row.scheduled_for), as_utc(row.scheduled_until)
    recurrence, zone = getattr(row, "recurrence", None), getattr(row, "time_zone", None)
    return tuple(occurrences(start, end, recurrence, zone, until=start + OCCURRENCE_HORIZON))


def window_covering(windows: Iterable[Any], at: datetime, labels: dict[str, str]) -> Any | None:
    """The first open window (a MaintenanceView) whose matchers match `labels` and one of whose
    occurrences covers `at`."""
    for w in windows:
        if not matches(w.matchers, labels):
            continue
        for start, end in occurrences(w.scheduled_for, w.scheduled_until, w.recurrence, w.time_zone, until=at):
            if start <= at < end:
                return w
    return None
