"""Rotating log files in the log folder, plus an in-memory tail the GUI can show."""

from __future__ import annotations

import collections
import logging
import logging.handlers
from pathlib import Path

TAIL: collections.deque[str] = collections.deque(maxlen=500)


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
            fh = logging.handlers.RotatingFileHandler(
                log_dir / "sitrep.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
            )
            fh.setFormatter(fmt)
            root.addHandler(fh)
        except OSError:
            pass  # a read-only log folder must not stop an incident from being run
    root._sitrep_configured = True  # type: ignore[attr-defined]
