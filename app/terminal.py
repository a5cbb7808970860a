"""Text from the record, made safe to print on a terminal.

A title or entry is whatever someone typed, imported or pulled. Printed as it is, a newline in a title
forged a row in `sitrep list`, and escape sequences in `show` retitled the terminal or cleared it. Human
output escapes control characters (JSON output stays exact: JSON escapes them itself).
"""

from __future__ import annotations

import io
import re
import sys

# C0 controls, DEL and C1 controls (ESC, CSI's 0x9b ...). A line break is escaped too: one field, one line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escape(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def safe(value: object) -> str:
    """One field's text for a terminal: control characters shown as escapes (\\n, \\e, \\x07)."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROL.sub(_escape, text)


# The whole stream, for what is printed in many places: every control character except the line breaks
# and tabs the layout itself writes. Fields that may hold a line break are escaped with `safe` first.
_STREAM_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class EscapingStream(io.TextIOBase):
    """Wraps stdout/stderr for human output: no byte written can drive the terminal."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(_STREAM_CONTROL.sub(_escape, text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")

    def fileno(self) -> int:
        return self._stream.fileno()


def exact_stdout():
    """stdout as it is, for machine formats (JSON, CSV, an export): their bytes must be exactly the data."""
    out = sys.stdout
    return out._stream if isinstance(out, EscapingStream) else out


def human_output() -> None:
    """From here on, what the CLI prints cannot drive the terminal (machine formats: `exact_stdout`)."""
    if not isinstance(sys.stdout, EscapingStream):
        sys.stdout = EscapingStream(sys.stdout)
    if not isinstance(sys.stderr, EscapingStream):
        sys.stderr = EscapingStream(sys.stderr)
