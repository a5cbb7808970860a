"""people: working hours and role training, for rotation, fatigue and follow-the-sun handovers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

`working_hours` is text as a person types it ("Mon-Fri 09:00-17:30", "09:00-18:00"), read in the
person's own time zone; empty means the default in resources/rotation.toml. `trained_roles` lists
the role ids (IC, COMMS, ...) the person is trained for; empty means not recorded yet, which the
takeover suggestions treat as untrained.
"""
from alembic import op
import sqlalchemy as sa


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("working_hours", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("trained_roles", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("trained_roles")
        batch.drop_column("working_hours")
