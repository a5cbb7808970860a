"""The console's everyday start: a first paint from the read lane at once, the services loaded on a
background thread, and what the user asks for meanwhile run once they are ready (never dropped)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt

from models.migrations import SCHEMA_HEAD
from services.core import Sitrep
from services.demo import open_demo
from services.errors import StoreError
from services.storage.paths import Paths
from services.storage.read_lane import ReadLane
from ui.console import open_console_window
from ui.startup import GETTING_READY, INCIDENT_PAGE, ConsoleStart

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(data_dir: Path, migrated_db: Path) -> Path:
    """A store holding the demo's incidents, closed again: the console starts on it as on any morning."""
    paths = Paths(data_dir, data_dir / "config", data_dir / "logs", data_dir / "backups")
    paths.create()
    app = Sitrep.open(f"sqlite:///{paths.database}", backups_dir=paths.backups, config_dir=paths.config)
    try:
        open_demo(app)
    finally:
        app.close()
    return data_dir


def _paths(data_dir: Path) -> Paths:
    return Paths(data_dir, data_dir / "config", data_dir / "logs", data_dir / "backups")


class Start:
    """A ConsoleStart whose loading waits for `release()`, as a slow laptop's would."""

    def __init__(self, data_dir: Path, *, failure: BaseException | None = None) -> None:
        self.paths = _paths(data_dir)
        self.gate = threading.Event()
        self.failed: list[BaseException] = []
        self.opened: list[Sitrep] = []

        def load():
            assert self.gate.wait(60)
            if failure is not None:
                raise failure
            app = Sitrep.open(f"sqlite:///{self.paths.database}", config_dir=self.paths.config)
            self.opened.append(app)
            return app

        def open_window(app, first_paint):
            return open_console_window(app, paths=self.paths, author="tester", first_paint=first_paint)

        def fail(exc):
            self.failed.append(exc)
            return 3

        settings = QSettings(str(self.paths.config / "ui.ini"), QSettings.Format.IniFormat)
        self.console = ConsoleStart(
            ReadLane(self.paths.database, SCHEMA_HEAD), settings, load=load, open_window=open_window, fail=fail
        )

    def release(self) -> None:
        self.gate.set()

    def close(self) -> None:
        self.gate.set()
        window = self.console.shown.window if self.console.shown is not None else None
        self.console.close()
        if window is not None:
            window.close()
            window.deleteLater()
        if shiboken6.isValid(self.console.first_paint):
            self.console.first_paint.close()
            self.console.first_paint.deleteLater()
        for app in self.opened:
            app.close()


