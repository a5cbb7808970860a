"""The last line of defence: an unexpected exception saves what it can, then shows a copyable report.

The report has secrets scrubbed (tokens, passwords, Authorization headers, credentials in URLs) so
it can be pasted into a bug tracker as it is.
"""

from __future__ import annotations

import logging
import platform
import re
import sys
import threading
import traceback
from collections.abc import Callable
from importlib import metadata

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

_SCRUBS = (
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(\S+(\s+\S+)?)"), r"\1[scrubbed]"),
    (
        re.compile(
            r"(?i)\b(token|password|passwd|secret|api[_-]?key|routing[_-]?key)(\s*[=:]\s*|['\"]\s*:\s*['\"])([^\s'\",}]+)"
        ),
        r"\1\2[scrubbed]",
    ),
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [scrubbed]"),
    (re.compile(r"://([^/\s:@]+):([^@\s/]+)@"), r"://\1:[scrubbed]@"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]+"), "[scrubbed slack token]"),
    (re.compile(r"https://hooks\.slack\.com/services/\S+"), "https://hooks.slack.com/services/[scrubbed]"),
)


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text


def crash_report(exc_type, exc, tb) -> str:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    head = [
        f"Sitrep {version('sitrep')} on Python {sys.version.split()[0]}, {platform.platform()}",
        f"PySide6 {version('PySide6-Essentials')}, SQLAlchemy {version('SQLAlchemy')}",
        "",
    ]
    body = "".join(traceback.format_exception(exc_type, exc, tb))
    return scrub("\n".join(head) + body)


class CrashDialog(QDialog):
    def __init__(self, report: str, saved: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sitrep hit a bug")
        self.resize(720, 480)
        lay = QVBoxLayout(self)
        intro = "Something went wrong inside Sitrep. This is a bug, not something you did."
        intro += "\nEverything already on the timeline is safely stored."
        if saved:
            intro += "\nUnsent text was saved: " + "; ".join(saved)
        intro += (
            "\nYou can keep working. Please send the report below to the Sitrep team (secrets are removed)."
        )
        label = QLabel(intro, self)
        label.setWordWrap(True)
        self.text = QPlainTextEdit(report, self)
        self.text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton("Copy report", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.text.toPlainText()))
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(label)
        lay.addWidget(self.text, 1)
        lay.addWidget(buttons)


class _ToGuiThread(QObject):
    raised = Signal(object, object, object)


class CrashHandler:
    """Installed as sys.excepthook while the console runs. Savers return a description of what they kept.

    PySide calls sys.excepthook on the thread that raised: for an exception escaping a QRunnable's run()
    that is a pool thread. The dialog and the savers (which read the panels) belong to the GUI thread,
    so from any other thread the exception is handed over to it."""

    def __init__(self, parent_getter: Callable[[], QWidget | None]) -> None:
        self._parent = parent_getter
        self.savers: list[Callable[[], str | None]] = []
        self._showing = False
        self.last_report: str | None = None
        self._to_gui: _ToGuiThread | None = None

    def install(self) -> None:
        """On the GUI thread."""
        self._to_gui = _ToGuiThread()
        self._to_gui.raised.connect(self._handle, Qt.ConnectionType.QueuedConnection)
        sys.excepthook = self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = sys.__excepthook__

    def __call__(self, exc_type, exc, tb) -> None:
        if threading.current_thread() is not threading.main_thread() and self._to_gui is not None:
            self._to_gui.raised.emit(exc_type, exc, tb)
            return
        self._handle(exc_type, exc, tb)

    def _handle(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error("unexpected exception", exc_info=(exc_type, exc, tb))
        saved = []
        for saver in self.savers:
            try:
                what = saver()
            except Exception:  # saving is best effort; the report still matters more
                log.exception("saver failed")
                continue
            if what:
                saved.append(what)
        self.last_report = crash_report(exc_type, exc, tb)
        if self._showing:  # an exception inside the dialog itself: log only
            return
        self._showing = True
        try:
            CrashDialog(self.last_report, saved, self._parent()).exec()
        finally:
            self._showing = False
