"""Alembic migrations. SCHEMA_HEAD must name the newest revision in versions/ (a test checks it)."""

from pathlib import Path

# "0003" (sync) is written against "0001"; "0002" comes from another branch and the lead
# re-chains 0003 onto it at merge, then adds "0002" here.
SCHEMA_HEAD = "0004"
KNOWN_REVISIONS = frozenset({"0001", "0003", "0004"})
MIGRATIONS_DIR = Path(__file__).parent
