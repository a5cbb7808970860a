"""The console's first paint, before the services exist.

Importing SQLAlchemy, mapping the models and building every service and panel takes several times as
long as Qt needs to put a window up (docs/performance.md). So an everyday start shows `FirstPaint` at
once: the window shell, the incidents list, the header of the incident last shown and the latest page of
its timeline, all read through the read lane (plain sqlite3, services/storage/read_lane.py). The store is
opened and the services built on a background thread (`ConsoleLoader`); when they are ready the console
window is built in the first paint's place, with its size and position, and what the user asked for
meanwhile runs there: a typed entry is logged, a shortcut is pressed again. Nothing asked is dropped.

This module imports Qt and the read lane only: it must not pull SQLAlchemy into the first paint.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui
from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from models.enums import EntryKind
from services.record.rows import IncidentView
from services.storage.read_lane import ReadLane
from ui.gui_thread_gc import GuiThreadCollector
from ui.theme import apply_theme, first_paint_arguments, follow_system_scheme

if TYPE_CHECKING:
    from PySide6.QtGui import QKeyEvent, QKeySequence

log = logging.getLogger(__name__)

PAGE = 80  # timeline rows the first paint shows: more than a tall screen holds (~45 at 1080 px), so it scrolls
INCIDENT_PAGE = 60  # incidents it lists (open first, newest first): every one once the console is ready
GETTING_READY = "Getting ready…"
SCHEME_KEY = "theme/scheme"  # the colour scheme the console last drew in: the first paint uses it (ui/theme.py)
LOAD_AT_THE_LATEST_MS = 500


def application(scheme: str | None = None) -> QApplication:
    """The QApplication, made once and themed; `scheme` is the one the console last drew in (see apply_theme)."""
    app = QApplication.instance()
    if app is None:
        extra = first_paint_arguments(scheme)
        app = QApplication(sys.argv[:1] + extra)
        if extra:
            app.setProperty("sitrep_style", "fusion")
        app.setApplicationName("Sitrep")
        app.setApplicationDisplayName("Sitrep")
        app.setOrganizationName("Sitrep")
        app.setDesktopFileName("sitrep")
        apply_theme(app, scheme)
    return app


class ConsoleLoader(QObject):
    """Runs `load` (open the store, build the services) on a plain thread; says how it went as a queued
    signal, so the GUI thread is the one that acts on it. `load` returns plain objects only (the
    services hold SQLAlchemy engines and sqlite3 connections made without thread affinity), never a Qt one."""

    loaded = Signal(object)
    failed = Signal(object)

    def __init__(self, load: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._load = load
        self._thread = threading.Thread(target=self._run, name="sitrep-console-loader", daemon=True)

    def start(self) -> None:
        """Once; a second call (the fallback timer after the first paint's signal) does nothing."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            result = self._load()
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread, which says it in words
            self.failed.emit(exc)
            return
        self.loaded.emit(result)


def _when(value) -> str:
    return value.astimezone().strftime("%a %H:%M:%S") if value is not None else ""  # as the timeline shows it


class FirstPaint(QMainWindow):
    """The console as the store shows it, readable and scrollable, while the services load.

    Actions asked for now are kept (`queued_entry`, `queued_keys`) and handed to the console window
    when it is ready (`hand_over`)."""

    painted = Signal()  # once, after the first paint: the services start loading then

    def __init__(self, lane: ReadLane, settings: QSettings) -> None:
        super().__init__()
        self._painted = False
        self.setObjectName("sitrep-first-paint")
        self.setWindowTitle("Sitrep")
        self.queued_entry: str | None = None
        self.queued_keys: list[QKeySequence] = []
        for name in ("&File", "&Incident", "&View", "&Tools", "&Help"):
            menu = self.menuBar().addMenu(name)
            menu.addAction(GETTING_READY).setEnabled(False)
        # A page, not every incident: a store of 100,000 would otherwise make the first paint the slowest part.
        incidents = lane.incidents(limit=INCIDENT_PAGE)
        self.incident_total = lane.incident_count() if len(incidents) == INCIDENT_PAGE else len(incidents)
        wanted = settings.value("last_incident", "", str) or ""
        shown = next((i for i in incidents if i.id == wanted), None) or (lane.incident(wanted) if wanted else None)
        if shown is None and incidents:
            shown = incidents[0]
        self.maximized = False
        self._build_toolbar(incidents, shown)
        # The console's arrangement (header across the top, incidents on the left, the timeline beside them)
        # in one central widget: docks would need Python's `Qt` namespace (see ui/theme.py's apply_theme).
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._build_header(shown, central))
        split = QSplitter()  # no parent: that overload is resolved against Qt.Orientation; the layout adopts it
        split.setObjectName("first-paint-split")
        split.addWidget(self._build_incidents(incidents, shown, split))
        split.addWidget(self._build_timeline(lane, shown, split))
        split.setStretchFactor(1, 1)
        column.addWidget(split, 1)
        self.setCentralWidget(central)
        self.entry.setFocus()  # typing at once goes into an entry, kept for the console
        self.status = QLabel(GETTING_READY, self)
        self.status.setObjectName("getting-ready")
        self.statusBar().addWidget(self.status, 1)
        geometry = settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self._fit_to_screen(1400, 880)

    def _fit_to_screen(self, width: int, height: int) -> None:
        screen = self.screen()
        avail = screen.availableGeometry() if screen is not None else None
        if avail is None:
            self.resize(width, height)
            return
        width, height = max(width, int(avail.width() * 0.85)), max(height, int(avail.height() * 0.85))
        maximize = width > avail.width() or height > avail.height()
        self.resize(min(width, avail.width()), min(height, avail.height()))
        self.maximized = maximize  # ConsoleStart.begin shows it so

    def _build_toolbar(self, incidents: list[IncidentView], shown: IncidentView | None) -> None:
        bar = QToolBar("Incident", self)
        bar.setMovable(False)
        switcher = QComboBox(self)
        switcher.setMinimumContentsLength(48)
        switcher.setEnabled(False)
        if shown is not None:
            switcher.addItem(f"{shown.key} · {shown.severity} · {shown.status.label} — {shown.title}")
        bar.addWidget(QLabel(" Incident: ", self))
        bar.addWidget(switcher)
        self.addToolBar(bar)

    def _build_header(self, shown: IncidentView | None, parent: QWidget) -> QWidget:
        header = QWidget(parent)
        header.setObjectName("first-paint-header")
        lay = QHBoxLayout(header)
        title = QLabel(f"{shown.key}  {shown.title}" if shown else "No incident yet", header)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        title.setFont(font)
        lay.addWidget(title, 1)
        if shown is not None:
            lay.addWidget(QLabel(f"{shown.severity} · {shown.status.label}", header))
        return header

    def _build_incidents(self, incidents: list[IncidentView], shown: IncidentView | None, parent: QWidget) -> QWidget:
        box = QFrame(parent)
        box.setObjectName("first-paint-incidents-box")
        box.setMinimumWidth(340)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        more = self.incident_total - len(incidents)
        lay.addWidget(QLabel(f" Incidents ({len(incidents)} of {self.incident_total}; all when ready)" if more > 0
                             else " Incidents", box))  # fmt: skip
        listing = _table(box, "first-paint-incidents", ("Key", "Sev", "Title", "Status"), len(incidents), stretch=2,
                         widths={0: "INC-00000", 1: "SEV1", 3: "Investigating"},  # the incidents panel's, as it sizes them
            pad=self.fontMetrics().averageCharWidth() * 2 + 8)
        for r, inc in enumerate(incidents):
            for c, value in enumerate((inc.key, inc.severity, inc.title, inc.status.label)):
                listing.setItem(r, c, QTableWidgetItem(value))
            if shown is not None and inc.id == shown.id:
                listing.selectRow(r)
        lay.addWidget(listing, 1)
        self.incidents = listing
        return box

    def _build_timeline(self, lane: ReadLane, shown: IncidentView | None, parent: QWidget) -> QWidget:
        column = QWidget(parent)
        lay = QVBoxLayout(column)
        lay.setContentsMargins(0, 0, 0, 0)
        rows = lane.last_occurred(shown.id, PAGE) if shown is not None else []
        corrected = lane.superseded_ids(shown.id) if shown is not None else set()
        # The console's timeline columns and its default order (by occurrence); its model fills them in
        # full once the services are ready.
        table = _table(column, "first-paint-timeline", ("#", "Time", "Kind", "Author", "Entry"), len(rows), stretch=4,
                       widths={0: "99999", 1: "Wed 23:59:59", 2: "Milestone change", 3: "someone.long"},
                       pad=24)  # fmt: skip
        for r, (id_, _inc, seq, kind, body, _why, author, _source, occurred, *_rest) in enumerate(rows):
            label = EntryKind(kind).label if kind in EntryKind._value2member_map_ else kind
            text = body.replace("\n", " ⏎ ")
            for c, value in enumerate((str(seq), _when(occurred), label, author, text)):
                item = QTableWidgetItem(value)
                if id_ in corrected:
                    font = item.font()
                    font.setStrikeOut(True)
                    item.setFont(font)
                table.setItem(r, c, item)
        table.scrollToBottom()
        lay.addWidget(table, 1)
        self.entry = QLineEdit(column)
        self.entry.setObjectName("first-paint-entry")
        self.entry.setPlaceholderText("Type an entry; it is logged as soon as the console is ready")
        self.entry.setAccessibleName("Quick entry")
        self.entry.returnPressed.connect(self._queue_entry)
        lay.addWidget(self.entry)  # its key filter goes on at the first paint: see paintEvent
        self.timeline = table
        return column

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            # Watched from now, when keys can first reach it: filtered from its construction, every event
            # it got while the window was built and shown (polish, resize, show, focus) came through Python,
            # each of a new type for PySide to make before the window was on screen.
            self.entry.installEventFilter(self)
            # After this paint has reached the screen: the loader's imports hold the interpreter in bursts
            # and would otherwise slow the very paint they are meant to come after.
            QTimer.singleShot(0, self, self.painted.emit)

    # -- what the user asks for before the services are ready ---------------------------------
    def _queue_entry(self) -> None:
        text = self.entry.text().strip()
        if not text:
            return
        self.queued_entry = text
        self.entry.setEnabled(False)
        self._say_queued()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self._queue_shortcut(event):
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        # The entry line would take some commands' keys for itself (Ctrl+K deletes to the end of the line
        # there): a command key is queued before it gets there; editing keys stay the line's.
        if watched is self.entry and event.type() == QtCore.QEvent.Type.KeyPress and not _edits_text(event):
            return self._queue_shortcut(event)
        return super().eventFilter(watched, event)

    def _queue_shortcut(self, event: QKeyEvent) -> bool:
        qt = QtCore.Qt  # Python's `Qt` namespace is made on first use: a key press, never the first paint
        modifiers = event.modifiers() & (
            qt.KeyboardModifier.ControlModifier | qt.KeyboardModifier.AltModifier | qt.KeyboardModifier.MetaModifier
        )
        if not modifiers or event.key() in (qt.Key.Key_Control, qt.Key.Key_Alt, qt.Key.Key_Shift, qt.Key.Key_Meta):
            return False
        self.queued_keys.append(QtGui.QKeySequence(event.keyCombination()))
        self._say_queued()
        event.accept()
        return True

    def _say_queued(self) -> None:
        count = len(self.queued_keys) + (1 if self.queued_entry else 0)
        self.status.setText(f"{GETTING_READY} {count} action{'s' if count > 1 else ''} queued: "
                            "they run as soon as the console is ready.")  # fmt: skip

    def hand_over(self, window: QMainWindow, entry_line: QLineEdit | None, submit: Callable[[], object]) -> None:
        """The console window takes this one's place; what was asked meanwhile runs there, in order: the
        entry typed (logged if Enter was pressed, else left in the entry line), then the shortcuts."""
        window.setWindowState(self.windowState())
        if not self.isMaximized():
            window.setGeometry(self.geometry())
        text = self.queued_entry if self.queued_entry is not None else self.entry.text()
        if entry_line is not None and text:
            entry_line.setText(text)
            if self.queued_entry is not None:
                submit()
        for keys in self.queued_keys:
            QTimer.singleShot(0, window, lambda keys=keys: press(window, keys))


