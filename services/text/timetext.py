"""Times in text written for people: messages, refusals and timeline bodies.

The record's exact form (`models.types.iso`, with microseconds) stays in structured data and
exports; a sentence gets the instant to the second, in UTC, so it reads the same on every
machine and the console can still find it and show it on the viewer's clock.
"""

from __future__ import annotations

import re
from datetime import datetime

from models.types import as_utc

# What `utc_text` writes, and the record's ISO form, so a reader can find either in old and new text.
UTC_TEXT_PATTERN = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z|[ ]\d{2}:\d{2}:\d{2}(?:\.\d+)?[ ]UTC\b)"
)


def utc_text(value: datetime, *, precise: bool = False) -> str:
    """'2026-03-14 09:30:00 UTC'; with `precise`, to the millisecond ('09:30:00.123 UTC')."""
    value = as_utc(value)
    if precise:
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d} UTC"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_texts(*values: datetime) -> list[str]:
    """Several instants for one sentence: to the millisecond when seconds alone would make two
    different instants read the same ('Declared (09:30:00) cannot come before Detected (09:30:00)')."""
    plain = [utc_text(v) for v in values]
    if len(set(plain)) < len({as_utc(v) for v in values}):
        return [utc_text(v, precise=True) for v in values]
    return plain


def parse_utc_text(text: str) -> datetime | None:
    """The instant a match of UTC_TEXT_PATTERN names, or None when it is not a real date."""
    raw = text.strip()
    if raw.endswith(" UTC"):
        raw = raw[: -len(" UTC")].replace(" ", "T", 1) + "+00:00"
    try:
        return as_utc(datetime.fromisoformat(raw))
    except ValueError:
        return None
