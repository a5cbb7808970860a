"""runbooks: each use of a runbook (in an incident or as a fire drill), its step events, and findings

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-07

A run keeps which text was followed (commit, blob, uncommitted changes), so the record does not change when
the runbook file is edited later. Drills have no incident.
"""
from alembic import op
import sqlalchemy as sa


revision = "0015"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runbook_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("runbook", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("commit", sa.String(length=40), nullable=True),
        sa.Column("blob", sa.String(length=40), nullable=False),
        sa.Column("provenance", sa.String(length=40), nullable=False),
        sa.Column("drill_target", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.String(length=27), nullable=False),
        sa.Column("started_by", sa.String(length=120), nullable=False),
        sa.Column("ended_at", sa.String(length=27), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_runbook_runs_incident_id_incidents"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_runs")),
    )
    op.create_index("ix_runbook_runs_runbook", "runbook_runs", ["runbook", "started_at"])
    op.create_table(
        "runbook_step_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runbook_runs.id"],
                                name=op.f("fk_runbook_step_events_run_id_runbook_runs"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_step_events")),
    )
    op.create_index("ix_runbook_step_events_run", "runbook_step_events", ["run_id", "id"])
    op.create_table(
        "runbook_findings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("runbook", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_findings")),
    )


def downgrade() -> None:
    op.drop_table("runbook_findings")
    op.drop_index("ix_runbook_step_events_run", "runbook_step_events")
    op.drop_table("runbook_step_events")
    op.drop_index("ix_runbook_runs_runbook", "runbook_runs")
    op.drop_table("runbook_runs")
