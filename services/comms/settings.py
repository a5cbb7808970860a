"""The communications settings (audiences, approvers, from resources/comms.toml and the config folder's
copy) and the time words every message and log line is written with.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.types import as_utc
from resources import resource_path
from services.errors import ValidationError

COMMANDER_ROLE = "IC"


COMMS_ROLE = "COMMS"


# Which stakeholder groups a draft for each audience is addressed to by default.
AUDIENCE_GROUPS: dict[str, frozenset[str]] = {
    "executives": frozenset({"executives"}),
    "stakeholders": frozenset({"executives", "legal", "compliance", "pr", "customer_success", "security", "support"}),
    "customers": frozenset({"customer"}),
    "regulators": frozenset({"regulator"}),
    "vendors": frozenset({"vendor"}),
}  # fmt: skip


STAKEHOLDER_GROUPS = (
    "executives", "legal", "compliance", "pr", "customer_success", "security", "support", "customer",
    "regulator", "vendor",
)  # fmt: skip


@dataclass(frozen=True)
class Audience:
    id: str
    label: str
    external: bool
    approval: bool
    timezone: str = "UTC"


@dataclass(frozen=True)
class CommsSettings:
    organisation: str
    status_page_url: str
    approvers: tuple[str, ...]
    audiences: dict[str, Audience]

    def audience(self, audience_id: str) -> Audience:
        try:
            return self.audiences[audience_id]
        except KeyError:
            known = ", ".join(self.audiences)
            raise ValidationError(
                f"Unknown audience '{audience_id}'. Choose one of {known}.", field="audience"
            ) from None

    @classmethod
    def load(cls, config_dir: Path | None) -> CommsSettings:
        doc = tomllib.loads(resource_path("comms.toml").read_text(encoding="utf-8"))
        if config_dir is not None and (Path(config_dir) / "comms.toml").is_file():
            path = Path(config_dir) / "comms.toml"
            try:
                user = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ValidationError(f"{path} cannot be read: {exc}") from None
            for key, value in user.items():
                if isinstance(value, dict) and isinstance(doc.get(key), dict):
                    for k, v in value.items():
                        if isinstance(v, dict) and isinstance(doc[key].get(k), dict):
                            doc[key][k] = {**doc[key][k], **v}
                        else:
                            doc[key][k] = v
                else:
                    doc[key] = value
        audiences = {}
        for aid, raw in (doc.get("audience") or {}).items():
            tz = str(raw.get("timezone", "UTC"))
            zone_named(tz)
            audiences[aid] = Audience(aid, str(raw.get("label", aid)), bool(raw.get("external", False)),
                                      bool(raw.get("approval", False)), tz)  # fmt: skip
        org = doc.get("organisation") or {}
        return cls(
            str(org.get("name", "")),
            str(org.get("status_page_url", "")),
            tuple(str(a) for a in (doc.get("approval") or {}).get("approvers", [])),
            audiences,
        )


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown time zone '{name}'. Use an IANA name such as Europe/Berlin or UTC.", field="timezone"
        ) from None


def format_time(value: datetime | None, tz_name: str) -> str:
    """A time as the audience reads it: local time and zone, the UTC time beside it, and the date."""
    if value is None:
        return ""
    tz = zone_named(tz_name)
    local = as_utc(value).astimezone(tz)
    text = f"{local:%H:%M} {local.tzname()}"
    if tz_name not in ("UTC", "Etc/UTC"):
        text += f" ({as_utc(value):%H:%M} UTC)"
    return f"{text}, {local:%d %b %Y}"


def format_duration(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
