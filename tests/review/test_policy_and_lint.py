"""The review's rules as data: triggers, the business-hours meeting clock, business-day publication, and
each rule of the blameless-language lint."""

from __future__ import annotations

from datetime import UTC, datetime

from services.review.lint import lint_section
from services.review.policy import load_policy


def test_business_hours_and_business_days(tmp_path):
    (tmp_path / "review.toml").write_text("[clocks]\nmeeting_business_hours = true\nmeeting_within_hours = 16\n"
                                          'business_timezone = "Europe/Berlin"\n', encoding="utf-8")  # fmt: skip
    policy = load_policy(tmp_path)
    friday_evening = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)  # 19:00 in Berlin: after hours
    # Monday 09-17 and Tuesday 09-17 Berlin are the 16 business hours: due Tuesday 17:00 Berlin (16:00 UTC).
    assert policy.meeting_due(friday_evening) == datetime(2026, 3, 17, 16, 0, tzinfo=UTC)
    assert policy.publish_due(friday_evening) == datetime(2026, 3, 20, 18, 0, tzinfo=UTC)  # five weekdays on
    plain = load_policy(None)
    assert plain.meeting_due(friday_evening) == datetime(2026, 3, 15, 18, 0, tzinfo=UTC)


def test_lint_rules_each_flag_their_sentence():
    def rules(section, text, **kw):
        return [f.rule for f in lint_section(section, text, **kw)]

    assert rules("fault", "The deploy was a human error.") == ["blame"]
    assert rules("lessons", "Obviously the check should have run.") == ["blame", "blame"]
    assert rules("timeline", "If the canary had run, it would not have spread.") == ["counterfactual"]
    assert rules("fault", "Jonas Weber pushed the config.", names=["Jonas Weber", "Jonas"]) == ["name"]
    assert rules("summary", "Jonas Weber led the response.", names=["Jonas Weber"]) == []  # names belong there
    assert rules("summary", "A partial outage hit checkout.", fully_down=False) == ["outage"]
    assert rules("summary", "A partial outage hit checkout.", fully_down=True) == []
    assert rules("fault", "The pool ran dry!") == ["exclamation"]
    assert rules("messaging", "We are sorry!") == []
    assert rules("fault", "The pool default halved the connections to the gateway.") == []