def _table(parent: QWidget, name: str, headers: tuple[str, ...], rows: int, *, stretch: int,
           widths: dict[int, str], pad: int) -> QTableWidget:
    """A read-only table drawn as the console's views draw theirs: one line per row at a fixed height, the
    columns sized from a sample text (not from every row's contents), one column taking what is left."""
    table = QTableWidget(rows, len(headers), parent)
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    rows_header = table.verticalHeader()
    rows_header.hide()
    rows_header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows_header.setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    metrics = table.fontMetrics()
    for column, sample in widths.items():
        table.setColumnWidth(column, metrics.horizontalAdvance(sample) + pad)
    return table


@cache
def _text_editing_keys() -> tuple:
    """Made at the first key press: the key sequence types are not needed for the first paint."""
    keys = QtGui.QKeySequence.StandardKey
    return (
        keys.Copy, keys.Cut, keys.Paste, keys.Undo, keys.Redo, keys.SelectAll,
        keys.MoveToNextWord, keys.MoveToPreviousWord, keys.SelectNextWord, keys.SelectPreviousWord,
        keys.DeleteStartOfWord, keys.DeleteEndOfWord, keys.MoveToStartOfLine, keys.MoveToEndOfLine,
    )  # fmt: skip


def _edits_text(event: QKeyEvent) -> bool:
    return any(event.matches(key) for key in _text_editing_keys())


