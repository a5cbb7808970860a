"""Which incidents owe a post-incident review, and when its meeting and publication are due.

All of it is data (`resources/review.toml`, overridable from the config folder), so an organisation
sets its own triggers and deadlines without touching code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.enums import EntryKind, Milestone
from services.errors import ValidationError
from services.record.views import EntryRow, IncidentView

BUILTIN = Path(__file__).resolve().parents[2] / "resources" / "review.toml"

TRIGGER_LABELS = {
    "severity": "severity",
    "customer_visible": "customer-visible impact",
    "major": "declared a major incident",
    "data_loss": "data loss",
    "intervention": "rollback or failover",
    "duration": "long resolution",
    "manual_detection": "detected by a person, not monitoring",
    "requested": "asked for",
}


@dataclass(frozen=True)
class ReviewPolicy:
    severities: tuple[str, ...]
    customer_visible_min_users: int
    major: bool
    duration_min: int
    manual_detection: bool
    data_loss_words: tuple[str, ...]
    intervention_words: tuple[str, ...]
    meeting_within_hours: int
    meeting_business_hours: bool
    publish_within_business_days: int
    day_start: int
    day_end: int
    timezone: ZoneInfo

    # -- triggers ---------------------------------------------------------------------------------
    def triggers(self, inc: IncidentView, entries: list[EntryRow], *, resolved_at: datetime) -> list[str]:
        """Which triggers the incident meets, as ids (`TRIGGER_LABELS`), in a stable order."""
        found: list[str] = []
        if inc.severity in self.severities:
            found.append("severity")
        if inc.affected_users is not None and inc.affected_users >= self.customer_visible_min_users:
            found.append("customer_visible")
        if self.major and inc.is_major:
            found.append("major")
        texts = [e.body.lower() for e in entries if e.kind != EntryKind.SYSTEM.value]
        if any(w in t for t in texts for w in self.data_loss_words):
            found.append("data_loss")
        if any(w in t for t in texts for w in self.intervention_words):
            found.append("intervention")
        declared = inc.milestones.get(Milestone.DECLARED)
        if declared and resolved_at - declared >= timedelta(minutes=self.duration_min):
            found.append("duration")
        if self.manual_detection and inc.source == "local" and not any(
            e.kind == EntryKind.ALERT.value for e in entries
        ):
            found.append("manual_detection")
        return found

    # -- clocks -----------------------------------------------------------------------------------
    def meeting_due(self, start: datetime) -> datetime:
        if not self.meeting_business_hours:
            return start + timedelta(hours=self.meeting_within_hours)
        return self._add_business_hours(start, self.meeting_within_hours)

    def publish_due(self, start: datetime) -> datetime:
        local = start.astimezone(self.timezone)
        days = self.publish_within_business_days
        while days > 0:
            local += timedelta(days=1)
            if local.weekday() < 5:
                days -= 1
        return local.astimezone(start.tzinfo)

    def _add_business_hours(self, start: datetime, hours: int) -> datetime:
        remaining = timedelta(hours=hours)
        local = start.astimezone(self.timezone)
        while remaining > timedelta(0):
            day_open = local.replace(hour=self.day_start, minute=0, second=0, microsecond=0)
            day_close = local.replace(hour=self.day_end, minute=0, second=0, microsecond=0)
            if local.weekday() >= 5 or local >= day_close:
                local = (day_open + timedelta(days=1))
                continue
            if local < day_open:
                local = day_open
            step = min(remaining, day_close - local)
            local += step
            remaining -= step
        return local.astimezone(start.tzinfo)



def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ValidationError(f"{path}: the review settings cannot be read ({err}).") from err


def load_policy(config_dir: Path | None = None) -> ReviewPolicy:
    raw = _read(BUILTIN)
    override = (config_dir / "review.toml") if config_dir else None
    if override and override.is_file():
        for table, values in _read(override).items():
            if isinstance(values, dict):
                raw.setdefault(table, {}).update(values)
    t, c = raw.get("triggers", {}), raw.get("clocks", {})
    try:
        tz = ZoneInfo(str(c.get("business_timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationError(f"review.toml: unknown business_timezone {c.get('business_timezone')!r}.") from err
    return ReviewPolicy(
        severities=tuple(t.get("severities", ())),
        customer_visible_min_users=int(t.get("customer_visible_min_users", 1)),
        major=bool(t.get("major", True)),
        duration_min=int(t.get("duration_min", 240)),
        manual_detection=bool(t.get("manual_detection", True)),
        data_loss_words=tuple(str(w).lower() for w in t.get("data_loss_words", ())),
        intervention_words=tuple(str(w).lower() for w in t.get("intervention_words", ())),
        meeting_within_hours=int(c.get("meeting_within_hours", 48)),
        meeting_business_hours=bool(c.get("meeting_business_hours", False)),
        publish_within_business_days=int(c.get("publish_within_business_days", 5)),
        day_start=int(c.get("business_day_start", 9)),
        day_end=int(c.get("business_day_end", 17)),
        timezone=tz,
    )
