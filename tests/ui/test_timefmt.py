"""The console's one time module: service text in either form is shown on the viewer's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ui.timefmt import duration_text, humanise_times, person_local_time, span_text, viewer_zone


def test_readable_utc_in_service_text_is_shown_on_the_viewers_clock():
    value = datetime(2026, 3, 14, 9, 5, 7, tzinfo=UTC)
    local = value.astimezone(viewer_zone())
    text = "Milestone set: Bridge opened at 2026-03-14 09:05:07 UTC"
    assert (
        humanise_times(text, now=value) == f"Milestone set: Bridge opened at {local.strftime('%H:%M:%S %Z')}"
    )
    assert local.strftime("%a %d %b %H:%M:%S") in humanise_times(text, now=value + timedelta(days=3))


def test_a_time_that_is_not_a_date_is_left_alone():
    assert humanise_times("due 2026-02-30 09:05:07 UTC") == "due 2026-02-30 09:05:07 UTC"


def test_stopwatch_and_words_read_the_same_span():
    span = timedelta(days=2, hours=3, minutes=10, seconds=5)
    assert span_text(span) == "2d 03:10:05"
    assert duration_text(span) == "2 d 3 h"
    assert span_text(timedelta(minutes=-5)) == "0:00" and duration_text(timedelta(minutes=-5)) == "0 min"
    assert duration_text(timedelta(hours=1, minutes=5)) == "1 h 05 min"


def test_a_responders_wall_clock_names_the_offset():
    now = datetime(2026, 3, 14, 9, 42, tzinfo=UTC)
    assert person_local_time("Asia/Tokyo", now) == "Sat 18:42 (UTC+09:00)"
    assert person_local_time("UTC", now) == "Sat 09:42 (UTC+00:00)"
    assert person_local_time("Mars/Olympus", now) == "unknown zone"
