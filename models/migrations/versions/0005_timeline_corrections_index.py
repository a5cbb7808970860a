"""timeline: index the corrections (entries that supersede another), per incident

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Opening an incident asks which of its entries were corrected; without this index that read every
entry of the incident (45 ms at 100,000 entries), correcting an entry scanned the whole table, and
"Hide corrected" ran a correlated scan per row (minutes at 100,000). Partial: only corrections are
indexed, so logging an ordinary entry does not pay for it.

Chained on "0004" (comms), the head on main when this was written. It only adds an index, so if
another revision lands first it can be re-chained onto it without other changes.
"""
from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_timeline_corrections",
            ["incident_id", "supersedes_id"],
            unique=False,
            sqlite_where=sa.text("supersedes_id IS NOT NULL"),
            postgresql_where=sa.text("supersedes_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_corrections")
