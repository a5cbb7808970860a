"""A small keyed cache in one JSON file beside the settings: what was last fetched from a backend, kept
for when the backend cannot be asked. It is a convenience, never the record: unreadable means empty,
writing is atomic (a crash leaves the old file or the new one) and the file is its owner's alone."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class JsonCache:
    """Entries by key, the newest `keep` of them (None: all), in `config_dir/filename`. A file written
    by another `version` of the layout reads as empty and is rewritten."""

    def __init__(self, config_dir: Path | None, filename: str, *, what: str, version: int = 1,
                 keep: int | None = None) -> None:  # fmt: skip
        self.path = Path(config_dir) / filename if config_dir is not None else None
        self.what = what  # how a log line names it, e.g. "the on-call cache"
        self.version = version
        self.keep = keep
        self._lock = threading.Lock()

    def _entries(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.warning("%s %s cannot be read (%s); it will be rewritten", self.what, self.path, exc)
            return {}
        if not isinstance(doc, dict) or doc.get("version") != self.version:
            return {}
        entries = doc.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str) -> Any:
        with self._lock:
            return self._entries().get(key)

    def put(self, key: str, value: Any) -> None:
        if self.path is None:
            return
        with self._lock:
            entries = self._entries()
            entries.pop(key, None)
            entries[key] = value
            while self.keep is not None and len(entries) > self.keep:
                entries.pop(next(iter(entries)))  # oldest first: dicts keep insertion order
            doc = {"version": self.version, "entries": entries}
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".json.part")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(doc, f, indent=1, ensure_ascii=False, sort_keys=False)
                os.replace(tmp, self.path)
            except OSError as exc:  # what was fetched still works; only the offline copy is missing
                log.warning("cannot write %s %s: %s", self.what, self.path, exc.strerror)
