"""`iso` is the text every hash in the timeline chain is computed over: it must never change by a byte."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from models.types import iso


def _reference(value: datetime) -> str:
    # The form the chain was first written with.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


ZONES = [
    None,
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
]


def test_iso_matches_the_original_text_for_many_times_and_zones():
    rnd = random.Random(20261127)
    checked = 0
    for _ in range(20_000):
        moment = datetime(1970, 1, 1) + timedelta(seconds=rnd.randrange(0, 200 * 365 * 86400))
        micro = rnd.choice([0, 1, 999_999, rnd.randrange(1_000_000)])
        value = moment.replace(microsecond=micro, tzinfo=rnd.choice(ZONES), fold=rnd.randrange(2))
        assert iso(value) == _reference(value), value
        checked += 1
    assert checked == 20_000


def test_iso_edges():
    cases = [
        datetime(2026, 3, 1),  # naive is read as UTC
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 0, 0, 0, 0, tzinfo=ZoneInfo("Europe/Berlin")),  # crosses into the day before
        datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-1))),  # into next year
        datetime(1000, 1, 1),
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),  # strftime leaves such a year unpadded
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ]
    for value in cases:
        assert iso(value) == _reference(value), value
    assert iso(datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) == "2026-03-01T12:00:00.000000Z"
    assert iso(None) is None
