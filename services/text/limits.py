"""One validation of what comes in, whichever way it comes: the console, the CLI, an import file, a pull.

Sizes have limits (a 50 MB summary once made `sitrep list` take 400 MB), numbers fit the store (an
`affected_users` of 2**70 overflowed SQLite's integer), text carries no NUL or terminal control bytes
(a NUL cut titles short in C-string consumers; an escape sequence in a title was replayed by every
terminal that printed it). A person's input is refused with the field named; a backend's text, which
nobody can fix by retyping, is cleaned instead (`clean_pulled`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from services.errors import ValidationError

TITLE_MAX = 300
SUMMARY_MAX = 20_000
BODY_MAX = 20_000
AUTHOR_MAX = 120
# Ten billion: more people than there are. Far inside SQLite's 64-bit integers.
AFFECTED_USERS_MAX = 10_000_000_000
# A file to import: far above any real export (100,000 entries is ~60 MB of JSON), far below what a
# machine cannot hold.
IMPORT_FILE_MAX = 512 * 1024 * 1024
# JSON nesting deeper than this is no Sitrep record (an export is about 6 levels deep; entry data a few more).
JSON_DEPTH_MAX = 64

# C0 controls and DEL, except tab and newline (and carriage return, which Windows files carry).
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def text_problem(value: str, *, limit: int, one_line: bool = False) -> str | None:
    """Why a piece of text cannot be stored, in words, or None."""
    if len(value) > limit:
        return f"is longer than {limit:,} characters ({len(value):,})"
    bad = (_CONTROL_ONE_LINE if one_line else _CONTROL_MULTILINE).search(value)
    if bad:
        char = bad.group()
        name = "a NUL byte" if char == "\x00" else ("a line break" if char in "\r\n" else f"a control character ({char!r})")
        return f"contains {name}, which {'a one-line field' if one_line else 'text'} cannot hold"
    return None


def check_text(value: str | None, *, field: str, label: str, limit: int, one_line: bool = False) -> None:
    """Refuse a person's text that cannot be stored (`label`: "The title")."""
    if value is None:
        return
    problem = text_problem(value, limit=limit, one_line=one_line)
    if problem:
        raise ValidationError(f"{label} {problem}.", field=field)


def count_problem(value: Any, *, limit: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    if value < 0:
        return "cannot be negative"
    if value > limit:
        return f"is larger than {limit:,}"
    return None


def clean_pulled(value: str | None, *, limit: int, one_line: bool = False) -> str:
    """A backend's text made storable: control bytes dropped (one-line fields: line breaks become
    spaces), cut to the limit."""
    text = value or ""
    if one_line:
        text = _CONTROL_ONE_LINE.sub(lambda m: " " if m.group() in "\r\n\t" else "", text)
    else:
        text = _CONTROL_MULTILINE.sub("", text)
    return text[:limit]


def load_json_text(raw: str | bytes, *, origin: str, failure: type[ValidationError]) -> Any:
    """json.loads with the ways a hostile file breaks it turned into a refusal naming the file.

    Deep nesting raises RecursionError inside the parser, and a 5,000-digit integer ValueError
    (CPython's int-from-text limit): both were internal errors before.
    """
    if len(raw) > IMPORT_FILE_MAX:
        raise failure(f"{origin}: the file is larger than {IMPORT_FILE_MAX // (1024 * 1024)} MB; nothing was imported.")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise failure(
            f"{origin}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); it may be cut "
            "short. Nothing was imported."
        ) from None
    except RecursionError:
        raise failure(f"{origin}: the JSON is nested too deeply to be a Sitrep record. Nothing was imported.") from None
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise failure(f"{origin}: the JSON holds a value no record can have ({exc}). Nothing was imported.") from None
    depth = _depth(doc)
    if depth > JSON_DEPTH_MAX:
        raise failure(
            f"{origin}: the JSON is nested {depth} levels deep; a Sitrep record is at most {JSON_DEPTH_MAX}. "
            "Nothing was imported."
        )
    return doc


def _depth(doc: Any) -> int:
    """Nesting depth (a scalar is 1, `{"a": 1}` is 2), without recursion (the parser accepted it, so it fits
    Python's stack, but walking it again recursively might not). Level by level, looking only at the
    containers: a 10,000-incident Statuspage file has two million values and a few thousand lists."""
    if type(doc) is not dict and type(doc) is not list:
        return 1
    deepest = 0
    level = [doc]
    while level:
        deepest += 1
        if deepest > JSON_DEPTH_MAX:
            return deepest
        inner = []
        holds_values = False
        for node in level:
            values = node.values() if type(node) is dict else node
            if values:
                holds_values = True
                inner += [v for v in values if type(v) is dict or type(v) is list]
        if not inner:
            return deepest + 1 if holds_values else deepest
        level = inner
    return deepest
