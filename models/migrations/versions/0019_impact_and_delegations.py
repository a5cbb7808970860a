"""impact and delegations: an incident's recorded customer impact with the severity it proposes, and the
register of delegations of authority with each review

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_impacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("proposed_severity", sa.String(length=16), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("first_proposed_severity", sa.String(length=16), nullable=True),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_impacts_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_impacts")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_incident_impacts_incident_id")),
    )
    op.create_table(
        "delegations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("authority", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("deputies", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.String(length=10), nullable=True),
        sa.Column("review_due_on", sa.String(length=10), nullable=False),
        sa.Column("last_reviewed_at", sa.String(length=27), nullable=True),
        sa.Column("last_reviewed_by", sa.String(length=120), nullable=True),
        sa.Column("revoked_at", sa.String(length=27), nullable=True),
        sa.Column("revoked_by", sa.String(length=120), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    op.create_index(op.f("ix_delegations_authority"), "delegations", ["authority"])
    op.create_table(
        "delegation_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("delegation_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["delegation_id"], ["delegations.id"],
                                name=op.f("fk_delegation_reviews_delegation_id_delegations"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegation_reviews")),
    )
    op.create_index("ix_delegation_reviews_delegation", "delegation_reviews", ["delegation_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_delegation_reviews_delegation", table_name="delegation_reviews")
    op.drop_table("delegation_reviews")
    op.drop_index(op.f("ix_delegations_authority"), table_name="delegations")
    op.drop_table("delegations")
    op.drop_table("incident_impacts")
