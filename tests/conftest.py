"""Test harness: offscreen Qt, a fresh data folder per test, a controllable clock."""

from __future__ import annotations

import os
import sys

# Before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("SITREP_DATA_DIR", None)
os.environ.setdefault("SITREP_USER", "tester")

import gc  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from services.core import Sitrep  # noqa: E402
from tests.fakes.openapi import how_requests_are_checked  # noqa: E402


def _ram_folder() -> Path | None:
    """/dev/shm when it is there, writable and roomy (a container's default 64 MB is not)."""
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    roomy = st.f_bavail * st.f_frsize > 1 << 30
    return shm if roomy and os.access(shm, os.W_OK) else None


def pytest_report_header(config) -> str:
    # Which checks the vendor fakes make: their own contracts always, the published specs when found.
    return how_requests_are_checked()


def pytest_configure(config) -> None:
    # Test stores live in RAM unless told otherwise (--basetemp). Every commit is synchronous=FULL, and on
    # a disk shared with other work the fsyncs, not the code, set the pace: the same suite took 65 s on
    # disk and 22 s in RAM on a busy machine. They are still real SQLite files with WAL and file locks;
    # durability itself is a property of SQLite and the disk, measured in bench/, not asserted here.
    ram = _ram_folder()
    if config.option.basetemp is None and ram is not None:
        import tempfile

        config.option.basetemp = tempfile.mkdtemp(prefix="sitrep-tests-", dir=ram)
        config._sitrep_ram_basetemp = config.option.basetemp
    # As in the console (ui/gui_thread_gc.py): reference cycles are collected on the main thread only,
    # here at the end of each test. Left automatic, a collection starts on whichever thread allocates
    # when a threshold is crossed (a metrics job, the sync worker, a loopback server), and a Qt object
    # in a cycle left by an earlier test is then destroyed on that thread: a ChangeNotifier's file
    # watcher torn down there made the GUI thread's event loop warn for ever, or corrupted the heap.
    config._sitrep_gc_was_enabled = gc.isenabled()
    gc.disable()


def pytest_unconfigure(config) -> None:
    gc.unfreeze()
    if getattr(config, "_sitrep_gc_was_enabled", False):
        gc.enable()
    folder = getattr(config, "_sitrep_ram_basetemp", None)
    if folder:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def qapp(qapp):
    """pytest-qt's QApplication, collecting garbage from its event loop as the console does."""
    from ui.gui_thread_gc import GuiThreadCollector

    collector = GuiThreadCollector(qapp)
    collector.start()
    yield qapp
    collector.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """After each test, once pytest has let go of its fixtures: the widgets pytest-qt closed (deleteLater)
    are deleted now, in their own test's time, and what the test left in reference cycles is collected,
    on this thread.

    What is still alive after that is the session's (modules, caches, wider fixtures): it is frozen, so
    the next test's collection looks only at what that test made (a collection of the whole heap costs
    ~0.15 s of CPU after every test; this one a few ms)."""
    reports = yield
    qt = sys.modules.get("PySide6.QtCore")  # a test that never imported Qt made no Qt object
    if qt is not None and qt.QCoreApplication.instance() is not None:
        qt.QCoreApplication.sendPostedEvents(None, qt.QEvent.Type.DeferredDelete)
    gc.collect()
    gc.freeze()
    return reports


class FakeClock:
    """A clock the test moves by hand, so deadlines can be crossed without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.value = start or datetime(2026, 3, 14, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs) -> datetime:
        self.value += timedelta(**kwargs)
        return self.value


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """An empty database at the schema head, made once by the real migrations; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "sitrep.db"
    Sitrep.open(f"sqlite:///{path}").close()
    return path


def _fresh_store(data_dir: Path, template: Path) -> Path:
    import shutil

    db = data_dir / "sitrep.db"
    shutil.copyfile(template, db)  # closed, so checkpointed: the one file is the whole database
    return db


@pytest.fixture
def sitrep(data_dir: Path, clock: FakeClock, migrated_db: Path):
    db = _fresh_store(data_dir, migrated_db)
    app = Sitrep.open(f"sqlite:///{db}", backups_dir=data_dir / "backups", now=clock)
    yield app
    app.close()


@pytest.fixture
def live_sitrep(data_dir: Path, migrated_db: Path):
    """Real wall-clock time, for the GUI and CLI tests."""
    db = _fresh_store(data_dir, migrated_db)
    app = Sitrep.open(f"sqlite:///{db}", backups_dir=data_dir / "backups")
    yield app
    app.close()


@pytest.fixture
def run_cli(data_dir: Path, capsys):
    """Run `sitrep --data-dir <data_dir> ARGS...` in this process; returns (exit code, stdout, stderr)."""
    import logging

    from app.__main__ import main

    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level

    def run(*args: str, data: Path | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(["--data-dir", str(data or data_dir), *args])
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    # The CLI sets up process-wide logging once; undo it so each test logs into its own folder.
    for handler in root.handlers[:]:
        if handler not in handlers_before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level_before)
    if hasattr(root, "_sitrep_configured"):
        del root._sitrep_configured
