"""incidents.identified_at (the cause-identified milestone) and incidents.flagged_pairs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

flagged_pairs holds the milestone pairs an imported history contradicts (["mitigated", "resolved"] when
resolved came first); existing incidents have none. Both columns are added, nothing is rewritten.
"""
from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identified_at", sa.String(length=27), nullable=True))
        batch_op.add_column(sa.Column("flagged_pairs", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("flagged_pairs")
        batch_op.drop_column("identified_at")
