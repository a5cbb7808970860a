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
