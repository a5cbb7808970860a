"""A new store is created from the models and stamped at the head; an old one is brought there by the
migrations. Both must give the same schema, or a store's shape would depend on when it was made."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from models.migrations import SCHEMA_HEAD
from services.storage.store import Store


def _check_constraints(sql: str) -> set[str]:
    """CHECK constraints as written in a table's CREATE statement, by name, spacing and quoting ignored."""
    found = set()
    for name, body in re.findall(r"CONSTRAINT\s+\"?(\w+)\"?\s+CHECK\s*\((.*?)\)\s*(?:,|\n|\)$)", sql, re.S):
        found.add((name, re.sub(r"[\s\"']", "", body)))
    return found


def schema_of(db: Path) -> dict:
    """Tables, columns (type, null, default, key), indexes (unique, columns, partial predicate),
    foreign keys and CHECK constraints, as SQLite reports them."""
    conn = sqlite3.connect(db)
    try:
        shape: dict = {}
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()[0]
            columns = sorted(
                (r[1], r[2].upper(), r[3], (r[4] or "").strip("'\""), r[5])
                for r in conn.execute(f'PRAGMA table_info("{table}")')
            )
            foreign = sorted(tuple(r[2:8]) for r in conn.execute(f'PRAGMA foreign_key_list("{table}")'))
            indexes = {}
            for _seq, name, unique, origin, partial in conn.execute(f'PRAGMA index_list("{table}")'):
                cols = tuple(r[2] for r in conn.execute(f'PRAGMA index_info("{name}")'))
                where = None
                if partial:
                    index_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name=?", (name,)).fetchone()[0]
                    where = re.sub(r"[\s\"']", "", index_sql.split("WHERE", 1)[1]).lower()
                # Automatic indexes behind UNIQUE/PRIMARY KEY constraints are named by SQLite, not by us.
                key = name if not name.startswith("sqlite_autoindex") else f"auto:{cols}"
                indexes[key] = (bool(unique), origin, cols, where)
            shape[table] = {
                "columns": columns,
                "foreign_keys": foreign,
                "indexes": indexes,
                "checks": _check_constraints(sql),
                "named_constraints": sorted(
                    re.findall(r"CONSTRAINT\s+\"?(\w+)\"?\s+(PRIMARY KEY|UNIQUE|FOREIGN KEY|CHECK)", sql)
                ),
            }
        return shape
    finally:
        conn.close()


def _migrated(db: Path) -> None:
    store = Store(f"sqlite:///{db}", None)
    try:
        store._enable_wal()
        store._upgrade()
    finally:
        store.close()


def test_a_new_store_from_the_models_has_the_schema_the_migrations_build(tmp_path):
    created, migrated = tmp_path / "created.db", tmp_path / "migrated.db"
    Store.open(f"sqlite:///{created}").close()
    _migrated(migrated)
    made, replayed = schema_of(created), schema_of(migrated)
    assert sorted(made) == sorted(replayed)
    for table in replayed:
        assert made[table] == replayed[table], table
    # The comparison must see what it compares: constraints by name, foreign keys and a partial index.
    assert len(made) > 20 and any(v["named_constraints"] for v in made.values())
    assert any(v["foreign_keys"] for v in made.values())
    assert any(w for v in made.values() for (_u, _o, _c, w) in v["indexes"].values())


def test_a_new_store_is_stamped_at_the_head_and_opens_again_without_migrating(tmp_path):
    db = tmp_path / "new.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        assert store.schema_revision() == SCHEMA_HEAD and store.last_backup is None
    finally:
        store.close()
    again = Store.open(f"sqlite:///{db}")
    try:
        assert again.schema_revision() == SCHEMA_HEAD
    finally:
        again.close()
