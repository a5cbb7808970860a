"""The timeline (append, correct, filter), quick-entry prefixes, and reading times people type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.enums import EntryKind
from services.errors import NotFound, ValidationError
from services.record.timeline import GENESIS_HASH, MAX_BODY, QUICK_PREFIXES, entry_digest, parse_quick_entry
from services.text.timeparse import parse_when


@pytest.fixture
def inc(sitrep, clock):
    made = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    clock.advance(minutes=1)
    return made


# -- appending -------------------------------------------------------------------------------
def test_entries_are_numbered_and_chained(sitrep, inc, clock):
    a = sitrep.timeline.log(inc.id, "Errors at 40%", author="ana", kind="observation")
    clock.advance(seconds=5)
    b = sitrep.timeline.log(inc.id, "  Rolled back  ", author=" ben ", source="pagerduty")
    first = sitrep.timeline.entries(inc.id)[0]
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (a.seq, a.prev_hash, b.seq, b.prev_hash) == (2, first.hash, 3, a.hash)
    assert (b.body, b.author, b.source, b.recorded_at) == ("Rolled back", "ben", "pagerduty", clock())
    assert b.hash == entry_digest(a.hash, b._asdict())
    assert sitrep.timeline.entries(inc.id) == [first, a, b]
    assert sitrep.timeline.count(inc.id) == 3 and sitrep.timeline.last_seq(inc.id) == 3
    assert sitrep.timeline.entries(inc.id, after_seq=1, limit=1) == [a]
    assert sitrep.timeline.entries_by_seq(inc.id, [3, 1]) == [b, first]  # in the order asked
    assert sitrep.timeline.authors(inc.id) == ["ana", "ben"]


def test_each_incident_has_its_own_chain(sitrep, inc):
    other = sitrep.incidents.declare("Search slow", "SEV3", author="ana")
    entry = sitrep.timeline.log(other.id, "p99 at 4 s", author="ana")
    assert entry.seq == 2
    assert sitrep.timeline.log(inc.id, "Errors at 40%", author="ana").seq == 2


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"kind": "gossip"}, "kind", "Unknown entry kind 'gossip'. Use one of: action, alert"),
        ({"kind": "status_change"}, "kind", "written by Sitrep when the incident changes"),
        ({"kind": "clock_breach"}, "kind", "written by Sitrep"),
        ({"body": "   "}, "body", "needs some text"),
        ({"body": "x" * (MAX_BODY + 1)}, "body", "limited to 20,000 characters"),
        ({"kind": "decision"}, "rationale", "A decision needs its rationale"),
        ({"kind": "decision", "rationale": "  "}, "rationale", "rationale"),
        ({"author": ""}, "author", "Say who is writing"),
        ({"occurred_in": 1}, "occurred_at", "cannot be dated in the future"),
    ],
)
def test_log_refuses_what_is_not_an_entry(sitrep, inc, clock, kwargs, field, words):
    args = {"body": "Errors at 40%", "author": "ana", **kwargs}
    if "occurred_in" in args:
        args["occurred_at"] = clock() + timedelta(minutes=args.pop("occurred_in"))
    body = args.pop("body")
    with pytest.raises(ValidationError, match=words) as err:
        sitrep.timeline.log(inc.id, body, **args)
    assert err.value.field == field
    assert sitrep.timeline.count(inc.id) == 1


def test_log_to_an_unknown_incident(sitrep):
    with pytest.raises(NotFound, match="That incident does not exist"):
        sitrep.timeline.log("no-such-id", "hello", author="ana")


def test_a_backdated_entry_keeps_both_times(sitrep, inc, clock):
    happened = clock() - timedelta(minutes=25)
    entry = sitrep.timeline.log(inc.id, "Customer tweet about failures", author="ana", occurred_at=happened)
    assert (entry.occurred_at, entry.recorded_at) == (happened, clock())
    naive = datetime(2026, 3, 14, 8, 30)  # a naive time is taken as UTC
    assert sitrep.timeline.log(inc.id, "x", author="ana", occurred_at=naive).occurred_at == naive.replace(
        tzinfo=UTC
    )


# -- corrections -----------------------------------------------------------------------------
def test_a_correction_supersedes_and_keeps_the_original(sitrep, inc, clock):
    wrong = sitrep.timeline.log(inc.id, "Errors at 4%", author="ana", kind="observation")
    clock.advance(minutes=3)
    fixed = sitrep.timeline.correct(wrong.id, "Errors at 40%", author="ben", reason="misread the graph")
    assert (fixed.kind, fixed.supersedes_id, fixed.occurred_at) == (
        "observation",
        wrong.id,
        wrong.occurred_at,
    )
    assert fixed.data == {"correction_reason": "misread the graph", "corrects_seq": wrong.seq}
    assert sitrep.timeline.entries(inc.id)[wrong.seq - 1] == wrong, "the original is still in the record"
    assert sitrep.timeline.superseded_ids(inc.id) == {wrong.id}
    assert wrong.seq not in sitrep.timeline.matching_seqs(inc.id, hide_superseded=True)
    with pytest.raises(
        ValidationError, match=f"Entry #{wrong.seq} was already corrected by entry #{fixed.seq}"
    ):
        sitrep.timeline.correct(wrong.id, "Errors at 45%", author="ben", reason="again")
    assert (
        sitrep.timeline.correct(fixed.id, "Errors at 45%", author="ben", reason="new data").supersedes_id
        == fixed.id
    )


def test_correction_refusals(sitrep, inc):
    entry = sitrep.timeline.log(inc.id, "Errors at 4%", author="ana")
    with pytest.raises(ValidationError, match="Say why"):
        sitrep.timeline.correct(entry.id, "Errors at 40%", author="ana", reason=" ")
    with pytest.raises(ValidationError, match="cannot be empty"):
        sitrep.timeline.correct(entry.id, "", author="ana", reason="typo")
    with pytest.raises(NotFound, match="timeline entry does not exist"):
        sitrep.timeline.correct("no-such-entry", "x", author="ana", reason="typo")
    assert sitrep.timeline.count(inc.id) == 2


def test_entries_sitrep_wrote_cannot_be_corrected_with_free_text(sitrep, inc):
    declaration = sitrep.timeline.entries(inc.id)[0]
    with pytest.raises(ValidationError, match="Entry #1 was written by Sitrep when the incident changed"):
        sitrep.timeline.correct(declaration.id, "Nothing happened", author="mallory", reason="oops")
    assert sitrep.timeline.count(inc.id) == 1 and sitrep.timeline.superseded_ids(inc.id) == set()


def test_filters(sitrep, inc):
    sitrep.timeline.log(inc.id, "Errors at 40% on checkout_api", author="ana", kind="observation")
    sitrep.timeline.log(inc.id, "Roll back", author="ben", kind="decision", rationale="deploy at 08:50")
    sitrep.timeline.log(inc.id, "Paged the DBA", author="Benedikt", kind="action")
    assert sitrep.timeline.matching_seqs(inc.id, kinds=["decision", "action"]) == [3, 4]
    assert sitrep.timeline.matching_seqs(inc.id, author="ben") == [3, 4]
    assert sitrep.timeline.matching_seqs(inc.id, text="08:50") == [3], "the rationale is searched too"
    assert sitrep.timeline.matching_seqs(inc.id, text="40%") == [2]
    assert sitrep.timeline.matching_seqs(inc.id, text="%") == [2], "% is a character, not a wildcard"
    assert sitrep.timeline.matching_seqs(inc.id, text="t_a") == [2], "_ is a character, not a wildcard"


# -- quick-entry prefixes --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Paged the DBA", (EntryKind.NOTE, "Paged the DBA", None)),
        ("  /obs   Errors at 40%  ", (EntryKind.OBSERVATION, "Errors at 40%", None)),
        ("/OBS Errors at 40%", (EntryKind.OBSERVATION, "Errors at 40%", None)),
        ("/assume The deploy is the trigger", (EntryKind.ASSUMPTION, "The deploy is the trigger", None)),
        ("/hyp DNS", (EntryKind.ASSUMPTION, "DNS", None)),
        (
            "/decision Roll back because the deploy matches",
            (EntryKind.DECISION, "Roll back", "the deploy matches"),
        ),
        (
            "/decide Fail over -- the primary is gone",
            (EntryKind.DECISION, "Fail over", "the primary is gone"),
        ),
        ("/decision Hold | waiting for the vendor", (EntryKind.DECISION, "Hold", "waiting for the vendor")),
        ("/decision Roll back", (EntryKind.DECISION, "Roll back", None)),
        ("/decision A because B because C", (EntryKind.DECISION, "A", "B because C")),
        (
            "/action Restart the pods because they leak",
            (EntryKind.ACTION, "Restart the pods because they leak", None),
        ),
        ("/comms Status page updated", (EntryKind.COMMS, "Status page updated", None)),
        ("/alert p99 > 2s", (EntryKind.ALERT, "p99 > 2s", None)),
        ("/change Raised the pool to 200", (EntryKind.CONFIG_CHANGE, "Raised the pool to 200", None)),
        ("/note", (EntryKind.NOTE, "", None)),
        ("", (EntryKind.NOTE, "", None)),
    ],
)
def test_quick_entry_prefixes(typed, expected):
    assert parse_quick_entry(typed) == expected


def test_every_quick_prefix_maps_to_an_authored_kind():
    for prefix, kind in QUICK_PREFIXES.items():
        assert parse_quick_entry(f"{prefix} x")[0] is kind
        assert kind.value in {
            "note",
            "observation",
            "assumption",
            "decision",
            "action",
            "comms",
            "alert",
            "config_change",
        }


def test_an_unknown_prefix_lists_the_known_ones():
    with pytest.raises(ValidationError, match="Unknown prefix '/frobnicate'. Known prefixes: .*/decision"):
        parse_quick_entry("/frobnicate the cache")


# -- reading times -----------------------------------------------------------------------------
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 on 14 March 2026 (summer time starts on the 29th)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-03-14T09:10Z", datetime(2026, 3, 14, 9, 10, tzinfo=UTC)),
        ("2026-03-14T09:10:05.250Z", datetime(2026, 3, 14, 9, 10, 5, 250000, tzinfo=UTC)),
        ("2026-03-14T10:10+01:00", datetime(2026, 3, 14, 9, 10, tzinfo=UTC)),
        ("2026-03-14T04:10-05:00", datetime(2026, 3, 14, 9, 10, tzinfo=UTC)),
        ("2026-03-14T10:10", datetime(2026, 3, 14, 9, 10, tzinfo=UTC)),  # naive: the viewer's zone
        ("2026-03-14 10:10", datetime(2026, 3, 14, 9, 10, tzinfo=UTC)),
        ("10:10", datetime(2026, 3, 14, 9, 10, tzinfo=UTC)),  # today, Berlin time
        ("10:30:00", datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),  # exactly now is still today
        ("11:00", datetime(2026, 3, 13, 10, 0, tzinfo=UTC)),  # later than now in Berlin: yesterday
        ("now", NOW),
        (" NOW ", NOW),
        ("10m ago", NOW - timedelta(minutes=10)),
        ("-2h", NOW - timedelta(hours=2)),
        ("- 90 min", NOW - timedelta(minutes=90)),
        ("3 days ago", NOW - timedelta(days=3)),
        ("45s ago", NOW - timedelta(seconds=45)),
    ],
)
def test_parse_when_reads_what_people_type(typed, expected):
    value = parse_when(typed, now=NOW, local_tz=BERLIN)
    assert value == expected and value.utcoffset() == timedelta(0)


def test_a_clock_time_just_after_midnight_rolls_back_to_yesterday():
    just_after_midnight = datetime(2026, 3, 14, 23, 10, tzinfo=UTC)  # 00:10 on the 15th in Berlin
    assert parse_when("23:55", now=just_after_midnight, local_tz=BERLIN) == datetime(
        2026, 3, 14, 22, 55, tzinfo=UTC
    )
    assert parse_when("00:05", now=just_after_midnight, local_tz=BERLIN) == datetime(
        2026, 3, 14, 23, 5, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "Give a time"),
        ("   ", "Give a time"),
        ("yesterday-ish", "not a time I can read"),
        ("10m", "not a time I can read"),  # neither "ago" nor a minus: ambiguous
        ("+10m", "not a time I can read"),
        ("25:00", "not a clock time"),
        ("10:75", "not a clock time"),
        ("2026-13-01", "not a time I can read"),
        ("99999999999d ago", "too far"),
        ("0001-01-01T00:00+01:00", "too far"),
    ],
)
def test_parse_when_refuses_garbage_with_a_hint(typed, words):
    with pytest.raises(ValidationError, match=words) as err:
        parse_when(typed, now=NOW, local_tz=BERLIN, field="at")
    assert err.value.field == "at"
