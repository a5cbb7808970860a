"""Opening an exercise's own store, and ending it with its report and history figures: what the CLI
and the consoles share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from models.types import utcnow
from services.core import Sitrep
from services.exercises.report import write_text_reports
from services.exercises.sheet import summary_of
from services.exercises.workspace import DATABASE, read_summary, write_summary


def open_exercise(folder: Path, *, now: Callable[[], datetime] = utcnow, sync_options: dict | None = None) -> Sitrep:
    folder = Path(folder)
    return Sitrep.open(f"sqlite:///{folder / DATABASE}", backups_dir=folder / "backups", config_dir=folder / "config",
                       now=now, sync_options=sync_options)  # fmt: skip


def exercise_folder(sitrep: Sitrep) -> Path:
    """The folder an exercise store lives in (its data folder)."""
    path = sitrep.store.path
    if path is None:
        raise ValueError("an exercise store is a SQLite file")
    return Path(path).parent


def end_exercise(sitrep: Sitrep, *, by: str) -> dict[str, Path]:
    """End the exercise (if still running), keep its figures for the history, write aar.md and aar.html.
    Returns the report files (the PDF is made from the HTML by whoever has Qt)."""
    if sitrep.exercises.require_run().ended_at is None:
        sitrep.exercises.end(by=by)
    return refresh_outputs(sitrep)[0]


def refresh_outputs(sitrep: Sitrep) -> tuple[dict[str, Path], str]:
    folder = exercise_folder(sitrep)
    state = sitrep.exercises.state()
    write_summary(folder, read_summary(folder) | summary_of(state))
    return write_text_reports(sitrep, folder)
