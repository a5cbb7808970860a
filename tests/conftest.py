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


@pytest.fixture
def sitrep(data_dir: Path, clock: FakeClock):
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups", now=clock)
    yield app
    app.close()


@pytest.fixture
def live_sitrep(data_dir: Path):
    """Real wall-clock time, for the GUI and CLI tests."""
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups")
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
