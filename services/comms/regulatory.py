"""Regulatory clocks and escalation paths, as data (resources/regulatory.toml, escalation.toml).

Both files are marked as needing review by counsel; nothing here sends anything. A clock is a
countdown on the incident from its trigger to the deadline the rule sets.
"""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.types import as_utc
from resources import resource_path
from services.errors import ValidationError
from services.record.incidents import INCIDENT_TYPES

REVIEW_NOTE = "needs review by counsel"


@dataclass(frozen=True)
class ClockRule:
    id: str
    label: str
    regime: str
    recipient: str
    trigger: str
    trigger_label: str
    hours: float | None = None
    calendar_days: int | None = None
    months: int | None = None
    business_days: int | None = None
    business_day_end: str = "17:00"
    business_day_zone: str = "UTC"
    backstop_hours: float | None = None
    notes: str = ""
    jurisdiction: str = ""  # where the regime applies (EU, US...): what a commander scans for first

    @property
    def starts_on_awareness(self) -> bool:
        return self.trigger == "awareness"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")} | {"review": REVIEW_NOTE}

    def describe(self) -> str:
        if self.hours is not None:
            span = f"{self.hours:g} h"
        elif self.calendar_days is not None:
            span = f"{self.calendar_days} calendar days"
        elif self.months is not None:
            span = f"{self.months} month(s)"
        else:
            span = f"{self.business_days} business days"
        text = f"{span} after {self.trigger_label}"
        if self.backstop_hours:
            text += f" (at most {self.backstop_hours:g} h after awareness)"
        return text

    def deadline(self, trigger_at: datetime, aware_at: datetime | None = None) -> datetime:
        trigger_at = as_utc(trigger_at)
        if self.hours is not None:
            due = trigger_at + timedelta(hours=self.hours)
        elif self.calendar_days is not None:
            due = trigger_at + timedelta(days=self.calendar_days)
        elif self.months is not None:
            due = add_months(trigger_at, self.months)
        elif self.business_days is not None:
            due = add_us_business_days(
                trigger_at, self.business_days, self.business_day_end, self.business_day_zone
            )
        else:  # pragma: no cover - rejected when the rules load
            raise ValidationError(f"Clock {self.id} has no deadline.")
        if self.backstop_hours and aware_at is not None:
            due = min(due, as_utc(aware_at) + timedelta(hours=self.backstop_hours))
        return due


@dataclass(frozen=True)
class EscalationPath:
    incident_type: str
    label: str
    groups: tuple[str, ...]
    clocks: tuple[str, ...]


def _load(name: str, config_dir: Path | None) -> dict:
    if config_dir is not None:
        candidate = Path(config_dir) / name
        if candidate.is_file():
            try:
                return tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ValidationError(f"{candidate} cannot be read: {exc}") from None
    return tomllib.loads(resource_path(name).read_text(encoding="utf-8"))


_DEADLINE_KEYS = ("hours", "calendar_days", "months", "business_days")


class RegulatoryRules:
    def __init__(self, config_dir: Path | None = None) -> None:
        doc = _load("regulatory.toml", config_dir)
        self.review_status = str(doc.get("review_status", REVIEW_NOTE))
        self.clocks: dict[str, ClockRule] = {}
        for cid, raw in (doc.get("clock") or {}).items():
            kinds = [k for k in _DEADLINE_KEYS if raw.get(k) is not None]
            if len(kinds) != 1:
                raise ValidationError(
                    f"regulatory.toml: clock '{cid}' needs exactly one of {', '.join(_DEADLINE_KEYS)}."
                )
            try:
                rule = ClockRule(id=cid, **raw)
            except TypeError as exc:
                raise ValidationError(f"regulatory.toml: clock '{cid}': {exc}") from None
            if rule.business_days is not None:
                _zone(rule.business_day_zone)
            self.clocks[cid] = rule
        esc = _load("escalation.toml", config_dir)
        self.paths: dict[str, EscalationPath] = {}
        for tid, raw in (esc.get("type") or {}).items():
            if tid not in INCIDENT_TYPES:
                # A path for a type no incident can have would never apply, silently.
                raise ValidationError(
                    f"escalation.toml: '{tid}' is not an incident type; use one of: {', '.join(INCIDENT_TYPES)}."
                )
            unknown = [c for c in raw.get("clocks", []) if c not in self.clocks]
            if unknown:
                raise ValidationError(
                    f"escalation.toml: type '{tid}' names unknown clock(s): {', '.join(unknown)}."
                )
            self.paths[tid] = EscalationPath(
                tid, str(raw.get("label", tid)), tuple(raw.get("groups", ())), tuple(raw.get("clocks", ()))
            )

    def rule(self, rule_id: str) -> ClockRule:
        try:
            return self.clocks[rule_id]
        except KeyError:
            raise ValidationError(
                f"No regulatory clock '{rule_id}'. Known: {', '.join(self.clocks)}."
            ) from None

    def path_for(self, incident_type: str) -> EscalationPath | None:
        return self.paths.get(incident_type)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone '{name}'.") from None


def add_months(when: datetime, months: int) -> datetime:
    month = when.month - 1 + months
    year, month = when.year + month // 12, month % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


# -- US federal holidays (5 U.S.C. 6103), for SEC business days --------------------------------
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(d: date) -> date:
    # A Saturday holiday is observed on Friday, a Sunday one on Monday.
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


def us_federal_holidays(year: int) -> set[date]:
    days = {
        _observed(date(year, 1, 1)),
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _last_weekday(year, 5, 0),  # Memorial Day
        _observed(date(year, 6, 19)),  # Juneteenth
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _observed(date(year, 11, 11)),
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),
    }
    # New Year's Day of next year falling on a Saturday is observed on 31 December of this one.
    days.add(_observed(date(year + 1, 1, 1)))
    return {d for d in days if d.year == year}


def is_us_business_day(d: date) -> bool:
    return d.weekday() < 5 and d not in us_federal_holidays(d.year)


def add_us_business_days(
    when: datetime, n: int, end_of_day: str = "17:00", zone: str = "America/New_York"
) -> datetime:
    """The end of the n-th US business day after the day `when` falls on (in `zone`)."""
    tz = _zone(zone)
    day = as_utc(when).astimezone(tz).date()
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_us_business_day(day):
            counted += 1
    hh, mm = (int(x) for x in end_of_day.split(":"))
    return datetime.combine(day, time(hh, mm), tz).astimezone(as_utc(when).tzinfo)
