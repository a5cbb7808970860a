"""The severity matrix and role catalog, loaded from resources/ (or the user's override)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from resources import resource_path
from services.errors import NotFound, ValidationError

# The severity of an imported past incident whose source never recorded one. It is no level of the matrix
# (no clocks, no obligations): metrics group such incidents under it, and a commander may set a real one.
UNKNOWN_SEVERITY = "unknown"


@dataclass(frozen=True)
class SeverityLevel:
    id: str
    label: str
    major: bool
    description: str
    criteria: tuple[str, ...]
    bridge_within_min: int | None = None
    commander_within_min: int | None = None
    first_external_update_min: int | None = None
    external_update_every_min: int | None = None
    long_incident_after_min: int | None = None
    long_incident_update_every_min: int | None = None
    status_page: str = ""
    postmortem: str = ""
    page: str = ""

    @property
    def rank(self) -> int:
        """1 for SEV1 (most severe); used to order and compare levels."""
        return int("".join(ch for ch in self.id if ch.isdigit()) or 99)

    def obligations(self) -> list[str]:
        out = []
        if self.bridge_within_min is not None:
            out.append(f"Bridge open within {self.bridge_within_min} min of declaration")
        if self.commander_within_min is not None:
            out.append(f"Commander named within {self.commander_within_min} min")
        if self.first_external_update_min is not None:
            out.append(f"First external update within {self.first_external_update_min} min")
        if self.external_update_every_min is not None:
            cadence = f"External updates every {self.external_update_every_min} min"
            if self.long_incident_after_min and self.long_incident_update_every_min:
                cadence += (
                    f" (every {self.long_incident_update_every_min} min after "
                    f"{self.long_incident_after_min // 60} h)"
                )
            out.append(cadence)
        if self.status_page:
            out.append(f"Status page: {self.status_page}")
        if self.postmortem:
            out.append(f"Post-mortem: {self.postmortem}")
        if self.page:
            out.append(f"Page: {self.page}")
        return out


@dataclass(frozen=True)
class RoleDefinition:
    id: str
    name: str
    short: str
    mission: str
    checklist: tuple[str, ...] = field(default_factory=tuple)


def _load_toml(name: str, override_dir: Path | None) -> dict:
    if override_dir is not None:
        candidate = override_dir / name
        if candidate.is_file():
            try:
                return tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ValidationError(f"{candidate} cannot be read: {exc}") from None
    return tomllib.loads(resource_path(name).read_text(encoding="utf-8"))


class Catalog:
    """Severity levels and roles, in their defined order."""

    def __init__(self, override_dir: Path | None = None) -> None:
        sev = _load_toml("severity.toml", override_dir)
        roles = _load_toml("roles.toml", override_dir)
        try:
            self.severities: dict[str, SeverityLevel] = {}
            for raw in sev["level"]:
                raw = dict(raw)
                raw["criteria"] = tuple(raw.get("criteria", ()))
                level = SeverityLevel(**raw)
                self.severities[level.id] = level
            self.roles: dict[str, RoleDefinition] = {}
            for raw in roles["role"]:
                raw = dict(raw)
                raw["checklist"] = tuple(raw.get("checklist", ()))
                role = RoleDefinition(**raw)
                self.roles[role.id] = role
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"The severity or role catalog is malformed: {exc}") from None
        if not self.severities or not self.roles:
            raise ValidationError("The severity matrix and role catalog must each define at least one entry.")

    def severity(self, sev_id: str) -> SeverityLevel:
        key = sev_id.strip().upper()
        if key.isdigit():
            key = f"SEV{key}"
        try:
            return self.severities[key]
        except KeyError:
            known = ", ".join(self.severities)
            raise ValidationError(
                f"Unknown severity '{sev_id}'. Choose one of {known}.", field="severity"
            ) from None

    def role(self, role_id: str) -> RoleDefinition:
        key = role_id.strip().upper()
        if key in self.roles:
            return self.roles[key]
        for role in self.roles.values():  # accept the short or full name too
            if key in (role.short.upper(), role.name.upper()):
                return role
        known = ", ".join(self.roles)
        raise NotFound(f"Unknown role '{role_id}'. Choose one of {known}.")
