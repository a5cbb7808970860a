"""Output helpers every `sitrep` command shares: JSON for scripts, times and incidents as one line of text,
and the one way an error reaches the terminal. No command lives here, so every command module can import
it without an import loop (see app/cli.py for the shape of a command module)."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime
from enum import Enum
from typing import Any

from app.terminal import exact_stdout, safe
from models.types import iso
from services.errors import SitrepError


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: times as ISO text, enums as their values, dataclasses as objects."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {(plain(k) if isinstance(k, Enum) else k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    out = exact_stdout()
    json.dump(plain(value), out, indent=2, ensure_ascii=False)
    out.write("\n")


def local_time(value: datetime | None, *, seconds: bool = True) -> str:
    """A time in the reader's time zone, or "-" when there is none."""
    if value is None:
        return "-"
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def incident_line(inc) -> str:
    major = " MAJOR" if inc.is_major else ""
    return f"{inc.key}  {inc.severity}{major:<6} {inc.status.label:<13} {safe(inc.title)}"


def print_error(err: SitrepError) -> None:
    print(f"sitrep: error: {safe(err.message)}", file=sys.stderr)
