"""A status page's components as last fetched, kept beside the settings so a map can be reviewed offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from models.types import iso
from services.sync.json_cache import JsonCache

COMPONENTS_FILE = "components.json"
# What is kept of each fetched component: enough to choose from and to show, nothing else.
_COMPONENT_KEYS = ("id", "name", "status", "group_id", "group")


@dataclass(frozen=True)
class FetchedComponents:
    """A backend's components as last fetched, and when: what a person maps services to."""

    backend: str
    fetched_at: datetime
    components: list[dict[str, Any]]
    from_cache: bool = False


class ComponentCache:
    """The last component list fetched per backend, in `components.json` beside the settings, so a map
    can be reviewed offline. Names, ids and statuses only (a credential never reaches it). Each list
    remembers where it came from (URL and required settings, e.g. the page id) and is not offered for
    another page."""

    def __init__(self, config_dir: Path | None) -> None:
        self._cache = JsonCache(config_dir, COMPONENTS_FILE, what="the component cache")
        self.path = self._cache.path

    def load(self, backend: str, source: dict[str, Any]) -> FetchedComponents | None:
        entry = self._cache.get(backend)
        if not isinstance(entry, dict) or entry.get("source") != source:
            return None
        try:
            fetched_at = datetime.fromisoformat(entry["fetched_at"])
            rows = [kept_component(c) for c in entry["components"] if isinstance(c, dict) and c.get("id")]
        except (KeyError, TypeError, ValueError):
            return None
        return FetchedComponents(backend, fetched_at, rows, from_cache=True)

    def save(self, fetched: FetchedComponents, source: dict[str, Any]) -> None:
        self._cache.put(fetched.backend, {"source": source, "fetched_at": iso(fetched.fetched_at),
                                          "components": fetched.components})  # fmt: skip


def kept_component(component: dict[str, Any]) -> dict[str, Any]:
    return {k: component[k] for k in _COMPONENT_KEYS if component.get(k) is not None}


