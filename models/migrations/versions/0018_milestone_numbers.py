"""milestone times as numbers beside their text, for the metrics

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-07

Each milestone column gets a `_num` twin (models/milestone_numbers.py says what the number is), filled for
every incident already stored and kept equal to the text by two triggers; an index holding the twins and
the columns the figures filter and group on lets a metric table read the index alone.
"""
from alembic import op
import sqlalchemy as sa

from models import milestone_numbers
from models.enums import Milestone


revision = "0018"
down_revision = "0013"  # chained by merge order (models/migrations/__init__.py)
branch_labels = None
depends_on = None


def upgrade() -> None:
    for m in Milestone:
        op.add_column("incidents", sa.Column(milestone_numbers.num_column(m), sa.BigInteger(), nullable=True))
    # The numbers serve the metrics, which run on SQLite only (PostgreSQL has no B-tree order for JSON columns).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(milestone_numbers.backfill_statement())
        for sql in milestone_numbers.trigger_statements():
            op.execute(sql)
        op.create_index(
            milestone_numbers.INDEX_NAME,
            "incidents",
            [*milestone_numbers.INDEX_LEADING_COLUMNS, *milestone_numbers.NUM_COLUMNS],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(milestone_numbers.INDEX_NAME, table_name="incidents")
        for name in milestone_numbers.TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for m in Milestone:
        op.drop_column("incidents", milestone_numbers.num_column(m))
