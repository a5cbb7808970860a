"""A small follow-the-sun team on a fake clock, with a night of incidents behind it (see `team`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

MONDAY_10 = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # Madrid 11:00, New York 06:00, Tokyo 19:00, Accra 10:00

TEAM = (
    # name, handle, zone, working hours, trained for
    ("Ana Ruiz", "ana", "Europe/Madrid", "Mon-Fri 09:00-17:00", "IC,COMMS"),
    ("Bob Stone", "bob", "America/New_York", "Mon-Fri 09:00-17:00", "IC"),
    ("Hana Sato", "hana", "Asia/Tokyo", "09:00-18:00", "IC,TECH"),
    ("Kofi Mensah", "kofi", "Africa/Accra", "08:00-16:00", "IC"),
    ("Tom Hughes", "tom", "Europe/London", "Mon-Fri 09:00-17:30", "SCRIBE"),
)


@pytest.fixture
def team(sitrep, clock):
    """Ana commanded three incidents last week; overnight Bob commanded one (02:00-04:00 UTC) and, after an
    hour's break, took command of INC A at 05:00; Kofi commands INC B since 04:30. Now: Monday 10:00 UTC."""
    for name, handle, tz, hours, trained in TEAM:
        sitrep.people.add(name, handle, timezone=tz)
        sitrep.rotation.set_profile(handle, working_hours=hours, trained_roles=trained.split(","))
    keys = {}

    def run(title: str, ic: str, start: datetime, hours: float | None, *, label: str) -> str:
        clock.value = start
        inc = sitrep.incidents.declare(title, "SEV2", author=ic)
        sitrep.roles.assign(inc.id, "IC", ic, author=ic)
        if hours is not None:
            clock.value = start + timedelta(hours=hours)
            sitrep.roles.release(inc.id, "IC", author=ic)
            sitrep.incidents.set_status(inc.id, "resolved", author=ic)
        keys[label] = inc.key
        return inc.id

    for day in (5, 4, 3):
        run(f"Last week {day}", "ana", MONDAY_10 - timedelta(days=day, hours=1), 2, label=f"D{day}")
    run("Overnight queue backlog", "bob", MONDAY_10 - timedelta(hours=8), 2, label="C")
    run("Search slow", "kofi", MONDAY_10 - timedelta(hours=5, minutes=30), None, label="B")
    run("Checkout failing", "bob", MONDAY_10 - timedelta(hours=5), None, label="A")
    clock.value = MONDAY_10
    return keys
