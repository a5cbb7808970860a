"""An exception that escapes a pool thread is reported on the GUI thread, where the crash dialog lives."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QRunnable, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication

from ui.crash import CrashDialog, CrashHandler


class _FailingJob(QRunnable):
    def run(self) -> None:
        raise LookupError("a bug on a pool thread")


@pytest.mark.qt_no_exception_capture  # the console's own handler is the one under test
def test_an_exception_escaping_a_pool_thread_is_reported_on_the_gui_thread(qtbot):
    gui_thread = QApplication.instance().thread()
    reports = []

    def close_the_report() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, CrashDialog) and w.isVisible():
                reports.append((w.thread() == gui_thread, w.text.toPlainText()))
                w.reject()

    closer = QTimer()
    closer.timeout.connect(close_the_report)
    closer.start(20)
    previous = sys.excepthook
    handler = CrashHandler(lambda: None)
    handler.install()
    try:
        pool = QThreadPool()
        pool.start(_FailingJob())
        assert pool.waitForDone(10_000)  # PySide called sys.excepthook there, and it came straight back
        qtbot.waitUntil(lambda: bool(reports), timeout=10_000)
    finally:
        handler.uninstall()
        sys.excepthook = previous
        closer.stop()
    ((on_gui_thread, text),) = reports
    assert on_gui_thread and "LookupError: a bug on a pool thread" in text
