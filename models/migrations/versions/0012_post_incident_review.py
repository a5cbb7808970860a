"""post-incident reviews and their action items

Revision ID: 0012
Revises: 0015 (main's head at the last merge; the integrator re-chains)
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0008"  # chained by merge order (models/migrations/__init__.py)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_incident_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=True),
        sa.Column("opened_at", sa.String(length=27), nullable=False),
        sa.Column("meeting_due_at", sa.String(length=27), nullable=False),
        sa.Column("publish_due_at", sa.String(length=27), nullable=False),
        sa.Column("meeting_at", sa.String(length=27), nullable=True),
        sa.Column("meeting_minutes", sa.Integer(), nullable=False),
        sa.Column("meeting_held_at", sa.String(length=27), nullable=True),
        sa.Column("published_at", sa.String(length=27), nullable=True),
        sa.Column("closed_at", sa.String(length=27), nullable=True),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_post_incident_reviews_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_incident_reviews")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_post_incident_reviews_incident_id")),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=True),
        sa.Column("due_on", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tracking_url", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("done_at", sa.String(length=27), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_action_items_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
        sa.UniqueConstraint("number", name=op.f("uq_action_items_number")),
        sa.UniqueConstraint("key", name=op.f("uq_action_items_key")),
    )
    op.create_index("ix_action_items_incident_id", "action_items", ["incident_id"])
    op.create_index("ix_action_items_status_due", "action_items", ["status", "due_on"])


def downgrade() -> None:
    op.drop_table("action_items")
    op.drop_table("post_incident_reviews")
