"""Backend settings: URLs, project keys, service ids and mappings, in `backends.json` in the config
folder. Never a credential: keys that look like one are refused (those go to the keyring)."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from services.adapters.interface import Adapter, SettingField
from services.errors import ValidationError

SETTINGS_FILE = "backends.json"
DEFAULT_PULL_INTERVAL_S = 60.0
_SECRET_LIKE = re.compile(r"token|secret|password|passwd|api_?key|routing_?key|credential", re.I)


def coerce(field: SettingField, raw: Any) -> Any:
    """A value for `field` from what a person typed (CLI) or a JSON value (file, dialog)."""
    if raw is None:
        return None
    kind = field.kind
    text = raw if isinstance(raw, str) else None
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in ("1", "true", "yes", "on"):
                return True
            if word in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "list":
            if isinstance(raw, list):
                return [str(x) for x in raw]
            text = text.strip()
            if text.startswith("["):
                value = json.loads(text)
                if not isinstance(value, list):
                    raise ValueError
                return [str(x) for x in value]
            return [part.strip() for part in text.split(",") if part.strip()]
        if kind == "map":
            if isinstance(raw, dict):
                return {str(k): v for k, v in raw.items()}
            text = text.strip()
            if text.startswith("{"):
                value = json.loads(text)
                if not isinstance(value, dict):
                    raise ValueError
                return value
            out = {}
            for part in text.split(","):
                if part.strip():
                    k, sep, v = part.partition("=")
                    if not sep:
                        raise ValueError
                    out[k.strip()] = v.strip()
            return out
        if kind == "url":
            value = str(raw).strip().rstrip("/")
            if not re.match(r"^https?://[^\s/]+", value):
                raise ValidationError(
                    f"'{field.key}' must be an http:// or https:// URL (got '{value}').", field=field.key
                )
            return value
        value = str(raw).strip()
        return value or None
    except ValidationError:
        raise
    except (ValueError, TypeError, AttributeError):
        shape = {"bool": "true or false", "int": "a whole number", "float": "a number",
                 "list": "a comma-separated list or a JSON list", "map": "key=value pairs or a JSON object"}  # fmt: skip
        raise ValidationError(
            f"'{field.key}' must be {shape.get(kind, 'text')} (got '{raw}').", field=field.key
        ) from None


class BackendSettings:
    """Reads and writes the settings file. Thread-safe; `generation` grows with every change."""

    def __init__(self, config_dir: Path | None) -> None:
        self.path = Path(config_dir) / SETTINGS_FILE if config_dir is not None else None
        self._lock = threading.Lock()
        self.generation = 0
        self._doc: dict[str, Any] | None = None
        self.problem: str | None = None

    def _load(self) -> dict[str, Any]:
        if self._doc is not None:
            return self._doc
        doc: dict[str, Any] = {"backends": {}}
        self.problem = None
        if self.path is not None and self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(loaded, dict) or not isinstance(loaded.get("backends", {}), dict):
                    raise ValueError("expected an object with a 'backends' object")
                doc = loaded
                doc.setdefault("backends", {})
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                # Sync pauses instead of guessing; the file is left as it is for the person to fix.
                self.problem = f"{self.path} cannot be read ({exc}); sync is paused until it is fixed."
        self._doc = doc
        return doc

    def reload(self) -> None:
        with self._lock:
            self._doc = None
            self._load()
            self.generation += 1

    def backend(self, name: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._load()["backends"].get(name) or {})

    def all(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._load()["backends"].items()}

    @property
    def pull_interval_s(self) -> float:
        with self._lock:
            try:
                return float(self._load().get("pull_interval_s", DEFAULT_PULL_INTERVAL_S))
            except (TypeError, ValueError):
                return DEFAULT_PULL_INTERVAL_S

    def update(
        self, adapter: type[Adapter], changes: dict[str, Any], *, unset: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Validate and store changes to one backend's settings; returns its settings after."""
        if self.path is None:
            raise ValidationError("This store has no config folder, so backend settings cannot be saved.")
        fields = {f.key: f for f in adapter.all_fields()}
        clean: dict[str, Any] = {}
        for key, raw in changes.items():
            if _SECRET_LIKE.search(key):
                raise ValidationError(
                    f"'{key}' looks like a credential. Credentials go in the OS keyring only: "
                    f"`sitrep backend set {adapter.name} --secret NAME --token-from-stdin`.",
                    field=key,
                )
            if key not in fields:
                known = ", ".join(sorted(fields))
                raise ValidationError(f"{adapter.label} has no setting '{key}'. Known: {known}.", field=key)
            clean[key] = coerce(fields[key], raw)
        for key in unset:
            if key not in fields:
                raise ValidationError(f"{adapter.label} has no setting '{key}'.", field=key)
        with self._lock:
            if self.problem:
                raise ValidationError(self.problem)
            doc = json.loads(json.dumps(self._load()))  # a copy: nothing changes unless the write works
            current = doc["backends"].setdefault(adapter.name, {})
            current.update(clean)
            for key in unset:
                current.pop(key, None)
            self._write(doc)
            self._doc = doc
            self.generation += 1
            return dict(current)

    def set_pull_interval(self, seconds: float) -> None:
        if seconds < 5:
            raise ValidationError("Pull at most every 5 seconds (the vendors' rate limits are shared).")
        with self._lock:
            doc = json.loads(json.dumps(self._load()))
            doc["pull_interval_s"] = float(seconds)
            self._write(doc)
            self._doc = doc
            self.generation += 1

    def _write(self, doc: dict[str, Any]) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".json.part")
            tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ValidationError(f"Cannot write {self.path}: {exc.strerror}. Nothing was changed.") from None
