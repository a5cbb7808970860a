"""Recurring maintenance across daylight saving, matchers, triage trees from files (broken ones named
by file and line), correlation and the likely origin, normalising to the metadata standard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.detection.correlation import correlate
from services.detection.metadata import IncomingAlert, MetadataStandard, load_service_map
from services.detection.muting import matches, occurrences, parse_matcher_text
from services.detection.triage import Walk, load_trees, parse_tree
from services.errors import ValidationError

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_weekly_0200_window_stays_at_0200_local_across_the_dst_change():
    start = datetime(2026, 3, 22, 2, 0, tzinfo=BERLIN).astimezone(UTC)  # Sunday, still CET (UTC+1)
    spans = list(occurrences(start, start + timedelta(hours=2), "FREQ=WEEKLY;BYDAY=SU;COUNT=3", "Europe/Berlin"))
    # 29 March 2026 02:00 does not exist in Berlin (clocks jump to 03:00): that one starts at 03:00;
    # the next is 02:00 again, now CEST (UTC+2)
    assert [s.astimezone(BERLIN).strftime("%a %H:%M") for s, _ in spans] == ["Sun 02:00", "Sun 03:00", "Sun 02:00"]
    assert spans[0][0].hour == 1 and spans[2][0] == datetime(2026, 4, 5, 0, 0, tzinfo=UTC)
    assert all(e - s == timedelta(hours=2) for s, e in spans)


def test_an_autumn_change_keeps_the_local_hour():
    start = datetime(2026, 10, 18, 2, 0, tzinfo=BERLIN).astimezone(UTC)
    spans = list(occurrences(start, start + timedelta(hours=1), "FREQ=WEEKLY;COUNT=3", "Europe/Berlin"))
    assert [s.astimezone(BERLIN).hour for s, _ in spans] == [2, 2, 2]
    # 25 October: 02:00 happens twice; the first (still CEST) is taken. 1 November is CET (UTC+1).
    assert [s.hour for s, _ in spans] == [0, 0, 1]


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;INTERVAL=0", "nonsense"])
def test_an_unreadable_recurrence_is_refused(rule):
    with pytest.raises(ValidationError):
        list(occurrences(datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1), rule, "UTC"))


def test_matchers():
    labels = {"service": "search", "env": "prod"}
    assert matches([parse_matcher_text("service=~search|redis-cache")], labels)
    assert not matches([parse_matcher_text("service=search"), parse_matcher_text("env!=prod")], labels)
    assert not matches([], labels)
    with pytest.raises(ValidationError):
        parse_matcher_text("no operator here")


def test_the_builtin_tree_walks_to_a_proposed_severity():
    load = load_trees(None, {"SEV1", "SEV2", "SEV3"})
    assert load.problems == []
    walk = Walk.start(load.trees["incident"])
    walk.answer(1)
    walk.answer(1)
    walk.answer(0)  # security: the T3 action node is passed and recorded
    assert walk.node_id == "T4" and any(step.get("node") == "T3" for step in walk.path)
    walk.back()
    assert walk.node_id == "T2"
    walk.answer(1)
    walk.answer(2)
    assert walk.outcome.propose_severity == "SEV3" and walk.outcome.verdict == "incident"


@pytest.mark.parametrize(("text", "where"), [
    ('start = "T0"\n[[nodes]]\nid = "T0"\nask = "?"\nanswers = [\n  { label = "x", next = "T9" },\n]\n', "line 6"),
    ('start = "T0"\n[[nodes]]\nid = "T0"\nask = "?"\nanswers = [{ label = "x", end = "done" }]\n', "verdict"),
    ('start = "T0"\n[[nodes]\nid = "T0"\n', "line 2"),
    ('start = "T1"\n[[nodes]]\nid = "T0"\nask = "?"\nanswers = [{ label = "x", end = "e", verdict = "noise" }]\n', "line 1"),
])  # fmt: skip
def test_a_broken_tree_file_is_named_with_its_line_and_the_others_load(tmp_path, text, where):
    folder = tmp_path / "triage"
    folder.mkdir()
    (folder / "broken.toml").write_text(text)
    with pytest.raises(ValueError, match=where):
        parse_tree(folder / "broken.toml")
    load = load_trees(tmp_path)
    assert "incident" in load.trees and load.problems[0].startswith("broken.toml, line ")


@dataclass
class _A:
    id: str
    service: str | None
    starts_at: datetime
    rule: str = "r"
    layer: str | None = None
    severity: str = "warning"
    labels: dict = field(default_factory=dict)


def test_correlation_follows_the_dependency_map_and_names_the_upstream_origin():
    services = load_service_map()
    t = datetime(2026, 1, 1, tzinfo=UTC)
    alerts = [
        _A("c1", "checkout", t + timedelta(minutes=1)),
        _A("p1", "payments", t + timedelta(minutes=2)),
        _A("d1", "postgres-main", t + timedelta(minutes=3)),  # upstream, even though it alerted last
        _A("s1", "search", t + timedelta(minutes=2)),  # not adjacent to any of them
        _A("c2", "checkout", t + timedelta(hours=2)),  # too late to join
    ]
    groups = correlate(alerts, services, timedelta(minutes=10))
    big = next(g for g in groups if "c1" in g.alert_ids)
    assert set(big.alert_ids) == {"c1", "p1", "d1"} and big.origin == "postgres-main"
    assert len(groups) == 3


def test_normalising_uses_each_sources_aliases_and_names_what_is_missing():
    standard = MetadataStandard.load()
    now = datetime.now(UTC)
    a = standard.normalise(IncomingAlert("webhook:dd", "datadog", "f", {"alertname": "X", "host_service": "payments",
                                         "env": "prd", "priority": "P1"}, {}, now, None, False))  # fmt: skip
    assert (a.service, a.environment, a.severity, a.team, a.layer) == ("payments", "production", "critical",
                                                                       "payments", "application")  # fmt: skip
    assert a.problems == ("missing team",)  # routed by the service map, still reported for the quality view
    b = standard.normalise(IncomingAlert("x", "generic", "g", {"alertname": "Y", "severity": "bogus"}, {}, now, None, False))
    assert "missing service" in b.problems and any("severity 'bogus'" in p for p in b.problems)
