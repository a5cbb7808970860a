"""Where exercises live: each in a folder of its own under the data folder's `exercises/`, laid out as
a whole data folder (its `sitrep.db`, `config/`, `logs/`, `backups/`), so `sitrep --data-dir FOLDER`
opens it like any store and nothing in it can touch the real incidents, metrics or history.

Starting one copies the user's settings (backends, templates, rules) so the exercise looks like the
real thing, and the responder directory and stakeholder registry so players can assign the people
they know; credentials stay in the keyring and are never used (the sandbox sends nothing). Each
folder keeps `exercise.json`, the figures the exercise history compares.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from models.entities import ExerciseRun, Person, Stakeholder
from services.errors import NotFound, ValidationError
from services.exercises.rules import Vocabulary
from services.exercises.service import ExerciseService
from services.record.incidents import INCIDENT_TYPES
from services.storage.store import Store

log = logging.getLogger(__name__)

FOLDER = "exercises"
DATABASE = "sitrep.db"  # the name app/paths.py gives a data folder's database
SUMMARY = "exercise.json"
# Settings copied into an exercise's config folder; caches and the user's own scenarios are not needed.
_NOT_COPIED = ("scenarios", "*.part", "oncall-cache.json")


def build_vocabulary(catalog, comms) -> Vocabulary:
    return Vocabulary(
        severities={sid: i for i, sid in enumerate(catalog.severities, 1)},
        roles=frozenset(catalog.roles),
        clocks=frozenset(comms.rules.clocks),
        audiences=frozenset(comms.settings.audiences),
        templates=frozenset(comms.templates.templates),
        incident_types=INCIDENT_TYPES,
    )


def holds_exercise(store) -> bool:
    """Whether this store is an exercise's own (and so every backend is a recording sandbox)."""
    try:
        with store.read() as s:
            return bool(s.scalar(select(func.count()).select_from(ExerciseRun)))
    except Exception:  # a store without the table (an older schema opened read-only) holds none
        return False


@dataclass(frozen=True)
class ExerciseFolder:
    name: str
    path: Path
    title: str
    scenario_id: str
    created_at: str
    ended_at: str | None
    summary: dict[str, Any]

    @property
    def database(self) -> Path:
        return self.path / DATABASE


class Workspace:
    def __init__(self, data_dir: Path, config_dir: Path | None) -> None:
        self.root = Path(data_dir) / FOLDER
        self.config_dir = Path(config_dir) if config_dir else None

    def new_folder(self, scenario_id: str, now: datetime) -> Path:
        slug = re.sub(r"[^a-z0-9-]+", "-", scenario_id.lower()).strip("-")[:40] or "exercise"
        base = f"{now:%Y%m%d-%H%M}-{slug}"
        path, n = self.root / base, 1
        while path.exists():
            n += 1
            path = self.root / f"{base}-{n}"
        try:
            (path / "config").mkdir(parents=True)
            for sub in ("logs", "backups"):
                (path / sub).mkdir()
            if self.config_dir is not None and self.config_dir.is_dir():
                shutil.copytree(self.config_dir, path / "config", dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(*_NOT_COPIED))  # fmt: skip
        except OSError as exc:
            raise ValidationError(f"Cannot make the exercise folder {path}: {exc.strerror}.") from None
        return path

    def folders(self) -> list[ExerciseFolder]:
        if not self.root.is_dir():
            return []
        out = []
        for path in sorted(self.root.iterdir()):
            if not (path / DATABASE).exists():
                continue
            meta = read_summary(path)
            out.append(ExerciseFolder(path.name, path, meta.get("title", path.name), meta.get("scenario", ""),
                                      meta.get("created_at", ""), meta.get("ended_at"), meta))  # fmt: skip
        return out

    def find(self, name: str | None) -> ExerciseFolder:
        """The named exercise, or (no name) the newest one still running."""
        folders = self.folders()
        if name:
            for f in folders:
                if f.name == name or f.path == Path(name).expanduser().resolve():
                    return f
            raise NotFound(f"No exercise '{name}' in {self.root}. `sitrep exercise list` shows them.")
        running = [f for f in folders if not f.ended_at]
        if not running:
            raise NotFound("No exercise is running. Start one with `sitrep exercise start SCENARIO`.")
        return running[-1]

    def history(self) -> list[dict[str, Any]]:
        """Ended exercises' figures, oldest first: how a team's times move across exercises."""
        return [f.summary | {"folder": f.name} for f in self.folders() if f.ended_at]


def read_summary(folder: Path) -> dict[str, Any]:
    try:
        doc = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def write_summary(folder: Path, summary: dict[str, Any]) -> None:
    tmp = folder / (SUMMARY + ".part")
    try:
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, folder / SUMMARY)
    except OSError as exc:
        log.warning("cannot write the exercise summary in %s: %s", folder, exc.strerror)


def copy_directory(real_store, exercise_store) -> int:
    """Responders and stakeholders, so the players assign and notify the people they know."""
    copied = 0
    with real_store.read_connection() as src:
        tables = [(t.__table__, [dict(r._mapping) for r in src.execute(select(t.__table__))]) for t in (Person, Stakeholder)]
    with exercise_store.write_connection() as dst:
        for table, rows in tables:
            if rows:
                dst.execute(insert(table), rows)
                copied += len(rows)
    return copied


def create_exercise(real, scenario, *, facilitator: str, data_dir: Path, config_dir: Path | None) -> Path:
    """A new exercise store for `scenario` beside the real one (`real` is the real store's Sitrep).
    Returns its folder; open it as a data folder. The real store is only read."""
    workspace = Workspace(data_dir, config_dir)
    now = real.now()
    folder = workspace.new_folder(scenario.id, now)
    store = Store.open(f"sqlite:///{folder / DATABASE}", folder / "backups")
    try:
        ExerciseService(store, real.catalog, None, real.now, lambda *a: None, lambda: None).begin(
            scenario, facilitator=facilitator
        )
        copy_directory(real.store, store)
    finally:
        store.close()
    write_summary(folder, {"scenario": scenario.id, "title": scenario.title, "created_at": now.isoformat(),
                           "facilitator": facilitator})  # fmt: skip
    return folder