@pytest.fixture
def start(store, qtbot):
    made = []

    def make(**kw) -> Start:
        s = Start(store, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def test_the_first_paint_shows_the_store_before_the_services_are_ready(start, qtbot):
    s = start()
    first = s.console.first_paint
    s.console.begin()
    qtbot.waitExposed(first)
    reference = Sitrep.open(f"sqlite:///{s.paths.database}")
    try:
        incidents = reference.incidents.list()
        last_seq = reference.timeline.matching_seqs(incidents[0].id, order="occurred")[-1]
        latest = reference.timeline.entries_by_seq(incidents[0].id, [last_seq])[0]
    finally:
        reference.close()
    listing = first.incidents  # the first page of the incidents panel's list, and how many there are in all
    page = incidents[:INCIDENT_PAGE]
    assert listing.rowCount() == len(page) and first.incident_total == len(incidents)
    assert [listing.item(r, 0).text() for r in range(listing.rowCount())] == [i.key for i in page]
    timeline = first.timeline
    assert timeline.rowCount() > 0 and latest.body in timeline.item(timeline.rowCount() - 1, 4).text()
    assert first.status.text() == GETTING_READY
    assert s.console.shown is None  # the services are still loading
    s.release()
    qtbot.waitUntil(lambda: s.console.shown is not None or bool(s.failed), timeout=60_000)
    assert not s.failed
    window = s.console.shown.window
    assert window.isVisible()
    qtbot.waitUntil(lambda: not shiboken6.isValid(first) or not first.isVisible())


def test_an_entry_and_a_shortcut_asked_for_before_ready_run_once_it_is(start, qtbot):
    s = start()
    first = s.console.first_paint
    s.console.begin()
    qtbot.waitExposed(first)
    first.entry.setFocus()
    qtbot.keyClicks(first.entry, "Failover to the standby region started")
    qtbot.keyClick(first.entry, Qt.Key.Key_Return)
    qtbot.keyClick(first, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # search the timeline
    assert "2 actions queued" in first.status.text() and not first.entry.isEnabled()
    s.release()
    qtbot.waitUntil(lambda: s.console.shown is not None, timeout=60_000)
    shown = s.console.shown
    incident_id = shown.ctx.selection.current.id
    qtbot.waitUntil(
        lambda: shown.ctx.sitrep.timeline.entries(incident_id)[-1].body == "Failover to the standby region started",
        timeout=10_000,
    )
    timeline = shown.window.panels["timeline"]
    qtbot.waitUntil(lambda: shown.window.focusWidget() is timeline.text_filter, timeout=10_000)


def test_a_command_key_in_the_entry_line_is_queued_and_editing_keys_stay_the_lines(start, qtbot):
    s = start()
    first = s.console.first_paint
    s.console.begin()
    qtbot.waitExposed(first)
    qtbot.keyClicks(first.entry, "Bridge moved")
    qtbot.keyClick(first.entry, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all: the line's
    qtbot.keyClick(first.entry, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # the command palette
    assert first.entry.text() == "Bridge moved" and first.entry.selectedText() == "Bridge moved"
    assert [k.toString() for k in first.queued_keys] == ["Ctrl+K"]
    assert "1 action queued" in first.status.text()


def test_a_failure_while_loading_is_said_in_words_and_the_first_paint_goes(start, qtbot):
    s = start(failure=StoreError("The database is busy in another program (locked). Nothing was saved; try again."))
    first = s.console.first_paint
    qtbot.addWidget(first)
    with qtbot.waitSignal(s.console.ended, timeout=60_000):
        s.console.begin()
        s.release()
    assert [str(e) for e in s.failed] == ["The database is busy in another program (locked). Nothing was saved; try again."]
    assert s.console.failed_with == 3 and not first.isVisible() and s.console.shown is None


def test_the_first_paint_imports_no_sqlalchemy(store):
    script = textwrap.dedent(
        f"""
        import sys
        from PySide6.QtCore import QSettings
        from models.migrations import SCHEMA_HEAD
        from services.storage.read_lane import ReadLane
        from ui.startup import FirstPaint, application
        application()
        lane = ReadLane({str(_paths(store).database)!r}, SCHEMA_HEAD)
        first = FirstPaint(lane, QSettings())
        assert first.timeline.rowCount() > 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic", "jinja2", "pyqtgraph", "httpx"))
        assert not loaded, loaded
        assert "services.core" not in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)


def test_the_first_paint_makes_no_python_qt_namespace(store):
    # Python's `Qt` namespace (every Qt:: enum) takes 20-40 ms to make: the first paint draws without it,
    # in the colour scheme remembered from the last session, and the console makes it after.
    script = textwrap.dedent(
        f"""
        import PySide6.QtCore as core
        from PySide6.QtCore import QSettings
        from models.migrations import SCHEMA_HEAD
        from services.storage.read_lane import ReadLane
        from ui.startup import FirstPaint, application
        app = application("light")
        first = FirstPaint(ReadLane({str(_paths(store).database)!r}, SCHEMA_HEAD), QSettings())
        first.show()
        app.processEvents()
        assert first.timeline.rowCount() > 0 and first.windowHandle().isExposed()
        assert "Qt" not in vars(core), "the first paint made Python's Qt namespace"
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)