def press(window: QMainWindow, keys: QKeySequence) -> None:
    """A shortcut pressed during start-up, pressed again on the console window: the command bound to it."""
    for action in window.findChildren(QtGui.QAction):
        if action.isEnabled() and keys in action.shortcuts():
            action.trigger()
            return
    combination = keys[0]
    target = window.focusWidget() or window
    for kind in (QtGui.QKeyEvent.Type.KeyPress, QtGui.QKeyEvent.Type.KeyRelease):
        QApplication.sendEvent(target, QtGui.QKeyEvent(kind, combination.key(), combination.keyboardModifiers()))


class ConsoleStart(QObject):
    """One start of the console behind a first paint: `begin()` shows the first paint and loads the
    services on a background thread; when they are ready `open_window(loaded, first_paint)` builds the
    console on the GUI thread (`shown` is what it returned, to `close()` at the end). A failure to load
    hides the first paint and `fail(exc)` says it as a start without a first paint would: `failed_with`
    is its exit code, and `ended` tells the caller the session is over."""

    ended = Signal()

    def __init__(
        self,
        lane: ReadLane,
        settings: QSettings,
        *,
        load: Callable[[], object],
        open_window: Callable[[object, FirstPaint], object],
        fail: Callable[[BaseException], int],
    ) -> None:
        super().__init__()
        self._settings = settings
        self.first_paint = FirstPaint(lane, settings)
        lane.close()  # the services read from here on; the first paint keeps what it showed
        self.shown: object | None = None
        self.failed_with: int | None = None
        self._closed = False
        self._open_window, self._fail = open_window, fail
        self.loader = ConsoleLoader(load, self)
        # Emitted on the loader's thread, so queued to this (GUI) thread: an automatic connection does that
        # without naming Qt.ConnectionType, which would make Python's `Qt` namespace before the first paint.
        self.loader.loaded.connect(self._loaded)
        self.loader.failed.connect(self._failed)

    def begin(self) -> None:
        self.first_paint.painted.connect(self.loader.start)
        if self.first_paint.maximized:
            self.first_paint.showMaximized()
        else:
            self.first_paint.show()
        # A window that is never painted (minimised at once, an unmapped workspace) still gets its services.
        QTimer.singleShot(LOAD_AT_THE_LATEST_MS, self, self.loader.start)

    def _loaded(self, result: object) -> None:
        if self._closed:  # the session ended while the services loaded: nothing to open them in
            return
        self._follow_system_scheme()
        try:
            self.shown = self._open_window(result, self.first_paint)
        except Exception as exc:  # noqa: BLE001 - as a failure to load: words, not a traceback
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        self.first_paint.hide()
        self.failed_with = self._fail(exc)
        self.first_paint.close()
        self.ended.emit()

    def _follow_system_scheme(self) -> None:
        """The first paint drew in the scheme remembered from last time; from here on the console follows what
        the platform reports (a switch made since the last session takes effect now), and remembers it."""
        app = QApplication.instance()
        follow_system_scheme(app)
        self._settings.setValue(SCHEME_KEY, app.property("sitrep_scheme"))

    def close(self) -> None:
        if not self._closed and QApplication.instance() is not None:
            scheme = QApplication.instance().property("sitrep_scheme")
            if scheme in ("dark", "light"):  # switched during the session: the next first paint draws in it
                self._settings.setValue(SCHEME_KEY, scheme)
        self._closed = True
        self.loader.wait(30)
        if self.shown is not None:
            self.shown.close()
            self.shown = None


def run_with_first_paint(lane: ReadLane, settings: QSettings, **start) -> int:
    """The console's everyday start (see `ConsoleStart` for the arguments); its exit code."""
    app = application(settings.value(SCHEME_KEY, "", str) or None)
    collector = GuiThreadCollector(app)  # before any window or worker (see ui/console.py)
    collector.start()
    console = None
    try:
        console = ConsoleStart(lane, settings, **start)
        console.ended.connect(app.quit)
        console.begin()
        code = app.exec()
        return console.failed_with if console.failed_with is not None else code
    finally:
        if console is not None:
            console.close()
        collector.stop()
        collector.deleteLater()
