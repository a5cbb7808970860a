"""sync: outbox, remote links, backend lane state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Written on branch wip/sync while another branch added "0002" (incidents.external_ref); chained onto it
at merge (both only add to the schema, so either order works).
"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("backend", sa.String(length=40), nullable=False),
        sa.Column("op", sa.String(length=60), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.String(length=27), nullable=True),
        sa.Column("last_attempt_at", sa.String(length=27), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("remote_ref", sa.String(length=200), nullable=True),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["timeline_entries.id"], name=op.f("fk_sync_outbox_entry_id_timeline_entries"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_sync_outbox_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sync_outbox_idempotency_key")),
    )
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_sync_outbox_lane", ["backend", "state", "id"], unique=False)
        batch_op.create_index("ix_sync_outbox_incident", ["incident_id", "backend"], unique=False)

    op.create_table(
        "sync_remote_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("backend", sa.String(length=40), nullable=False),
        sa.Column("local_kind", sa.String(length=20), nullable=False),
        sa.Column("local_id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("remote_kind", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("remote_state", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_sync_remote_links_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_remote_links")),
        sa.UniqueConstraint("backend", "remote_kind", "remote_id", name="uq_sync_remote_links_remote"),
    )
    with op.batch_alter_table("sync_remote_links", schema=None) as batch_op:
        batch_op.create_index("ix_sync_remote_links_local", ["local_kind", "local_id", "backend"], unique=False)
        batch_op.create_index("ix_sync_remote_links_incident", ["incident_id", "backend"], unique=False)

    op.create_table(
        "sync_backends",
        sa.Column("backend", sa.String(length=40), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_until", sa.String(length=27), nullable=True),
        sa.Column("breaker", sa.String(length=12), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("open_until", sa.String(length=27), nullable=True),
        sa.Column("last_success_at", sa.String(length=27), nullable=True),
        sa.Column("last_failure_at", sa.String(length=27), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_pull_at", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("backend", name=op.f("pk_sync_backends")),
    )


def downgrade() -> None:
    op.drop_table("sync_backends")
    with op.batch_alter_table("sync_remote_links", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_remote_links_incident")
        batch_op.drop_index("ix_sync_remote_links_local")
    op.drop_table("sync_remote_links")
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_outbox_incident")
        batch_op.drop_index("ix_sync_outbox_lane")
    op.drop_table("sync_outbox")
