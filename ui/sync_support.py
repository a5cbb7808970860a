"""What the sync views share: the bridge from the sync worker's thread to the GUI thread, a runner for
blocking calls (network) off the GUI thread, and the strip of an incident's remote links.

The sync worker reports on its own thread; `SyncBridge` re-emits each report as a Qt signal (so it
arrives on the GUI thread through a queued connection) and folds bursts of them into one `changed`
signal per quarter second: a drain can answer hundreds of items a second, and a view needs to
redraw a few times a second, not per item.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QWidget

from services.changes import Change, Topic
from services.errors import SitrepError

log = logging.getLogger(__name__)

REFRESH_MS = 250


class _Forwarder:
    """The sync service's listener for one bridge. The worker's thread calls it; it emits the bridge's
    signal while the bridge lives, and does nothing once the bridge is closed or destroyed. The lock
    makes "destroyed" wait for an emit already under way, so no thread emits into a deleted object."""

    def __init__(self, emit: Callable[[Any], None]) -> None:
        self._lock = threading.Lock()
        self._emit: Callable[[Any], None] | None = emit

    def __call__(self, event) -> None:
        with self._lock:
            if self._emit is not None:
                self._emit(event)

    def cut(self, *_args) -> None:
        with self._lock:
            self._emit = None


class SyncBridge(QObject):
    """The sync service's events and queue changes, as signals on the GUI thread."""

    event = Signal(object)  # services.sync.worker.SyncEvent, one per report
    changed = Signal()  # the queue, the links or a backend's health may look different: refresh

    def __init__(self, ctx, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._closed = False
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self.changed)
        # Emitted from the worker's thread; Qt queues it to this object's (the GUI) thread.
        self.event.connect(self._on_event)
        forwarder = _Forwarder(self.event.emit)
        unsubscribe = ctx.sitrep.sync.subscribe(forwarder)

        def detach(*_args) -> None:
            forwarder.cut()
            unsubscribe()

        self._detach = detach
        # Also when the window goes without closing its panels first: a bridge must not outlive its object.
        self.destroyed.connect(detach)
        ctx.notifier.changed.connect(self._on_change)
        self.tasks = BackgroundTasks(self)

    def _on_event(self, event) -> None:
        if event.kind != "idle":
            self.soon()

    def _on_change(self, change: Change) -> None:
        # A new entry may have queued items (the outbox is written in the entry's transaction).
        if change.topic in {Topic.SYNC, Topic.EXTERNAL, Topic.TIMELINE, Topic.INCIDENT, Topic.ROLES}:
            self.soon()

    def soon(self) -> None:
        """Ask for one `changed` shortly (many asks in a burst make one)."""
        if not self._closed and not self._refresh.isActive():
            self._refresh.start()

    def close(self) -> None:
        self._closed = True
        self._detach()
        self._refresh.stop()


def sync_bridge(ctx) -> SyncBridge:
    """The console's one bridge, made on first use."""
    if ctx.sync_bridge is None:
        ctx.sync_bridge = SyncBridge(ctx, ctx.shell.dialog_parent() if ctx.shell is not None else None)
    return ctx.sync_bridge


# -- blocking calls off the GUI thread ---------------------------------------------------------
class _Relay(QObject):
    finished = Signal()  # emitted on the pool thread; delivered on the GUI thread (queued)


class _Call:
    """One blocking call and, once it has run, its outcome: (True, result) or (False, exception)."""

    __slots__ = ("fn", "outcome", "relay")

    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        self.fn: Callable[[], Any] | None = fn
        self.outcome: tuple[bool, Any] | None = None
        self.relay = relay


class _Task(QRunnable):
    """Runs a `_Call` on a pool thread. It gives up its own reference to the call *before* saying it is
    done, so the GUI thread always holds the last one: the callable (a lambda over a dialog), its result
    and an exception's traceback (frames, and everything they hold) are released there, never here. A Qt
    object whose last reference went on a pool thread would be destroyed on it."""

    def __init__(self, call: _Call) -> None:
        super().__init__()
        self.call: _Call | None = call
        self.setAutoDelete(True)

    def run(self) -> None:
        call, self.call = self.call, None
        try:
            call.outcome = (True, call.fn())
        except BaseException as exc:  # handed to the GUI thread, which decides what the person sees
            call.outcome = (False, exc)
        relay = call.relay
        del call
        relay.finished.emit()


