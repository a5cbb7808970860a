"""A store file left at an older schema revision, as an upgrade finds it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from models.migrations import MIGRATIONS_DIR


def store_at_revision(db: Path, revision: str) -> None:
    """Create `db` and migrate it up to `revision` only (Sitrep.open would take it to the head)."""
    engine = create_engine(f"sqlite:///{db}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
