"""Working hours and the night, read in a person's own time zone.

Working hours are typed the way people say them: "09:00-17:30" (every day), "Mon-Fri 08:00-16:00",
"Sun-Thu 09:00-18:00", or a shift that crosses midnight ("22:00-06:00": the shift belongs to the day it
starts). Parsing names what is wrong in words; nothing here reads the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.errors import ValidationError
from services.record.people import check_timezone

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SPAN = re.compile(r"^(?:(?P<days>[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?(?:\s*,\s*[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?)*)\s+)?"
                   r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")  # fmt: skip
_EXAMPLE = "Write them like 'Mon-Fri 09:00-17:30' or '08:00-16:00' (24-hour clock, days optional)."


def _clock(text: str, what: str, field: str) -> time:
    h, m = (int(x) for x in text.split(":"))
    if h == 24 and m == 0:
        return time(23, 59, 59)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValidationError(f"'{text}' is not a time of day ({what}). {_EXAMPLE}", field=field)
    return time(h, m)


def _days(text: str, field: str) -> frozenset[int]:
    out: set[int] = set()
    lookup = {d.lower(): i for i, d in enumerate(DAYS)}
    for part in text.split(","):
        ends = [p.strip().lower() for p in part.split("-")]
        for e in ends:
            if e not in lookup:
                raise ValidationError(f"'{e}' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun. {_EXAMPLE}",
                                      field=field)  # fmt: skip
        a, b = lookup[ends[0]], lookup[ends[-1]]
        i = a
        while True:  # "Fri-Mon" wraps through the weekend
            out.add(i)
            if i == b:
                break
            i = (i + 1) % 7
    return frozenset(out)


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday
    text: str

    @classmethod
    def parse(cls, text: str | None, *, field: str = "working_hours") -> WorkingHours:
        raw = " ".join((text or "").split())
        m = _SPAN.match(raw)
        if not m:
            raise ValidationError(f"Cannot read working hours '{text}'. {_EXAMPLE}", field=field)
        start = _clock(m["start"], "start", field)
        end = _clock(m["end"], "end", field)
        if start == end:
            raise ValidationError(f"Working hours '{text}' start and end at the same time. {_EXAMPLE}", field=field)
        days = _days(m["days"], field) if m["days"] else frozenset(range(7))
        return cls(start, end, days, raw)

    @property
    def overnight(self) -> bool:
        return self.end < self.start

    def shift_containing(self, local: datetime) -> tuple[datetime, datetime] | None:
        """The working shift (local start, local end) that `local` falls in, or None: off duty."""
        for back in (0, 1):
            day = (local - timedelta(days=back)).date()
            if day.weekday() not in self.days:
                continue
            start = datetime.combine(day, self.start, local.tzinfo)
            end = datetime.combine(day + timedelta(days=1) if self.overnight else day, self.end, local.tzinfo)
            if start <= local < end:
                return start, end
        return None

    def next_shift_start(self, local: datetime) -> datetime:
        """The start of the next shift after `local` (within a fortnight; the days always contain one)."""
        day = local.date()
        for ahead in range(15):
            d = day + timedelta(days=ahead)
            if d.weekday() in self.days:
                start = datetime.combine(d, self.start, local.tzinfo)
                if start > local:
                    return start
        raise ValidationError(f"Working hours '{self.text}' name no working day.")


def zone(tz: str) -> ZoneInfo:
    """The person's zone; an unknown name is a ValidationError saying so (not a KeyError)."""
    return ZoneInfo(check_timezone(tz))


def local_time(at: datetime, tz: str) -> datetime:
    return at.astimezone(zone(tz))


@dataclass(frozen=True)
class Night:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Night:
        wh = WorkingHours.parse(text, field="night")
        return cls(wh.start, wh.end)

    def contains(self, local: datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def hours_within(self, start: datetime, end: datetime, tz: str) -> float:
        """Hours of [start, end) that fall in this night in zone `tz`, counted in quarter hours."""
        if end <= start:
            return 0.0
        z = zone(tz)
        step = timedelta(minutes=15)
        n = 0
        t = start
        while t < end:
            chunk = min(step, end - t)
            if self.contains((t + chunk / 2).astimezone(z)):
                n += chunk.total_seconds()
            t += chunk
        return n / 3600


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
