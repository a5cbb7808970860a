"""Alembic migrations. SCHEMA_HEAD must name the newest revision in versions/ (a test checks it)."""

from pathlib import Path

SCHEMA_HEAD = "0012"
KNOWN_REVISIONS = frozenset({"0001", "0002", "0003", "0004", "0005", "0006", "0009", "0012"})
MIGRATIONS_DIR = Path(__file__).parent
