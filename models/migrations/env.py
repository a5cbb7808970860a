"""Alembic environment. The connection is always handed in by services.storage.store."""

from __future__ import annotations

from alembic import context

from models.entities import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("Run migrations through `sitrep doctor --migrate` or the app, not the alembic CLI.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only ALTER through table copies
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
