"""exercises: a tabletop exercise's run and its append-only event log

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-07

Only an exercise store (one made by `sitrep exercise start`) has rows here; a real store has the
empty tables.
"""
from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exercise_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("scenario_id", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("scenario_file", sa.String(length=500), nullable=False),
        sa.Column("scenario_text", sa.Text(), nullable=False),
        sa.Column("facilitator", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("ended_at", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_runs")),
    )
    op.create_table(
        "exercise_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("scenario_s", sa.Float(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["exercise_runs.id"],
            name=op.f("fk_exercise_events_run_id_exercise_runs"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_events")),
        sa.UniqueConstraint("run_id", "seq", name="uq_exercise_events_run_seq"),
    )


def downgrade() -> None:
    op.drop_table("exercise_events")
    op.drop_table("exercise_runs")
