"""The rotation rules as data (resources/rotation.toml, or the config folder's copy)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from resources import resource_path
from services.errors import ValidationError
from services.rotation.hours import Night, WorkingHours

FILE = "rotation.toml"


@dataclass(frozen=True)
class RotationRules:
    default_hours: WorkingHours
    night: Night
    rest: timedelta
    reminder: timedelta
    key_person_share: float
    goal_roles: tuple[str, ...]
    goal_days: int
    default_limit: timedelta
    limits: dict[str, timedelta]

    def limit_for(self, role: str) -> timedelta:
        return self.limits.get(role, self.default_limit)


def _hours(value, where: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 72:
        raise ValidationError(f"{where} must be a number of hours between 0 and 72, not {value!r}.")
    return timedelta(hours=value)


def load_rules(config_dir: Path | None, role_ids: tuple[str, ...]) -> RotationRules:
    """The rules, checked: a wrong value names the file and the setting."""
    path = config_dir / FILE if config_dir is not None and (config_dir / FILE).is_file() else resource_path(FILE)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"{path} cannot be read: {exc}") from None

    def setting(key, default):
        return raw.get(key, default)

    try:
        default_hours = WorkingHours.parse(setting("default_working_hours", "Mon-Fri 09:00-17:30"))
        night = Night.parse(setting("night", "22:00-06:00"))
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc.message}") from None
    limits = {}
    for role, hours in dict(setting("limit_hours", {})).items():
        if role.upper() not in role_ids:
            raise ValidationError(f"{path}: limit_hours names the role '{role}', which the role catalog lacks "
                                  f"({', '.join(role_ids)}).")  # fmt: skip
        limits[role.upper()] = _hours(hours, f"{path}: limit_hours.{role}")
    share = setting("key_person_share", 0.35)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise ValidationError(f"{path}: key_person_share must be a share between 0 and 1, not {share!r}.")
    minutes = {}
    for key, default in (("rest_minutes", 120), ("reminder_minutes", 45)):
        value = setting(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24 * 60:
            raise ValidationError(f"{path}: {key} must be whole minutes up to a day, not {value!r}.")
        minutes[key] = timedelta(minutes=value)
    goal_roles = tuple(str(r).upper() for r in setting("goal_roles", ["IC", "COMMS"]))
    unknown = [r for r in goal_roles if r not in role_ids]
    if unknown:
        raise ValidationError(f"{path}: goal_roles names {', '.join(unknown)}, not in the role catalog.")
    days = setting("goal_days", 182)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
        raise ValidationError(f"{path}: goal_days must be a whole number of days, not {days!r}.")
    return RotationRules(
        default_hours=default_hours,
        night=night,
        rest=minutes["rest_minutes"],
        reminder=minutes["reminder_minutes"],
        key_person_share=float(share),
        goal_roles=goal_roles,
        goal_days=days,
        default_limit=_hours(setting("default_limit_hours", 8), f"{path}: default_limit_hours"),
        limits=limits,
    )
