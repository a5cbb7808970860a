"""communications: message drafts, stakeholders, the stakeholder log, regulatory clocks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stakeholders',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('handle', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('group', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('slack', sa.String(length=120), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('severities', sa.JSON(), nullable=False),
    sa.Column('incident_types', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stakeholders')),
    sa.UniqueConstraint('handle', name=op.f('uq_stakeholders_handle'))
    )
    op.create_table('regulatory_clocks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('rule_id', sa.String(length=80), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('trigger_at', sa.String(length=27), nullable=True),
    sa.Column('deadline_at', sa.String(length=27), nullable=True),
    sa.Column('started_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.String(length=27), nullable=False),
    sa.Column('updated_at', sa.String(length=27), nullable=False),
    sa.Column('met_at', sa.String(length=27), nullable=True),
    sa.Column('closed_by', sa.String(length=120), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_regulatory_clocks_incident_id_incidents'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regulatory_clocks')),
    sa.UniqueConstraint('incident_id', 'rule_id', name='uq_regulatory_clocks_incident_rule')
    )
    op.create_table('comms_messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.String(length=80), nullable=False),
    sa.Column('template_name', sa.String(length=200), nullable=False),
    sa.Column('audience', sa.String(length=40), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('rendered', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('author', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.String(length=27), nullable=False),
    sa.Column('updated_at', sa.String(length=27), nullable=False),
    sa.Column('submitted_by', sa.String(length=120), nullable=True),
    sa.Column('submitted_at', sa.String(length=27), nullable=True),
    sa.Column('approver', sa.String(length=120), nullable=True),
    sa.Column('approved_at', sa.String(length=27), nullable=True),
    sa.Column('approved_hash', sa.String(length=64), nullable=True),
    sa.Column('rejected_by', sa.String(length=120), nullable=True),
    sa.Column('rejected_at', sa.String(length=27), nullable=True),
    sa.Column('rejection_comment', sa.Text(), nullable=True),
    sa.Column('sent_by', sa.String(length=120), nullable=True),
    sa.Column('sent_at', sa.String(length=27), nullable=True),
    sa.Column('sent_entry_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_comms_messages_incident_id_incidents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sent_entry_id'], ['timeline_entries.id'], name=op.f('fk_comms_messages_sent_entry_id_timeline_entries'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comms_messages')),
    sa.UniqueConstraint('incident_id', 'number', name='uq_comms_messages_incident_number')
    )
    with op.batch_alter_table('comms_messages', schema=None) as batch_op:
        batch_op.create_index('ix_comms_messages_incident_state', ['incident_id', 'state'], unique=False)

    op.create_table('comms_log',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('audience', sa.String(length=40), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=120), nullable=False),
    sa.Column('approver', sa.String(length=120), nullable=True),
    sa.Column('approved_at', sa.String(length=27), nullable=True),
    sa.Column('occurred_at', sa.String(length=27), nullable=False),
    sa.Column('recorded_at', sa.String(length=27), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=True),
    sa.Column('entry_id', sa.String(length=36), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['timeline_entries.id'], name=op.f('fk_comms_log_entry_id_timeline_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_comms_log_incident_id_incidents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['message_id'], ['comms_messages.id'], name=op.f('fk_comms_log_message_id_comms_messages'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comms_log')),
    sa.UniqueConstraint('incident_id', 'seq', name='uq_comms_log_incident_seq')
    )
    with op.batch_alter_table('comms_log', schema=None) as batch_op:
        batch_op.create_index('ix_comms_log_occurred', ['occurred_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('comms_log', schema=None) as batch_op:
        batch_op.drop_index('ix_comms_log_occurred')

    op.drop_table('comms_log')
    with op.batch_alter_table('comms_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_comms_messages_incident_state')

    op.drop_table('comms_messages')
    op.drop_table('regulatory_clocks')
    op.drop_table('stakeholders')
