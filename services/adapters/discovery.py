"""How adapters are found: the `sitrep.adapters` entry-point group.

The built-ins register the same way in pyproject.toml, so `pip install sitrep-foo` adds a backend (and,
when its adapter is a CommsChannel, a comms channel) with no edit anywhere else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points

from services.adapters.channel import CommsChannel
from services.adapters.interface import Adapter

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "sitrep.adapters"


@dataclass(frozen=True)
class Discovered:
    adapters: dict[str, type[Adapter]]
    problems: list[str]

    def channels(self) -> dict[str, type[CommsChannel]]:
        """The adapters that carry comms messages, by channel name, in the order a chooser shows them."""
        found = [(cls.channel_rank, name, cls) for name, cls in self.adapters.items() if issubclass(cls, CommsChannel)]
        return {name: cls for _rank, name, cls in sorted(found)}


def discover_adapters() -> Discovered:
    """Every adapter registered under the `sitrep.adapters` entry-point group.

    A plugin that fails to load is reported, not fatal: one broken package must not stop sync.
    """
    found: dict[str, type[Adapter]] = {}
    problems: list[str] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue  # the same package seen twice on sys.path (e.g. an editable and a built copy)
        try:
            cls = ep.load()
        except Exception as exc:
            problems.append(
                f"backend '{ep.name}' ({ep.value}) could not be loaded: {type(exc).__name__}: {exc}"
            )
            # A package that is not installed is a fact, not a bug: one line. Anything else raised
            # while importing a plugin is its bug, and its traceback helps its author.
            log.warning("adapter %s failed to load: %s: %s", ep.value, type(exc).__name__, exc,
                        exc_info=not isinstance(exc, ImportError))  # fmt: skip
            continue
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            problems.append(f"backend '{ep.name}' ({ep.value}) is not a Sitrep adapter")
            continue
        if getattr(cls, "name", None) != ep.name:
            problems.append(f"backend '{ep.name}' declares the name '{getattr(cls, 'name', None)}'; ignored")
            continue
        found[ep.name] = cls
    return Discovered(found, problems)
