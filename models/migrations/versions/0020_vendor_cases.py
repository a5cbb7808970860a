"""vendor cases: cases opened with suppliers, held to their contracts' response and resolution times

Each case keeps the contract's terms as they were when it opened and the escalation ladder level it has reached.

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendor_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=40), nullable=False),
        sa.Column("vendor_name", sa.String(length=200), nullable=False),
        sa.Column("contract_ref", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.String(length=40), nullable=False),
        sa.Column("ticket_ref", sa.String(length=200), nullable=True),
        sa.Column("service", sa.String(length=300), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.String(length=27), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("response_due_at", sa.String(length=27), nullable=False),
        sa.Column("resolution_due_at", sa.String(length=27), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_since", sa.String(length=27), nullable=False),
        sa.Column("first_reply_at", sa.String(length=27), nullable=True),
        sa.Column("last_reply_at", sa.String(length=27), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("closed_at", sa.String(length=27), nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=True),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_vendor_cases_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_vendor_cases_number")),
        sa.UniqueConstraint("key", name=op.f("uq_vendor_cases_key")),
    )
    op.create_index("ix_vendor_cases_incident_id", "vendor_cases", ["incident_id"])
    op.create_index("ix_vendor_cases_status_opened", "vendor_cases", ["status", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_vendor_cases_status_opened", "vendor_cases")
    op.drop_index("ix_vendor_cases_incident_id", "vendor_cases")
    op.drop_table("vendor_cases")
