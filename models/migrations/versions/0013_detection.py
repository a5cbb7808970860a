"""detection: alerts and their history, triage walks, watch lists, maintenance matchers

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-07

Alerts are kept apart from incidents (most never become one); an alert joins an incident through
`alerts.incident_id` when a group is declared. A maintenance window gains matchers and an optional
recurrence (RRULE text anchored to an IANA zone); what Alertmanager is owed for it (a silence) goes
through the existing sync outbox like a status page's scheduled maintenance.
"""
from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"  # chained by merge order (models/migrations/__init__.py)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=120), nullable=True),
        sa.Column("environment", sa.String(length=60), nullable=True),
        sa.Column("team", sa.String(length=120), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("layer", sa.String(length=30), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("runbook_url", sa.String(length=500), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("starts_at", sa.String(length=27), nullable=False),
        sa.Column("ends_at", sa.String(length=27), nullable=True),
        sa.Column("first_seen", sa.String(length=27), nullable=False),
        sa.Column("last_seen", sa.String(length=27), nullable=False),
        sa.Column("fire_count", sa.Integer(), nullable=False),
        sa.Column("acked_by", sa.String(length=120), nullable=True),
        sa.Column("acked_at", sa.String(length=27), nullable=True),
        sa.Column("muted_by", sa.String(length=36), nullable=True),
        sa.Column("during_maintenance", sa.String(length=36), nullable=True),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("generator_url", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_alerts_incident_id_incidents"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_alerts_fingerprint")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_state_starts", ["state", "starts_at"], unique=False)
        batch_op.create_index("ix_alerts_incident", ["incident_id"], unique=False)
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.create_index("ix_alert_events_alert", ["alert_id", "id"], unique=False)
    op.create_table(
        "triage_walks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tree", sa.String(length=80), nullable=False),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("walked_by", sa.String(length=120), nullable=False),
        sa.Column("walked_at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_walks")),
    )
    op.create_table(
        "incident_watches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("service", sa.String(length=120), nullable=False),
        sa.Column("because_of", sa.String(length=120), nullable=False),
        sa.Column("since", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_watches_incident_id_incidents"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_watches")),
        sa.UniqueConstraint("incident_id", "service", name="uq_incident_watches_incident_service"),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matchers", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("recurrence", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
        batch_op.drop_column("recurrence")
        batch_op.drop_column("matchers")
    op.drop_table("incident_watches")
    op.drop_table("triage_walks")
    op.drop_table("alert_events")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_incident")
        batch_op.drop_index("ix_alerts_state_starts")
    op.drop_table("alerts")
