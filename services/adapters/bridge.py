"""Bridge providers: where an incident's call is opened. A standing room named by a URL template, or
an API-based provider (a video or phone service that creates a room per incident) behind the same
small interface. Providers are found through the `sitrep.bridges` entry-point group, like adapters."""

from __future__ import annotations

import re
import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Any, ClassVar

from services.adapters.values import IncidentFacts

TEMPLATE_FIELDS = ("key", "number", "slug", "severity")


class BridgeError(Exception):
    """The bridge could not be opened; the message is for the person declaring."""


@dataclass(frozen=True)
class BridgeLink:
    url: str
    dial_in: str | None = None
    provider: str = ""


class BridgeProvider(ABC):
    name: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    @abstractmethod
    def open_bridge(self, incident: IncidentFacts) -> BridgeLink:
        """Open (or name) the call for an incident. May block on the network for an API provider."""


class RoomTemplateBridge(BridgeProvider):
    """A standing room: the link is the template with the incident filled in
    (`https://meet.example.com/ir-{key}`; fields: key, number, slug, severity)."""

    name = "room"
    label = "Standing room (URL template)"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        template = str(settings.get("template") or "").strip()
        check_template(template)
        self.template = template

    def open_bridge(self, incident: IncidentFacts) -> BridgeLink:
        slug = re.sub(r"[^a-z0-9]+", "-", incident.title.lower()).strip("-")[:40]
        number = incident.key.split("-")[-1]
        url = self.template.format(key=incident.key, number=number, slug=slug, severity=incident.severity)
        return BridgeLink(url, self.settings.get("dial_in") or None, self.label)


def check_template(template: str) -> None:
    if not template.startswith(("https://", "http://")):
        raise BridgeError("A bridge URL template starts with https:// (e.g. https://meet.example.com/ir-{key}).")
    try:
        names = {f for _, f, _, _ in Formatter().parse(template) if f}
    except ValueError as exc:
        raise BridgeError(f"The bridge URL template is not valid: {exc}.") from None
    unknown = names - set(TEMPLATE_FIELDS)
    if unknown:
        raise BridgeError(f"Unknown field(s) in the bridge template: {', '.join(sorted(unknown))}; "
                          f"use {', '.join(TEMPLATE_FIELDS)}.")  # fmt: skip


def load_bridge(config_dir: Path | None) -> BridgeProvider | None:
    """The configured provider from `<config>/bridge.toml` (`provider = "room"`, `template = ...`), or
    None when no bridge is set up."""
    if config_dir is None:
        return None
    path = config_dir / "bridge.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BridgeError(f"{path.name}: {exc}") from None
    provider = data.get("provider", "room")
    found = providers().get(provider)
    if found is None:
        raise BridgeError(f"{path.name}: unknown bridge provider '{provider}'.")
    return found(data)


def providers() -> dict[str, type[BridgeProvider]]:
    from importlib.metadata import entry_points

    found: dict[str, type[BridgeProvider]] = {RoomTemplateBridge.name: RoomTemplateBridge}
    for ep in entry_points(group="sitrep.bridges"):
        try:
            cls = ep.load()
        except Exception:  # a broken plugin is not fatal; the room template still works
            continue
        if isinstance(cls, type) and issubclass(cls, BridgeProvider):
            found.setdefault(ep.name, cls)
    return found


def save_bridge_template(config_dir: Path, template: str, dial_in: str = "") -> None:
    check_template(template)
    lines = ['provider = "room"', f"template = {_toml_string(template)}"]
    if dial_in:
        lines.append(f"dial_in = {_toml_string(dial_in)}")
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "bridge.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
