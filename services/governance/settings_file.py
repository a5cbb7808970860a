"""A settings file of this area: the shipped one in resources/, with the config folder's copy merged over it
table by table (a key it gives replaces the shipped key; a list replaces the list)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from resources import resource_path
from services.errors import ValidationError


def merged_settings(name: str, config_dir: Path | None) -> tuple[dict[str, Any], str]:
    """The merged document, and where it came from (for messages): the config folder's file, else resources/."""
    doc = tomllib.loads(resource_path(name).read_text(encoding="utf-8"))
    path = Path(config_dir) / name if config_dir is not None else None
    if path is None or not path.is_file():
        return doc, f"resources/{name}"
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"{path} cannot be read: {exc}") from None
    for key, value in user.items():
        doc[key] = {**doc[key], **value} if isinstance(value, dict) and isinstance(doc.get(key), dict) else value
    return doc, str(path)
