"""Maintenance windows as a comms lead plans and runs them: the rules, the history, the words when refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models.entities import MaintenanceUpdate, MaintenanceWindow, OutboxItem
from models.enums import MaintenanceStatus
from services.errors import InvalidTransition, NotFound, ValidationError
from services.text.timeparse import parse_duration, parse_when

H = timedelta(hours=1)


def plan(sitrep, title="Database upgrade", start_in=H * 24, hours=2, **kw):
    now = sitrep.now()
    return sitrep.maintenance.plan(title, now + start_in, now + start_in + H * hours, author="ana", **kw)


def test_a_planned_window_is_kept_with_who_planned_it_and_one_history_line(sitrep, clock):
    w = plan(
        sitrep,
        description="Checkout is read-only for up to two hours.",
        services=["checkout", "checkout", " search "],
    )
    assert (w.key, w.status, w.planned_by) == ("MNT-0001", MaintenanceStatus.SCHEDULED, "ana")
    assert w.services == ("checkout", "search")
    assert w.scheduled_for == datetime(2026, 3, 15, 9, 0, tzinfo=UTC) and w.duration == 2 * H
    assert (w.notify_subscribers, w.remind_subscribers, w.auto_in_progress, w.auto_complete) == (True,) * 4
    assert (
        sitrep.maintenance.get("1") == sitrep.maintenance.get("mnt-0001") == sitrep.maintenance.get(w.id) == w
    )
    (first,) = sitrep.maintenance.history(w.key)
    assert (first.action, first.status, first.author, first.source) == (
        "planned",
        MaintenanceStatus.SCHEDULED,
        "ana",
        "local",
    )
    assert w.phase(clock()) == "upcoming"
    # No status page is set up: nothing is owed anywhere.
    with sitrep.store.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxItem)) == 0


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (H, H / 2, "scheduled_until", "must end after it starts"),
        (H, H, "scheduled_until", "must end after it starts"),
        (-H, H, "scheduled_for", "is in the past"),
    ],
)
def test_a_window_that_cannot_be_is_refused_in_words(sitrep, start, end, field, words):
    now = sitrep.now()
    with pytest.raises(ValidationError) as err:
        sitrep.maintenance.plan("Upgrade", now + start, now + end, author="ana")
    assert err.value.field == field and words in err.value.message
    assert "UTC" in err.value.message  # the times it is about, readable
    assert sitrep.maintenance.list() == []


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"description": "x" * 25_001}, "description"),
    ],
)
def test_titles_and_descriptions_the_status_page_would_refuse_are_refused_here(sitrep, kw, field):
    now = sitrep.now()
    args = {"title": "Upgrade", **kw}
    with pytest.raises(ValidationError) as err:
        sitrep.maintenance.plan(args.pop("title"), now + H, now + 2 * H, author="ana", **args)
    assert err.value.field == field


def test_a_start_typed_as_now_is_not_the_past_but_last_hour_is_only_as_a_backfill(sitrep, clock):
    now = clock()
    assert (
        sitrep.maintenance.plan("Now", now - timedelta(minutes=2), now + H, author="ana").status
        is MaintenanceStatus.SCHEDULED
    )
    done = sitrep.maintenance.plan("Last night", now - 10 * H, now - 8 * H, author="ana", backfill=True)
    running = sitrep.maintenance.plan("Since an hour", now - H, now + H, author="ana", backfill=True)
    assert (done.status, running.status) == (MaintenanceStatus.COMPLETED, MaintenanceStatus.IN_PROGRESS)
    assert done.ended_at == now - 8 * H and running.started_at == now - H
    with pytest.raises(ValidationError, match="only when backfilling"):
        sitrep.maintenance.plan("X", now + H, now + 2 * H, author="ana", status="completed")


def test_the_status_moves_the_way_maintenance_goes_and_no_other_way(sitrep, clock):
    w = plan(sitrep)
    with pytest.raises(InvalidTransition) as err:
        sitrep.maintenance.set_status(w.key, "verifying", author="ana")
    assert err.value.message == (
        "MNT-0001 is scheduled; it cannot move to verifying (it can move to in progress, completed or cancelled)."
    )
    with pytest.raises(InvalidTransition, match="already scheduled"):
        sitrep.maintenance.set_status(w.key, "scheduled", author="ana")
    clock.advance(hours=24)
    assert sitrep.maintenance.start(w.key, author="ana").started_at == clock()
    sitrep.maintenance.set_status(w.key, "verifying", author="ana", message="Checking replicas")
    sitrep.maintenance.set_status(w.key, "in_progress", author="ana", message="Replica lag; resuming")  # back
    clock.advance(minutes=90)
    done = sitrep.maintenance.complete(w.key, author="ana")
    assert done.status is MaintenanceStatus.COMPLETED and done.ended_at == clock() and not done.is_open
    with pytest.raises(InvalidTransition, match="a finished window stays finished"):
        sitrep.maintenance.cancel(w.key, author="ana")
    with pytest.raises(ValidationError, match="its record stays as it was"):
        sitrep.maintenance.reschedule(w.key, scheduled_until=clock() + H, author="ana")
    # A note after the work is done is still an update worth posting.
    sitrep.maintenance.post_update(w.key, "All replicas verified overnight.", author="ana")
    steps = [
        (h.action, h.from_status and h.from_status.value, h.status.value)
        for h in sitrep.maintenance.history(w.key)
    ]
    assert steps == [
        ("planned", None, "scheduled"),
        ("status", "scheduled", "in_progress"),
        ("status", "in_progress", "verifying"),
        ("status", "verifying", "in_progress"),
        ("status", "in_progress", "completed"),
        ("update", "completed", "completed"),
    ]


def test_reschedule_moves_a_scheduled_window_but_only_the_end_of_a_running_one(sitrep, clock):
    w = plan(sitrep)
    now = clock()
    moved = sitrep.maintenance.reschedule(
        w.key, now + 48 * H, now + 50 * H, author="ana", message="Vendor asked"
    )
    assert moved.scheduled_for == now + 48 * H
    last = sitrep.maintenance.history(w.key)[-1]
    assert last.action == "rescheduled" and last.message == "Vendor asked"
    assert set(last.changes) == {"scheduled_for", "scheduled_until"}
    assert "start: 2026-03-15 09:00:00 UTC → 2026-03-16 09:00:00 UTC" in last.describe()
    with pytest.raises(ValidationError, match="past"):
        sitrep.maintenance.reschedule(w.key, now - H, author="ana")
    with pytest.raises(ValidationError, match="must end after it starts"):
        sitrep.maintenance.reschedule(w.key, scheduled_until=now + 47 * H, author="ana")
    with pytest.raises(ValidationError, match="Nothing to change"):
        sitrep.maintenance.reschedule(w.key, now + 48 * H, author="ana")
    clock.advance(hours=48)
    sitrep.maintenance.start(w.key, author="ana")
    with pytest.raises(ValidationError, match="only its end can move") as err:
        sitrep.maintenance.reschedule(w.key, clock() + H, author="ana")
    assert err.value.field == "scheduled_for"
    longer = sitrep.maintenance.reschedule(
        w.key, scheduled_until=clock() + 4 * H, author="ana", message="Overrun"
    )
    assert longer.scheduled_until == clock() + 4 * H
    clock.advance(hours=2)
    with pytest.raises(ValidationError, match="cannot be in the past. Complete it instead"):
        sitrep.maintenance.reschedule(w.key, scheduled_until=clock() - H, author="ana")


def test_edits_record_what_changed_and_an_empty_update_is_refused(sitrep):
    w = plan(sitrep, services=["checkout"])
    sitrep.maintenance.edit(w.key, author="bo", title="Database upgrade (primary)", services=["checkout", "payments"],
                            remind_subscribers=False)  # fmt: skip
    last = sitrep.maintenance.history(w.key)[-1]
    assert last.action == "edited" and last.author == "bo"
    assert last.changes == {
        "title": ["Database upgrade", "Database upgrade (primary)"],
        "services": [["checkout"], ["checkout", "payments"]],
        "remind_subscribers": [True, False],
    }
    with pytest.raises(ValidationError, match="Write the update") as err:
        sitrep.maintenance.post_update(w.key, "  ", author="ana")
    assert err.value.field == "message"
    with pytest.raises(ValidationError, match="has no field"):
        sitrep.maintenance.edit(w.key, author="ana", severity="SEV1")
    with pytest.raises(NotFound, match="sitrep maintenance list"):
        sitrep.maintenance.get("MNT-0099")


def test_the_list_shows_open_windows_soonest_first_then_finished_ones(sitrep, clock):
    later = plan(sitrep, "Later", start_in=72 * H)
    sooner = plan(sitrep, "Sooner", start_in=3 * H)
    gone = plan(sitrep, "Called off", start_in=5 * H)
    sitrep.maintenance.cancel(gone.key, author="ana", message="Vendor postponed")
    old = sitrep.maintenance.plan("Old", clock() - 30 * H, clock() - 29 * H, author="ana", backfill=True)
    assert [w.title for w in sitrep.maintenance.list()] == ["Sooner", "Later", "Called off", "Old"]
    assert [w.key for w in sitrep.maintenance.list(include_finished=False)] == [sooner.key, later.key]
    assert old.phase(clock()) == "completed"
    clock.advance(hours=4)
    assert sitrep.maintenance.get(sooner.key).phase(clock()) == "start time passed"


def test_history_lines_are_only_ever_added(sitrep):
    w = plan(sitrep)
    sitrep.maintenance.post_update(w.key, "Prep done", author="ana")
    before = [(h.id, h.seq, h.message) for h in sitrep.maintenance.history(w.key)]
    sitrep.maintenance.post_update(w.key, "Runbook reviewed", author="bo")
    after = [(h.id, h.seq, h.message) for h in sitrep.maintenance.history(w.key)]
    assert after[: len(before)] == before and after[-1][1:] == (3, "Runbook reviewed")
    with sitrep.store.read() as s:
        assert s.scalar(select(func.count()).select_from(MaintenanceUpdate)) == 3
        assert s.scalar(select(func.count()).select_from(MaintenanceWindow)) == 1


def test_planning_times_read_forward():
    now = datetime(2026, 3, 14, 9, 41, 17, tzinfo=UTC)
    assert parse_when("+2h", now=now, ahead=True) == datetime(2026, 3, 14, 11, 41, tzinfo=UTC)
    assert parse_when("in 3 days", now=now, ahead=True) == datetime(2026, 3, 17, 9, 41, tzinfo=UTC)
    assert parse_when("22:00", now=now, local_tz=UTC, ahead=True) == datetime(2026, 3, 14, 22, 0, tzinfo=UTC)
    assert parse_when("08:00", now=now, local_tz=UTC, ahead=True) == datetime(2026, 3, 15, 8, 0, tzinfo=UTC)
    assert parse_when("08:00", now=now, local_tz=UTC) == datetime(
        2026, 3, 14, 8, 0, tzinfo=UTC
    )  # incidents look back
    with pytest.raises(ValidationError, match="22:00 \\(the next one"):
        parse_when("tomorrowish", now=now, ahead=True)
    assert parse_duration("2h30m") == timedelta(hours=2, minutes=30)
    with pytest.raises(ValidationError, match="not a duration"):
        parse_duration("2 hours")
