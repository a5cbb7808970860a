"""Rotating log files in the log folder, plus an in-memory tail the GUI can show.

The rotation is our own few lines rather than `logging.handlers.RotatingFileHandler`: that module imports
socket, pickle and queue (~9 ms) before the console's first paint, for a size check and five renames."""

from __future__ import annotations

import collections
import logging
import os
from pathlib import Path

TAIL: collections.deque[str] = collections.deque(maxlen=500)
LOG_BYTES = 2_000_000
LOG_BACKUPS = 5


class RotatingLog(logging.FileHandler):
    """sitrep.log, moved to sitrep.log.1 (and .1 to .2, up to `backups`) when a record would take it past
    `max_bytes`, as the standard library's rotating handler names them."""

    def __init__(self, path: Path, max_bytes: int = LOG_BYTES, backups: int = LOG_BACKUPS) -> None:
        super().__init__(path, mode="a", encoding="utf-8")
        self.max_bytes, self.backups = max_bytes, backups

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._full(record):
                self._rotate()
            super().emit(record)
        except Exception:  # logging must never take the app down
            self.handleError(record)

    def _full(self, record: logging.LogRecord) -> bool:
        if self.stream is None:
            self.stream = self._open()
        size = self.stream.tell()
        return size > 0 and size + len(self.format(record)) + 1 > self.max_bytes

    def _rotate(self) -> None:
        self.stream.close()
        self.stream = None
        for n in range(self.backups - 1, 0, -1):
            older = f"{self.baseFilename}.{n}"
            if os.path.exists(older):
                os.replace(older, f"{self.baseFilename}.{n + 1}")
        if self.backups > 0:
            os.replace(self.baseFilename, f"{self.baseFilename}.1")
        else:
            os.remove(self.baseFilename)
        self.stream = self._open()


class _TailHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            TAIL.append(self.format(record))
        except Exception:  # logging must never take the app down
            self.handleError(record)


def setup_logging(log_dir: Path | None, level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if getattr(root, "_sitrep_configured", False):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(level)
    # httpx and httpcore log every request line at INFO/DEBUG, query strings included (a user look-up
    # carries an e-mail address): only their warnings belong in the log.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tail = _TailHandler()
    tail.setFormatter(fmt)
    root.addHandler(tail)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            fh = RotatingLog(log_dir / "sitrep.log")
            fh.setFormatter(fmt)
            root.addHandler(fh)
        except OSError:
            pass  # a read-only log folder must not stop an incident from being run
    root._sitrep_configured = True  # type: ignore[attr-defined]
