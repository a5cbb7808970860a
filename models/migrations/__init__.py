"""Alembic migrations. SCHEMA_HEAD must name the newest revision in versions/ (a test checks it).

Revisions were written on parallel branches and chained in the order they were merged, so the chain does not
follow the file numbers: ... 0006 -> 0007 -> 0009 -> 0015 -> 0008 -> 0012 -> 0013 -> 0018 -> 0019 -> 0017 -> 0020 -> 0021 -> 0022 -> ...
"""

from pathlib import Path

SCHEMA_HEAD = "0022"
KNOWN_REVISIONS = frozenset(
    {"0001", "0002", "0003", "0004", "0005", "0006", "0007", "0009", "0015", "0008", "0012", "0013", "0018", "0019",
     "0017", "0020", "0021", "0022"}
)
MIGRATIONS_DIR = Path(__file__).parent
