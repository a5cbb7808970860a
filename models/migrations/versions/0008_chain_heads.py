"""chain heads: each hash chain's newest entry (count and hash), in a record of its own

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-07

A chain that only checks itself cannot tell that its newest entries were deleted: what is left still
verifies. The head is written in the same transaction as each timeline entry and stakeholder log
line, so `sitrep verify` sees a chain shorter than its head (or a head that names another hash).
Existing chains get their heads from what is stored now: that is the best anyone can say about them.
"""
from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0015"  # written on 0006; chained by merge order (models/migrations/__init__.py)
branch_labels = None
depends_on = None

_BACKFILL = """
INSERT INTO chain_heads (chain, incident_id, count, hash)
SELECT '{chain}', t.incident_id, t.seq, t.hash FROM {table} t
JOIN (SELECT incident_id, max(seq) AS top FROM {table} GROUP BY incident_id) last
  ON last.incident_id = t.incident_id AND last.top = t.seq
"""


def upgrade() -> None:
    op.create_table(
        "chain_heads",
        sa.Column("chain", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_chain_heads_incident_id_incidents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("chain", "incident_id", name=op.f("pk_chain_heads")),
    )
    op.execute(_BACKFILL.format(chain="timeline", table="timeline_entries"))
    op.execute(_BACKFILL.format(chain="stakeholder_log", table="comms_log"))


def downgrade() -> None:
    op.drop_table("chain_heads")
