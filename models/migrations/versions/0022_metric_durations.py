"""each incident's value per shipped duration metric, for the metric tables

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

`incident_durations` (models/metric_durations.py says what a row is) is filled for every incident already
stored and kept by three triggers on incidents; its indexes hold each group's values in order so a metric
table picks its median and p90 by position instead of reading every incident.
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
    # The metrics run on SQLite only; the table is created everywhere so the schema is the models' schema.
    table = metric_durations.define_table(sa.MetaData(naming_convention=NAMING))
    table.create(op.get_bind())
    if op.get_bind().dialect.name == "sqlite":
        op.execute(metric_durations.backfill_statement())
        # The numbers' insert trigger now runs only for a row whose numbers are missing (models/milestone_numbers.py).
        op.execute(f"DROP TRIGGER IF EXISTS {milestone_numbers.INSERT_TRIGGER}")
        op.execute(milestone_numbers.trigger_statements()[0])
        for sql in metric_durations.trigger_statements():
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in metric_durations.TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table(metric_durations.TABLE_NAME)
