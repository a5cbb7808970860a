"""What every panel and dialog is given: the services, who is acting, change notices as Qt signals, and
`ConsoleShell`, the one list of what a panel may ask of the console window."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import shiboken6
from PySide6.QtCore import QFileSystemWatcher, QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QWidget

from services.changes import Change, Topic
from services.core import Sitrep
from services.record.views import IncidentView
from services.storage.paths import Paths

if TYPE_CHECKING:
    from ui.sync_support import SyncBridge

log = logging.getLogger(__name__)


class ChangeNotifier(QObject):
    """Turns the services' change bus into a Qt signal, and notices writes by other processes.

    The bus may publish from a worker thread (sync, a "Sync now" drain, a history import); a signal
    emitted there reaches GUI-thread receivers through a queued connection, so panels only ever run on
    the GUI thread. The one thing both threads touch here is the data_version connection: a lock keeps
    a worker's read, the GUI thread's poll and `close()` from using it at the same time.
    """

    changed = Signal(object)  # services.core.Change

    def __init__(self, sitrep: Sitrep, parent: QObject | None = None, poll_ms: int = 1000) -> None:
        super().__init__(parent)
        self._unsubscribe = sitrep.changes.subscribe(self._local_change)
        self._watch_lock = threading.Lock()
        self._closed = False
        self._watch = None
        self._data_version = None
        self._wal: str | None = None
        path = sitrep.store.path
        if path is not None:
            try:
                # PRAGMA data_version changes when any *other* connection commits: a CLI `sitrep log`
                # in a terminal, or our own worker. Polling it costs microseconds.
                self._watch = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
                with self._watch_lock:
                    self._data_version = self._read_version()
            except sqlite3.Error:
                self._watch = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)
        # Another process's commit appends to the -wal file: watching it (inotify on Linux) brings a
        # `sitrep log` from a terminal into view within a frame or two instead of at the next poll.
        # The timer stays as the fallback (a checkpoint or a file system without notifications).
        self._files = QFileSystemWatcher(self)
        self._files.fileChanged.connect(self._wal_changed)
        if self._watch is not None:
            self._timer.start()
            self._wal = f"{path}-wal"
            self._watch_wal()

    def _watch_wal(self) -> None:
        """Watch the -wal file if it exists (it comes and goes with checkpoints and clean closes)."""
        if self._wal and self._wal not in self._files.files() and Path(self._wal).exists():
            self._files.addPath(self._wal)

    def _wal_changed(self, _wal: str) -> None:
        self._poll()
        self._watch_wal()  # a checkpoint may have replaced the file

    def _local_change(self, change: Change) -> None:
        # Our own commit also moves data_version (it came through another connection of ours): note the
        # new value now, so the poll does not announce our own write a second time as "external".
        with self._watch_lock:
            version = self._read_version()
            if version is not None:
                self._data_version = version
        self.changed.emit(change)

    def _read_version(self) -> int | None:
        """Under `_watch_lock`."""
        if self._watch is None:
            return None
        try:
            return self._watch.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None

    def _poll(self) -> None:
        self._watch_wal()
        with self._watch_lock:
            version = self._read_version()
            external = version is not None and version != self._data_version
            if external:
                self._data_version = version
        if external:
            self.changed.emit(Change(Topic.EXTERNAL, None, None))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        if self._files.files():
            self._files.removePaths(self._files.files())
        # Destroy the watcher (an inotify socket notifier) and the timer here, on the GUI thread. Left
        # to the notifier's Python wrapper, they die whenever the garbage collector frees it, and that
        # can be on a worker thread running Python (the charts' figures, the incidents re-read): Qt
        # then warns "Socket notifiers cannot be enabled or disabled from another thread" and the
        # process may crash later.
        for child in (self._files, self._timer):
            child.setParent(None)
            shiboken6.delete(child)
        self._unsubscribe()
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None


class IncidentSelection(QObject):
    """The incident the console is looking at. Panels follow it."""

    changed = Signal(object)  # IncidentView | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.current: IncidentView | None = None

    def set(self, incident: IncidentView | None) -> None:
        same = (incident is None and self.current is None) or (
            incident is not None and self.current is not None and incident.id == self.current.id
        )
        self.current = incident
        if not same:
            self.changed.emit(incident)

    def refresh(self, incident: IncidentView) -> None:
        """Same incident, new state (a status or severity change): tell the panels without a switch."""
        if self.current is not None and incident.id == self.current.id:
            self.current = incident
            self.changed.emit(incident)


class ConsoleShell(Protocol):
    """What a panel or dialog may ask of the console window (ui/main_window.py implements it). This is
    the whole list: a panel reaches another panel only through `show_panel` and `command`, never through
    its methods, so a panel can be added or removed without editing the others."""

    def show_status(self, text: str, error: bool, timeout_ms: int) -> None:
        """A line in the status bar (red for an error)."""

    def add_command(self, action: QAction, menu: str | None = None, *, first: bool = False) -> QAction:
        """List an action in a menu and the command palette, its shortcut window-wide."""

    def command(self, name: str) -> QAction | None:
        """A command some panel added, by its object name ("act-regulatory-escalate")."""

    def add_status_widget(self, widget: QWidget) -> None:
        """A permanent widget at the right of the status bar (the sync indicator)."""

    def open_incident(self, incident_id: str) -> None:
        """Make this incident the one the console shows."""

    def show_panel(self, panel_id: str, *, focus: bool = True) -> bool:
        """Bring a panel forward (and give it focus); False when the console has no such panel."""

    def dialog_parent(self) -> QWidget:
        """The window a dialog belongs to."""


@dataclass
class UiContext:
    sitrep: Sitrep
    author: str
    paths: Paths
    notifier: ChangeNotifier
    selection: IncidentSelection
    settings: QSettings
    # The console window, once built; None while a panel or dialog stands alone (tests, a tool).
    shell: ConsoleShell | None = None
    # One of each per console: asking again brings the open one forward.
    people_dialog: QDialog | None = None
    stakeholder_registry: QDialog | None = None
    sync_bridge: SyncBridge | None = None

    def status_message(self, text: str, *, error: bool = False, timeout_ms: int = 8000) -> None:
        if self.shell is not None:
            self.shell.show_status(text, error, timeout_ms)
        else:
            (log.warning if error else log.info)("%s", text)

    def add_command(self, action: QAction, menu: str | None = None, *, first: bool = False) -> bool:
        """List `action` in the console's menus and palette; False when there is no console window."""
        if self.shell is None:
            return False
        self.shell.add_command(action, menu, first=first)
        return True

    def open_incident(self, incident_id: str) -> bool:
        """Show this incident in the console; False when there is no console window to show it in."""
        if self.shell is None:
            return False
        self.shell.open_incident(incident_id)
        return True

    def dialog_parent(self, widget: QWidget) -> QWidget:
        """The console window, or `widget`'s own window when it stands alone."""
        return self.shell.dialog_parent() if self.shell is not None else widget.window()
