"""each incident's value per shipped duration metric, for the metric tables

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

`incident_durations` and `incident_duration_counts` (models/metric_durations.py says what they hold) are
filled for every incident already stored and kept by three triggers on incidents; the indexes hold each
group's values in order so a metric table picks its median and p90 by position instead of reading every
incident, and the counts give each group's size and exact sum.
"""
from alembic import op
import sqlalchemy as sa

from models import metric_durations, milestone_numbers
from models.entities import NAMING


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The metrics run on SQLite only; the tables are created everywhere so the schema is the models' schema.
    for table in metric_durations.define_tables(sa.MetaData(naming_convention=NAMING)):
        table.create(op.get_bind())
    if op.get_bind().dialect.name == "sqlite":
        for sql in metric_durations.backfill_statements():
            op.execute(sql)
        for sql in metric_durations.trigger_statements():
            op.execute(sql)
        # The numbers' insert trigger now runs only for a row whose numbers are missing (models/milestone_numbers.py).
        op.execute(f"DROP TRIGGER IF EXISTS {milestone_numbers.INSERT_TRIGGER}")
        op.execute(milestone_numbers.trigger_statements()[0])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in metric_durations.TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table(metric_durations.COUNTS_NAME)
    op.drop_table(metric_durations.TABLE_NAME)
