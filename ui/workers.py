"""Running store-heavy work off the GUI thread: a serial lane (one worker) and results back by queued signals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from services.errors import SitrepError

log = logging.getLogger(__name__)


class _Relay(QObject):
    # Emitted from the worker thread; receivers in the GUI thread get them through queued connections.
    done = Signal(int, object)
    failed = Signal(int, str)
    progress = Signal(int, str, int, int)


class _Job(QRunnable):
    def __init__(self, ticket: int, work: Callable[..., Any], relay: _Relay, with_progress: bool) -> None:
        super().__init__()
        self.ticket = ticket
        self.work = work
        self.relay = relay
        self.with_progress = with_progress

    def run(self) -> None:
        try:
            if self.with_progress:
                result = self.work(
                    lambda phase, done, total: self.relay.progress.emit(self.ticket, phase, done, total)
                )
            else:
                result = self.work()
        except SitrepError as err:
            self.relay.failed.emit(self.ticket, err.message)
            return
        except Exception:  # a bug; the GUI must still hear that the work did not finish
            log.exception("background job failed")
            self.relay.failed.emit(
                self.ticket, "Something went wrong while computing (a bug); details are in the log."
            )
            return
        self.relay.done.emit(self.ticket, result)


class SerialWorker(QObject):
    """One job at a time, in submission order. Each job gets a ticket; the caller keeps only the newest result.

    done(ticket, result), failed(ticket, message) and progress(ticket, phase, done, total) arrive on the GUI
    thread. A job must not touch widgets: it computes and returns plain data.
    """

    done = Signal(int, object)
    failed = Signal(int, str)
    progress = Signal(int, str, int, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.done.connect(self.done)
        self._relay.failed.connect(self.failed)
        self._relay.progress.connect(self.progress)
        self._ticket = 0

    def submit(self, work: Callable[..., Any], *, with_progress: bool = False) -> int:
        self._ticket += 1
        self._pool.start(_Job(self._ticket, work, self._relay, with_progress))
        return self._ticket

    @property
    def latest(self) -> int:
        return self._ticket

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def shutdown(self) -> None:
        self._pool.clear()  # queued, not yet started
        self._pool.waitForDone(30_000)