class BackgroundTasks(QObject):
    """Runs a blocking call (a request to a backend) on a pool thread; the outcome comes back to the GUI
    thread. A SitrepError reaches `on_error` as the person's message; anything else is a bug: logged,
    and `on_error` gets a sentence pointing at the log."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._calls: dict[_Relay, _Call] = {}

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        *,
        owner: QObject | None = None,
    ) -> None:
        """`owner`: the widget the callbacks update; if it is gone by the time the answer comes (a
        dialog closed mid-test), the answer is dropped."""
        relay = _Relay(self)  # lives on the GUI thread: its signal is delivered there
        call = self._calls[relay] = _Call(fn, relay)

        def finished() -> None:
            self._calls.pop(relay, None)
            relay.deleteLater()
            ok, value = call.outcome or (False, RuntimeError("the task ended without an outcome"))
            call.fn = call.outcome = None
            wanted = owner is None or shiboken6.isValid(owner)
            if ok:
                if on_done is not None and wanted:
                    on_done(value)
                return
            if isinstance(value, SitrepError):
                message = value.message
            else:
                log.error("background task failed", exc_info=(type(value), value, value.__traceback__))
                message = f"Internal error ({type(value).__name__}); details are in the log."
            if on_error is not None and wanted:
                on_error(message)

        relay.finished.connect(finished, Qt.ConnectionType.QueuedConnection)
        self.pool.start(_Task(call))

    @property
    def busy(self) -> bool:
        return bool(self._calls)

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)


# -- an incident's counterparts elsewhere --------------------------------------------------------
def link_text(label: str, link) -> str:
    """One remote link as rich text: a clickable name when there is an http(s) URL."""
    if link.remote_kind == "alert":
        name = f"{label} alert"
    elif link.remote_kind == "related_issue":  # remote_id is "<ticket>><related>"
        name = f"related {link.remote_id.rpartition('>')[2]}"
    else:
        name = f"{label} {link.remote_id}"
    state = f" ({html.escape(link.remote_state)})" if link.remote_state else ""
    url = link.url or ""
    if url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{html.escape(name)}</a>{state}'
    return f"{html.escape(name)}{state}"


class RemoteLinksStrip(QLabel):
    """One incident's counterparts: "Elsewhere: PagerDuty Q1A2B (acknowledged) · Jira OPS-12 (In Progress)".
    Each name opens the remote object in the browser. Hidden when the incident has none."""

    def __init__(self, ctx, parent: QWidget | None = None, *, prefix: str = "Elsewhere: ") -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.prefix = prefix
        self.incident_id: str | None = None
        self.links: list = []
        self.setObjectName("remote-links")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)  # fmt: skip
        self.setOpenExternalLinks(False)  # only http(s) links are made, and opened here
        self.setAccessibleName("Remote links of this incident")
        self.linkActivated.connect(self.open_link)
        sync_bridge(ctx).changed.connect(self.refresh)
        self.hide()

    def set_incident(self, incident_id: str | None) -> None:
        self.incident_id = incident_id
        self.refresh()

    def refresh(self) -> None:
        links = []
        if self.incident_id is not None:
            try:
                links = self.ctx.sitrep.sync.links(self.incident_id)
            except SitrepError as err:
                log.warning("remote links unreadable: %s", err.message)
        self.links = links
        if not links:
            self.clear()
            self.hide()
            return
        labels = {name: cls.label for name, cls in self.ctx.sitrep.sync.available.items()}
        parts = [link_text(labels.get(lk.backend, lk.backend), lk) for lk in links]
        self.setText(html.escape(self.prefix) + " · ".join(parts))
        self.setToolTip(
            "\n".join(f"{labels.get(lk.backend, lk.backend)}: {lk.url or lk.remote_id}" for lk in links)
        )
        self.show()

    def open_link(self, url: str) -> None:
        if url.startswith(("https://", "http://")):
            QDesktopServices.openUrl(QUrl(url))
