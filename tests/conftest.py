"""Test harness: offscreen Qt, a fresh data folder per test, a controllable clock."""

from __future__ import annotations

import os

# Before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("SITREP_DATA_DIR", None)
os.environ.setdefault("SITREP_USER", "tester")

from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from services.core import Sitrep  # noqa: E402


def _ram_folder() -> Path | None:
    """/dev/shm when it is there, writable and roomy (a container's default 64 MB is not)."""
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    roomy = st.f_bavail * st.f_frsize > 1 << 30
    return shm if roomy and os.access(shm, os.W_OK) else None


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


def pytest_unconfigure(config) -> None:
    folder = getattr(config, "_sitrep_ram_basetemp", None)
    if folder:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


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
