"""Where Sitrep keeps its state. `--data-dir` (or SITREP_DATA_DIR) moves all of it into one folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

APP_NAME = "sitrep"


class Paths(NamedTuple):
    """The four folders; a named tuple rather than a dataclass: this module is read before the console's first
    paint, and `dataclasses` with the code it generates would cost ~4 ms of it (docs/performance.md)."""

    data: Path
    config: Path
    logs: Path
    backups: Path

    @property
    def database(self) -> Path:
        return self.data / "sitrep.db"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def as_dict(self) -> dict[str, str]:
        return {
            "data": str(self.data),
            "config": str(self.config),
            "logs": str(self.logs),
            "backups": str(self.backups),
            "database": str(self.database),
        }

    def create(self) -> None:
        for p in (self.data, self.config, self.logs, self.backups):
            p.mkdir(parents=True, exist_ok=True)


def resolve_paths(data_dir: str | os.PathLike | None = None) -> Paths:
    chosen = data_dir or os.environ.get("SITREP_DATA_DIR")
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return Paths(root, root / "config", root / "logs", root / "backups")
    import platformdirs

    data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return Paths(
        data,
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        data / "backups",
    )
