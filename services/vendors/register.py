"""The vendor register as data: contracts, response and resolution times per priority, escalation ladders.

Read from `resources/vendors.toml`, or from `vendors.toml` in the config folder, which replaces it whole (a
register is one organisation's contracts; merging two would mix them). A vendor whose table is wrong is left
out and named in `problems` with what is wrong; the others load, so one typo does not take every contract away.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.errors import NotFound, ValidationError

BUILTIN = Path(__file__).resolve().parents[2] / "resources" / "vendors.toml"
FILE_NAME = "vendors.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class PriorityTerms:
    priority: str  # the contract's name for it: P1, "Severity A" ...
    label: str
    response_min: int  # first human answer from the vendor
    resolution_min: int | None  # fix or workaround; None when the contract promises none


@dataclass(frozen=True)
class LadderLevel:
    level: int  # 1 is the front line
    title: str
    contact: str
    email: str = ""
    phone: str = ""
    climb_after_min: int | None = None  # minutes without a response at the level below; None on level 1

    def reach(self) -> str:
        return " / ".join(x for x in (self.email, self.phone) if x) or "no contact details"


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    contract: str
    tier: str
    services: tuple[str, ...]
    support_email: str
    support_phone: str
    portal: str
    priorities: dict[str, PriorityTerms]
    ladder: tuple[LadderLevel, ...]

    def terms(self, priority: str) -> PriorityTerms:
        found = self.priorities.get(priority) or self.priorities.get(priority.upper())
        if found is None:
            raise ValidationError(
                f"{self.name}'s contract {self.contract} has no priority '{priority}'; it has "
                f"{', '.join(self.priorities)}.",
                field="priority",
            )
        return found

    def as_terms(self, priority: str) -> dict[str, Any]:
        """What a case keeps of the contract when it opens, so a later edit of the register does not move
        the deadlines of a case already running."""
        t = self.terms(priority)
        return {
            "priority_label": t.label,
            "response_min": t.response_min,
            "resolution_min": t.resolution_min,
            "tier": self.tier,
            "support": {"email": self.support_email, "phone": self.support_phone, "portal": self.portal},
            "ladder": [
                {"level": lv.level, "title": lv.title, "contact": lv.contact, "email": lv.email, "phone": lv.phone,
                 "climb_after_min": lv.climb_after_min}
                for lv in self.ladder
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class Register:
    vendors: dict[str, Vendor]
    source: Path
    problems: tuple[str, ...] = field(default=())

    def vendor(self, ref: str) -> Vendor:
        key = (ref or "").strip()
        found = self.vendors.get(key.lower())
        if found is None:
            found = next((v for v in self.vendors.values() if v.name.lower() == key.lower()), None)
        if found is None:
            known = ", ".join(self.vendors) or "none"
            extra = f" The register has problems: {'; '.join(self.problems)}" if self.problems else ""
            raise NotFound(f"No vendor '{ref}' in the vendor register ({self.source}). Vendors: {known}.{extra}")
        return found


def register_path(config_dir: Path | None) -> Path:
    override = config_dir / FILE_NAME if config_dir else None
    return override if override and override.is_file() else BUILTIN


def load_register(config_dir: Path | None = None) -> Register:
    path = register_path(config_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        return Register({}, path, (f"{path}: cannot be read ({err.strerror or err})",))
    return parse_register(text, path)


def parse_register(text: str, source: Path) -> Register:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return Register({}, source, (f"{source}: not valid TOML ({err})",))
    tables = raw.get("vendor", {})
    if not isinstance(tables, dict):
        return Register({}, source, (f"{source}: 'vendor' must be a table of vendors ([vendor.<id>])",))
    vendors: dict[str, Vendor] = {}
    problems: list[str] = []
    for vid, table in tables.items():
        try:
            vendors[vid] = _vendor(vid, table)
        except ValueError as err:
            problems.append(f"vendor '{vid}': {err}")
    return Register(vendors, source, tuple(problems))


def _text(table: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be text")
    if required and not value.strip():
        raise ValueError(f"'{key}' is missing")
    return value.strip()


def _minutes(table: dict[str, Any], key: str, where: str, *, required: bool) -> int | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where}: '{key}' must be a whole number of minutes above 0 (got {value!r})")
    return value


def _vendor(vid: str, table: Any) -> Vendor:
    if not _ID.match(vid):
        raise ValueError("the id must be lower-case letters, digits, '-' or '_' (it is typed on the command line)")
    if not isinstance(table, dict):
        raise ValueError("must be a table")
    vendor_name, contract = _text(table, "name", required=True), _text(table, "contract", required=True)
    priorities: dict[str, PriorityTerms] = {}
    for name, terms in (table.get("priority") or {}).items():
        if not isinstance(terms, dict):
            raise ValueError(f"priority '{name}' must be a table")
        where = f"priority {name}"
        priorities[name] = PriorityTerms(name, _text(terms, "label") or name,
                                         _minutes(terms, "response_min", where, required=True),  # type: ignore[arg-type]
                                         _minutes(terms, "resolution_min", where, required=False))  # fmt: skip
    if not priorities:
        raise ValueError("no [vendor.<id>.priority.<P>] tables: the contract's response times are what a case runs on")
    ladder: list[LadderLevel] = []
    raw_ladder = table.get("ladder") or []
    if not isinstance(raw_ladder, list):
        raise ValueError("'ladder' must be a list of levels ([[vendor.<id>.ladder]])")
    for n, level in enumerate(raw_ladder, start=1):
        if not isinstance(level, dict):
            raise ValueError(f"ladder level {n} must be a table")
        climb = _minutes(level, "climb_after_min", f"ladder level {n}", required=n > 1)
        if n == 1 and climb is not None:
            raise ValueError("ladder level 1 is where a case starts: it has no 'climb_after_min'")
        title = _text(level, "title", required=True)
        ladder.append(LadderLevel(n, title, _text(level, "contact") or title, _text(level, "email"),
                                  _text(level, "phone"), climb))  # fmt: skip
    if not ladder:
        raise ValueError("no escalation ladder: add at least the front line as [[vendor.<id>.ladder]]")
    services = table.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise ValueError("'services' must be a list of service names")
    return Vendor(vid, vendor_name, contract, _text(table, "tier"), tuple(services), _text(table, "support_email"),
                  _text(table, "support_phone"), _text(table, "portal"), priorities, tuple(ladder))  # fmt: skip


def save_register_text(config_dir: Path | None, text: str) -> Register:
    """Write an edited register to the config folder, only when every vendor in it reads cleanly; the file
    there before is kept as vendors.toml.bak. Refused text is not written anywhere: the editor keeps it."""
    if config_dir is None:
        raise ValidationError("This store has no config folder to keep an edited vendor register in.")
    target = config_dir / FILE_NAME
    checked = parse_register(text, target)
    if checked.problems:
        raise ValidationError("The register was not saved: " + "; ".join(checked.problems), field="register")
    try:
        config_dir.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            (config_dir / (FILE_NAME + ".bak")).write_bytes(target.read_bytes())
        scratch = config_dir / (FILE_NAME + ".saving")
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, target)
    except OSError as err:
        raise ValidationError(f"The register could not be written to {target}: {err.strerror or err}.") from err
    return checked
