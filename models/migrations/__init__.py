"""Alembic migrations. SCHEMA_HEAD must name the newest revision in versions/ (a test checks it)."""

from pathlib import Path

SCHEMA_HEAD = "0001"
KNOWN_REVISIONS = frozenset({"0001"})
MIGRATIONS_DIR = Path(__file__).parent
