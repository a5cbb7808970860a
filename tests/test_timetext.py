"""Times in sentences: readable UTC to the second, and exact enough never to contradict themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.errors import ValidationError
from services.text.timetext import UTC_TEXT_PATTERN, parse_utc_text, utc_text, utc_texts

T = datetime(2026, 3, 14, 9, 30, 0, 434193, tzinfo=UTC)


def test_a_time_in_a_sentence_reads_in_utc_to_the_second():
    assert utc_text(T) == "2026-03-14 09:30:00 UTC"
    assert utc_text(T.astimezone(timezone(timedelta(hours=9)))) == "2026-03-14 09:30:00 UTC"
    assert utc_text(T, precise=True) == "2026-03-14 09:30:00.434 UTC"


def test_two_instants_in_the_same_second_are_told_apart():
    later = T + timedelta(milliseconds=300)
    assert utc_texts(T, later) == ["2026-03-14 09:30:00.434 UTC", "2026-03-14 09:30:00.734 UTC"]
    assert utc_texts(T, T + timedelta(seconds=5)) == ["2026-03-14 09:30:00 UTC", "2026-03-14 09:30:05 UTC"]


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-14 09:30:00 UTC",
        "2026-03-14 09:30:00.434 UTC",
        "2026-03-14T09:30:00.434193Z",
        "2026-03-14T09:30:00Z",
    ],
)
def test_both_the_readable_and_the_record_form_are_found_again(text):
    match = UTC_TEXT_PATTERN.search(f"was due {text} (SEV1)")
    assert match is not None and match.group(0) == text
    assert parse_utc_text(match.group(0)).replace(microsecond=0) == T.replace(microsecond=0)


def test_a_date_that_does_not_exist_is_left_as_written():
    assert parse_utc_text("2026-02-30 09:30:00 UTC") is None


def test_milestones_a_fraction_of_a_second_apart_are_refused_with_times_that_differ(sitrep, clock):
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    clock.advance(minutes=1)
    detected = clock() - timedelta(minutes=1) + timedelta(milliseconds=250)
    with pytest.raises(ValidationError) as err:
        sitrep.incidents.set_milestone(inc.id, "detected", detected, author="ana")
    assert "(2026-03-14 09:00:00.000 UTC)" in err.value.message
    assert "(2026-03-14 09:00:00.250 UTC)" in err.value.message


def test_timeline_bodies_carry_readable_times_and_data_keeps_the_exact_one(sitrep, clock):
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    clock.advance(minutes=3, microseconds=434193)
    sitrep.incidents.set_milestone(inc.id, "bridge_opened", clock(), author="ana")
    entry = sitrep.timeline.entries(inc.id)[-1]
    assert entry.body == "Milestone set: Bridge opened at 2026-03-14 09:03:00 UTC"
    assert entry.data["to"] == "2026-03-14T09:03:00.434193Z"
