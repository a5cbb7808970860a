"""maintenance: planned maintenance windows and the history of their changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Only adds two tables; what a status page is owed for a window goes through the existing sync
outbox (items without an incident) and remote links (local_kind "maintenance").
"""
from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scheduled_for", sa.String(length=27), nullable=False),
        sa.Column("scheduled_until", sa.String(length=27), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("notify_subscribers", sa.Boolean(), nullable=False),
        sa.Column("remind_subscribers", sa.Boolean(), nullable=False),
        sa.Column("auto_in_progress", sa.Boolean(), nullable=False),
        sa.Column("auto_complete", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("planned_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("started_at", sa.String(length=27), nullable=True),
        sa.Column("ended_at", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
        sa.UniqueConstraint("key", name=op.f("uq_maintenance_windows_key")),
        sa.UniqueConstraint("number", name=op.f("uq_maintenance_windows_number")),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index("ix_maintenance_windows_status_start", ["status", "scheduled_for"], unique=False)

    op.create_table(
        "maintenance_updates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("maintenance_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(
            ["maintenance_id"], ["maintenance_windows.id"],
            name=op.f("fk_maintenance_updates_maintenance_id_maintenance_windows"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_updates")),
        sa.UniqueConstraint("maintenance_id", "seq", name="uq_maintenance_updates_window_seq"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_updates")
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_windows_status_start")
    op.drop_table("maintenance_windows")
