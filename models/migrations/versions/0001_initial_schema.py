"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 11:36:30.262141
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('incidents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('incident_type', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_major', sa.Boolean(), nullable=False),
    sa.Column('is_exercise', sa.Boolean(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('affected_users', sa.Integer(), nullable=True),
    sa.Column('error_rate_pct', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=27), nullable=False),
    sa.Column('updated_at', sa.String(length=27), nullable=False),
    sa.Column('impact_started_at', sa.String(length=27), nullable=True),
    sa.Column('detected_at', sa.String(length=27), nullable=True),
    sa.Column('declared_at', sa.String(length=27), nullable=True),
    sa.Column('acknowledged_at', sa.String(length=27), nullable=True),
    sa.Column('ic_assigned_at', sa.String(length=27), nullable=True),
    sa.Column('bridge_opened_at', sa.String(length=27), nullable=True),
    sa.Column('mitigated_at', sa.String(length=27), nullable=True),
    sa.Column('resolved_at', sa.String(length=27), nullable=True),
    sa.Column('closed_at', sa.String(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('key', name=op.f('uq_incidents_key')),
    sa.UniqueConstraint('number', name=op.f('uq_incidents_number'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_status'), ['status'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('handle', sa.String(length=80), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('handle', name=op.f('uq_people_handle'))
    )
    op.create_table('role_assignments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('started_at', sa.String(length=27), nullable=False),
    sa.Column('ended_at', sa.String(length=27), nullable=True),
    sa.Column('assigned_by', sa.String(length=120), nullable=False),
    sa.Column('handover_brief', sa.JSON(), nullable=True),
    sa.Column('checklist_done', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_role_assignments_incident_id_incidents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_role_assignments_person_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_assignments'))
    )
    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_roles_incident_role', ['incident_id', 'role'], unique=False)

    op.create_table('timeline_entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=True),
    sa.Column('author', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.String(length=27), nullable=False),
    sa.Column('recorded_at', sa.String(length=27), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('supersedes_id', sa.String(length=36), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_timeline_entries_incident_id_incidents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['timeline_entries.id'], name=op.f('fk_timeline_entries_supersedes_id_timeline_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_entries')),
    sa.UniqueConstraint('incident_id', 'seq', name='uq_timeline_incident_seq')
    )
    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.create_index('ix_timeline_incident_kind', ['incident_id', 'kind'], unique=False)




def downgrade() -> None:
    
    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_timeline_incident_kind')

    op.drop_table('timeline_entries')
    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_roles_incident_role')

    op.drop_table('role_assignments')
    op.drop_table('people')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_status'))

    op.drop_table('incidents')

