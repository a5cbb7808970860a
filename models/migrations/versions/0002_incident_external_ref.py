"""incidents.external_ref: the identity of an imported incident in its source

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ref', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_incidents_external_ref'), ['external_ref'])


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_incidents_external_ref'), type_='unique')
        batch_op.drop_column('external_ref')
