"""Which folders hold runbooks (the user names them in `runbooks.toml` in the config folder) and the
runbook service wired to the rest of Sitrep: orchestrators from the adapter registry, secrets from the keyring,
the commander from the roles."""

from __future__ import annotations

import tomllib
from pathlib import Path

from services.adapters.interface import RunsAutomation
from services.errors import NotFound, ValidationError
from services.runbooks.library import RunbookLibrary
from services.runbooks.service import COMMANDER_ROLE, RunbookService

FOLDERS_FILE = "runbooks.toml"


def configured_folders(config_dir: Path | None) -> list[Path]:
    if config_dir is None or not (Path(config_dir) / FOLDERS_FILE).is_file():
        return []
    try:
        data = tomllib.loads((Path(config_dir) / FOLDERS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"{Path(config_dir) / FOLDERS_FILE} cannot be read: {exc}") from exc
    return [Path(f).expanduser() for f in data.get("folders", []) if isinstance(f, str)]


def save_folders(config_dir: Path, folders: list[Path]) -> None:
    lines = ["# Folders that hold runbooks (Markdown files); the shipped examples are always included.",
             "folders = [" + ", ".join(_toml_string(str(f)) for f in folders) + "]", ""]  # fmt: skip
    Path(config_dir).mkdir(parents=True, exist_ok=True)
    (Path(config_dir) / FOLDERS_FILE).write_text("\n".join(lines), encoding="utf-8")


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_runbook_service(store, now, publish, config_dir: Path | None, sync, roles) -> RunbookService:
    try:
        folders = configured_folders(config_dir)
    except ValidationError:
        folders = []  # `sitrep runbook list` says what is wrong with the file; the console still runs
    work_dir = (Path(config_dir) if config_dir else Path(store.path or ".").parent) / "runbook-work"

    def orchestrator(name: str) -> RunsAutomation:
        cls = sync.available.get(name)
        if cls is None or not issubclass(cls, RunsAutomation):
            raise NotFound(f"No orchestrator '{name}' installed (its adapter declares RunsAutomation).")
        settings = sync.settings.all().get(name, {}) if not sync.settings.problem else {}
        return cls(settings, sync.secrets)

    def commanders(incident_id: str) -> set[str]:
        out: set[str] = set()
        for holding in roles.holders(incident_id):
            if holding.role == COMMANDER_ROLE:
                out.update({holding.person.handle, holding.person.name})
        return out

    return RunbookService(store, now, publish, RunbookLibrary(folders), work_dir, orchestrator,
                          lambda backend, name: sync.secrets.get(backend, name), commanders)  # fmt: skip
