"""problems and change links: ITIL problem records, each incident's link to one, and the changes that may
have caused an incident

Revision ID: 0017
Revises: 0019
Create Date: 2026-12-07

Links are never deleted, only made inactive, so merging an older export cannot bring back a removed link.
"""
from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("workaround", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=True),
        sa.Column("remote_backend", sa.String(length=40), nullable=True),
        sa.Column("remote_key", sa.String(length=64), nullable=True),
        sa.Column("remote_status", sa.String(length=120), nullable=True),
        sa.Column("fetched_at", sa.String(length=27), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
        sa.UniqueConstraint("number", name=op.f("uq_problems_number")),
        sa.UniqueConstraint("key", name=op.f("uq_problems_key")),
        sa.UniqueConstraint("remote_key", name=op.f("uq_problems_remote_key")),
    )
    op.create_table(
        "problem_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("problem_id", sa.String(length=36), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        sa.Column("linked_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_problem_links_incident_id_incidents"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["problem_id"], ["problems.id"],
                                name=op.f("fk_problem_links_problem_id_problems"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_links")),
        sa.UniqueConstraint("incident_id", "problem_id", name="uq_problem_links_incident_problem"),
    )
    op.create_index("ix_problem_links_problem_id", "problem_links", ["problem_id"])
    op.create_table(
        "change_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("changed_at", sa.String(length=27), nullable=True),
        sa.Column("ci", sa.String(length=200), nullable=False),
        sa.Column("remote_status", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        sa.Column("linked_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_change_links_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_links")),
        sa.UniqueConstraint("incident_id", "ref", name="uq_change_links_incident_ref"),
    )


def downgrade() -> None:
    op.drop_table("change_links")
    op.drop_table("problem_links")
    op.drop_table("problems")
