"""The stored records. Plain SQLAlchemy 2 typed models; no I/O beyond the ORM.

Over 500 lines on purpose: one Base and every table in one place, so Alembic and the schema test see them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models import metric_durations, milestone_numbers
from models.enums import Milestone
from models.types import UTCDateTime, new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    incident_type: Mapped[str] = mapped_column(String(64), default="service_outage")
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    affected_users: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_rate_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(64), default="local")
    # Where an imported incident came from, e.g. "statuspage:<page>:<incident>": re-importing a file
    # finds it again instead of making a second copy. None for incidents declared here.
    external_ref: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    impact_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ic_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    bridge_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Milestone pairs known to contradict each other, as [earlier, later] names (e.g. ["mitigated",
    # "resolved"] when the history says resolved came first). Kept as the source had them: only the metrics
    # that use such a pair leave the incident out. Empty for incidents whose milestones are in order.
    flagged_pairs: Mapped[list[list[str]]] = mapped_column(JSON, default=list, server_default="[]")


# Each milestone's time as a number (models/milestone_numbers.py), for the metrics. Added to the table after
# mapping so the ORM never loads or writes them; SQLite triggers keep them equal to the text.
for _m in Milestone:
    Incident.__table__.append_column(
        Column(milestone_numbers.num_column(_m), BigInteger, nullable=True, info={"derived_from": _m.column})
    )
# SQLite only: the metrics run on SQLite, and PostgreSQL has no B-tree order for its JSON columns.
Index(
    milestone_numbers.INDEX_NAME,
    *(
        Incident.__table__.c[n]
        for n in (*milestone_numbers.INDEX_LEADING_COLUMNS, *milestone_numbers.NUM_COLUMNS)
    ),
).ddl_if(dialect="sqlite")
for _sql in milestone_numbers.trigger_statements():
    # DDL formats its text with %: the "%s" of strftime is written "%%s" to reach SQLite as itself.
    event.listen(
        Incident.__table__, "after_create", DDL(_sql.replace("%", "%%")).execute_if(dialect="sqlite")
    )


# Each incident's value for each shipped duration metric (models/metric_durations.py), for the metric tables;
# kept by triggers on incidents, created with the table (SQLite only, where the metrics run).
IncidentDurations, IncidentDurationCounts = metric_durations.define_tables(Base.metadata)
for _sql in metric_durations.trigger_statements():
    event.listen(IncidentDurations, "after_create", DDL(_sql.replace("%", "%%")).execute_if(dialect="sqlite"))


class TimelineEntry(Base):
    """One line of the record. Append-only: rows are never updated or deleted."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq", name="uq_timeline_incident_seq"),
        Index("ix_timeline_incident_kind", "incident_id", "kind"),
        # Only corrections: "which entries of this incident were corrected" without reading them all.
        # (The migration makes it partial on PostgreSQL too; a postgresql_* argument here would import
        # that dialect at every start.)
        Index(
            "ix_timeline_corrections",
            "incident_id",
            "supersedes_id",
            sqlite_where=text("supersedes_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    author: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(64), default="sitrep")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("timeline_entries.id"), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # migration 0021: read in `timezone`; None = the default in resources/rotation.toml
    working_hours: Mapped[str | None] = mapped_column(String(60), nullable=True)
    trained_roles: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class RoleAssignment(Base):
    """Who held a role on an incident, from when to when. Closed, never deleted."""

    __tablename__ = "role_assignments"
    __table_args__ = (Index("ix_roles_incident_role", "incident_id", "role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assigned_by: Mapped[str] = mapped_column(String(120))
    handover_brief: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    checklist_done: Mapped[list[int]] = mapped_column(JSON, default=list)


# -- sync (migration 0003) -----------------------------------------------------------------
class OutboxItem(Base):
    """One thing a backend is owed, written in the same transaction as the change that caused it.

    The integer id orders items: a worker sends each backend's items in id order.
    """

    __tablename__ = "sync_outbox"
    __table_args__ = (
        Index("ix_sync_outbox_lane", "backend", "state", "id"),
        Index("ix_sync_outbox_incident", "incident_id", "backend"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    backend: Mapped[str] = mapped_column(String(40))
    op: Mapped[str] = mapped_column(String(60))
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="RESTRICT"), nullable=True
    )
    entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("timeline_entries.id", ondelete="RESTRICT"), nullable=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Written by the sync layer from the vendor's error message; never holds a credential.
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    remote_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The last attempt may have reached the backend (timeout after sending, crash mid-request).
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)


class RemoteLink(Base):
    """A local record and its counterpart in a backend.

    origin "sitrep": Sitrep made the remote object (so a pull must not bring it back as news);
    origin "remote": someone made it in the backend and a pull copied it onto the timeline.
    """

    __tablename__ = "sync_remote_links"
    __table_args__ = (
        UniqueConstraint("backend", "remote_kind", "remote_id", name="uq_sync_remote_links_remote"),
        Index("ix_sync_remote_links_local", "local_kind", "local_id", "backend"),
        Index("ix_sync_remote_links_incident", "incident_id", "backend"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    backend: Mapped[str] = mapped_column(String(40))
    local_kind: Mapped[str] = mapped_column(String(20))  # "incident" | "entry"
    local_id: Mapped[str] = mapped_column(String(36))
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="RESTRICT"), nullable=True
    )
    remote_kind: Mapped[str] = mapped_column(String(40))
    remote_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    origin: Mapped[str] = mapped_column(String(10), default="sitrep")
    remote_state: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncBackendState(Base):
    """Per-backend lane state shared by every worker on this database: lease, breaker, pull marks."""

    __tablename__ = "sync_backends"

    backend: Mapped[str] = mapped_column(String(40), primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    breaker: Mapped[str] = mapped_column(String(12), default="closed")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    open_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# -- communications (migration 0004) ---------------------------------------------------------
class CommsMessage(Base):
    """A message drafted from a template: its fields, its renderings per channel, and its approval.

    The state moves draft -> pending_approval -> approved -> sent (or rejected, which returns it to
    the drafter). `content_hash` covers what would be sent; an approval holds only for the content it
    saw (`approved_hash`), so an edit after approval needs a new one.
    """

    __tablename__ = "comms_messages"
    __table_args__ = (
        UniqueConstraint("incident_id", "number", name="uq_comms_messages_incident_number"),
        Index("ix_comms_messages_incident_state", "incident_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str] = mapped_column(String(80))
    template_name: Mapped[str] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(40))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recipients: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    rendered: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approver: Mapped[str | None] = mapped_column(String(120), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rejected_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rejection_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("timeline_entries.id", ondelete="RESTRICT"), nullable=True
    )


class Stakeholder(Base):
    """A person or group who must hear about some incidents, and how to reach them."""

    __tablename__ = "stakeholders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    handle: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="person")  # person | group
    group: Mapped[str] = mapped_column(String(40))  # executives, legal, compliance, pr, regulator, vendor...
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    slack: Mapped[str | None] = mapped_column(String(120), nullable=True)  # a channel or member id
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    severities: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: none by severity
    incident_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CommsLogEntry(Base):
    """One line of the stakeholder log: a message sent on one channel, or a contact made outside Sitrep.

    Append-only and hash-chained per incident, like the timeline.
    """

    __tablename__ = "comms_log"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq", name="uq_comms_log_incident_seq"),
        Index("ix_comms_log_occurred", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # message | contact
    direction: Mapped[str] = mapped_column(String(10))  # outbound | inbound
    channel: Mapped[str] = mapped_column(String(40))
    audience: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300), default="")
    content: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(120))
    approver: Mapped[str | None] = mapped_column(String(120), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(
        ForeignKey("comms_messages.id", ondelete="RESTRICT"), nullable=True
    )
    entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("timeline_entries.id", ondelete="RESTRICT"), nullable=True
    )
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class RegulatoryClock(Base):
    """A notification deadline a regime sets on an incident (data from resources/regulatory.toml).

    awaiting: its trigger (e.g. the materiality decision) has not happened yet; running: counting down
    to deadline_at; met: the notice was made; withdrawn: judged not to apply.
    """

    __tablename__ = "regulatory_clocks"
    __table_args__ = (UniqueConstraint("incident_id", "rule_id", name="uq_regulatory_clocks_incident_rule"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    rule_id: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(200))
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the rule as it was applied
    state: Mapped[str] = mapped_column(String(12))
    trigger_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


# -- planned maintenance (migration 0006) ----------------------------------------------------------
class MaintenanceWindow(Base):
    """A planned maintenance window: when, what it touches, who planned it, and where it is now.

    Kept beside incidents, not as one: it has no severity, roles or timeline. Its changes are kept
    in MaintenanceUpdate (append-only), and what a status page is owed goes through the sync outbox
    (items with no incident, their payload naming the window).
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_status_start", "status", "scheduled_for"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # MNT-0007
    title: Mapped[str] = mapped_column(String(255))  # Statuspage's limit for a name
    description: Mapped[str] = mapped_column(Text, default="")  # what will happen, what users notice
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())
    scheduled_until: Mapped[datetime] = mapped_column(UTCDateTime())
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    notify_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    remind_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_in_progress: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_complete: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    planned_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Which alerts the window mutes (services/detection/muting.py), and how it repeats.
    # [{"name", "value", "is_regex", "is_equal"}]; annotated list[Any] so the export reads it as a list
    matchers: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    recurrence: Mapped[str | None] = mapped_column(String(300), nullable=True)  # RRULE text
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)  # IANA zone the RRULE reads in


class MaintenanceUpdate(Base):
    """One change to a maintenance window, in order: planned, rescheduled, edited, an update posted, a
    status moved (here, or on a status page and pulled back). Append-only: rows are never updated."""

    __tablename__ = "maintenance_updates"
    __table_args__ = (UniqueConstraint("maintenance_id", "seq", name="uq_maintenance_updates_window_seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    maintenance_id: Mapped[str] = mapped_column(ForeignKey("maintenance_windows.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    # planned | rescheduled | edited | update | status | cancelled
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))  # the window's status after this change
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> [before, after]
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    author: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(40), default="local")  # "local" or the backend it came from
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExerciseRun(Base):
    """A tabletop exercise held in this store (an exercise store holds one; a real store none).

    The scenario file's text is kept as it was at the start, so the record and its report do not
    change when the file is edited later."""

    __tablename__ = "exercise_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    scenario_id: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    scenario_file: Mapped[str] = mapped_column(String(500))
    scenario_text: Mapped[str] = mapped_column(Text)
    facilitator: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ExerciseEvent(Base):
    """One thing the facilitator did or the exercise clock delivered, append-only: clock moves,
    injects delivered, evaluator notes and marks, ratings, hot-wash findings, corrective actions.
    The exercise's state is these events folded in order."""

    __tablename__ = "exercise_events"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_exercise_events_run_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("exercise_runs.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    scenario_s: Mapped[float] = mapped_column(Float)
    author: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PostIncidentReview(Base):
    """An incident's post-incident review (one per incident): its state, its two clocks, what people
    wrote in it and the meeting. What the record already says (timeline, roles, comms, clocks) is not
    copied here: the document is filled from the record each time it is made, so only what a person
    wrote, decided or attached is kept."""

    __tablename__ = "post_incident_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # draft | in_review | reviewed | closed
    triggers: Mapped[list[str]] = mapped_column(JSON, default=list)  # why it is owed (trigger ids)
    requested_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    meeting_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    publish_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    meeting_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    meeting_minutes: Mapped[int] = mapped_column(Integer, default=30)
    meeting_held_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # section id -> {"text", "by", "at"}: only what people wrote; never overwritten by a fill
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    factors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # {"text", "kind", "whys": [...]}
    evidence: Mapped[list[Any]] = mapped_column(
        JSON, default=list
    )  # {"kind", "ref", "label", "sha256"?, ...}
    attendees: Mapped[list[Any]] = mapped_column(
        JSON, default=list
    )  # {"handle", "name", "email", "timezone", ...}
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # item id -> true
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ActionItem(Base):
    """A post-incident action item: verb-first, owned, due, tracked (a Jira issue when Jira is on)."""

    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_status_due", "status", "due_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # ACT-0007
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(4))  # P1..P4
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True)  # a directory handle
    due_on: Mapped[str | None] = mapped_column(String(10), nullable=True)  # YYYY-MM-DD
    status: Mapped[str] = mapped_column(String(16))  # open | in_progress | done | wont_do
    tracking_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RunbookRun(Base):
    """One use of a runbook: in an incident, or as a fire drill (no incident; excluded from incident
    metrics). Which text was followed is kept: the file's commit and blob, and whether it had uncommitted
    changes."""

    __tablename__ = "runbook_runs"
    __table_args__ = (Index("ix_runbook_runs_runbook", "runbook", "started_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="RESTRICT"), nullable=True
    )
    runbook: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(String(1000))
    commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    blob: Mapped[str] = mapped_column(String(40))
    provenance: Mapped[str] = mapped_column(String(40))
    drill_target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(120))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)


class RunbookStepEvent(Base):
    """A step started, passed, failed, was skipped, dry-run, chosen: append-only, folded in order."""

    __tablename__ = "runbook_step_events"
    __table_args__ = (Index("ix_runbook_step_events_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runbook_runs.id", ondelete="RESTRICT"))
    step: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RunbookFinding(Base):
    """'Update step 4': open on a runbook until a newer version of it is used."""

    __tablename__ = "runbook_findings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    runbook: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))


# -- the record's anchors (migration 0008) --------------------------------------------------
class ChainHead(Base):
    """The newest link of one hash chain (an incident's timeline or its stakeholder log): how many
    entries it has and the last one's hash. Written in the same transaction as each entry, so a
    chain cut short from its end no longer matches its head (services/record/chain_heads.py)."""

    __tablename__ = "chain_heads"

    chain: Mapped[str] = mapped_column(String(20), primary_key=True)  # "timeline" | "stakeholder_log"
    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="RESTRICT"), primary_key=True
    )
    count: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class Alert(Base):
    """One alert as its source identifies it (by fingerprint), normalised to the metadata standard.

    Re-sent copies update the same row; each firing and resolution is one AlertEvent. `incident_id` is set
    when a correlated group is declared (or the alert arrives later for a declared group)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state_starts", "state", "starts_at"),
        Index("ix_alerts_incident", "incident_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(80))
    rule: Mapped[str] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(String(120), nullable=True)
    environment: Mapped[str | None] = mapped_column(String(60), nullable=True)
    team: Mapped[str | None] = mapped_column(String(120), nullable=True)
    severity: Mapped[str] = mapped_column(String(20))
    layer: Mapped[str | None] = mapped_column(String(30), nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    runbook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)  # what the metadata standard missed
    state: Mapped[str] = mapped_column(String(12))  # firing | resolved
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    fire_count: Mapped[int] = mapped_column(Integer, default=1)
    acked_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    muted_by: Mapped[str | None] = mapped_column(String(36), nullable=True)  # a maintenance window id
    during_maintenance: Mapped[str | None] = mapped_column(String(36), nullable=True)  # critical, not muted
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True
    )
    generator_url: Mapped[str | None] = mapped_column(String(500), nullable=True)


class AlertEvent(Base):
    """An alert's history, append-only: fired, resolved, re-fired, acknowledged, muted, silenced."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    event: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")


class TriageWalk(Base):
    """One walk through a triage decision tree from an alert group: the path taken and its outcome."""

    __tablename__ = "triage_walks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tree: Mapped[str] = mapped_column(String(80))
    alert_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(20))  # incident | noise | ticket
    incident_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    walked_by: Mapped[str] = mapped_column(String(120))
    walked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentWatch(Base):
    """A service adjacent to an incident's in the dependency map, watched for spread while it is open."""

    __tablename__ = "incident_watches"
    __table_args__ = (
        UniqueConstraint("incident_id", "service", name="uq_incident_watches_incident_service"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(120))
    because_of: Mapped[str] = mapped_column(String(120))
    since: Mapped[datetime] = mapped_column(UTCDateTime())


# -- severity from impact, delegations of authority (migration 0019) ------------------------
class IncidentImpact(Base):
    """An incident's customer impact as last recorded, and the severity the impact model proposed from it.
    Each change is also a timeline entry (kind impact_change) carrying the same values, so the history
    of the impact is the timeline's; this row is what the header, the metrics and the rules read."""

    __tablename__ = "incident_impacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"), unique=True)
    # {"affected_pct", "error_rate_pct", "journeys", "core_journey", "revenue_per_min", "data_exposure",
    #  "regulatory"}: the impact model's inputs (services/governance/impact_model.py), unknown ones absent
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    proposed_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    explanation: Mapped[str] = mapped_column(Text, default="")
    # what the model proposed when the incident was declared (severity accuracy compares against it)
    first_proposed_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delegation(Base):
    """One delegation of authority: who may do what (declare a major incident, approve external messages,
    authorise spending, talk to regulators), their deputies, who owns the delegation (reviews it), and
    until when it holds. A revoked delegation is kept, for the record."""

    __tablename__ = "delegations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    authority: Mapped[str] = mapped_column(String(40), index=True)
    holder: Mapped[str] = mapped_column(String(120))  # a directory handle
    deputies: Mapped[list[str]] = mapped_column(JSON, default=list)  # directory handles
    owner: Mapped[str] = mapped_column(String(120))  # a directory handle: who confirms, changes or revokes it
    scope: Mapped[str] = mapped_column(Text, default="")
    expires_on: Mapped[str | None] = mapped_column(String(10), nullable=True)  # YYYY-MM-DD, last valid day
    review_due_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_reviewed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Problem(Base):
    """An ITIL problem: the cause behind one or more incidents, kept here or tracked as a Jira issue of the
    problem type (then `remote_key` names it and title/status are as last fetched). A known error is a
    problem whose cause is known and that has a workaround."""

    __tablename__ = "problems"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # PRB-0003
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str | None] = mapped_column(Text, nullable=True)
    workaround: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # open | known_error | resolved
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    remote_backend: Mapped[str | None] = mapped_column(String(40), nullable=True)  # "jira"
    remote_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    remote_status: Mapped[str | None] = mapped_column(String(120), nullable=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DelegationReview(Base):
    """What was done to a delegation, by whom and when: added, confirmed, changed (with what changed) or revoked."""

    __tablename__ = "delegation_reviews"
    __table_args__ = (Index("ix_delegation_reviews_delegation", "delegation_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    delegation_id: Mapped[str] = mapped_column(ForeignKey("delegations.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(16))  # added | confirmed | changed | revoked
    by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProblemLink(Base):
    """An incident's link to its problem. Unlinking keeps the row (inactive, later `updated_at`), so an import
    of an older file does not bring back a link someone removed. Who linked and when is also on the timeline."""

    __tablename__ = "problem_links"
    __table_args__ = (
        UniqueConstraint("incident_id", "problem_id", name="uq_problem_links_incident_problem"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    problem_id: Mapped[str] = mapped_column(ForeignKey("problems.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    linked_by: Mapped[str] = mapped_column(String(120))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChangeLink(Base):
    """A change that may have caused an incident: entered by hand, or a Jira issue of the change type (then
    summary, status and time are as fetched). Unlinking keeps the row inactive, as for problem links."""

    __tablename__ = "change_links"
    __table_args__ = (UniqueConstraint("incident_id", "ref", name="uq_change_links_incident_ref"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"))
    source: Mapped[str] = mapped_column(String(16))  # hand | jira
    ref: Mapped[str] = mapped_column(String(64))  # CHG0030012, OPS-42
    summary: Mapped[str] = mapped_column(String(300))
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ci: Mapped[str] = mapped_column(String(200), default="")  # configuration item or service
    remote_status: Mapped[str | None] = mapped_column(String(120), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    linked_by: Mapped[str] = mapped_column(String(120))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VendorCase(Base):
    """A case opened with a supplier during an incident, held to their contract. The contract's terms are kept
    as they were when the case opened (`terms`), so editing the register later does not move its deadlines.
    Each reply, climb and contact is a timeline entry and a stakeholder log line; this row is the case's state."""

    __tablename__ = "vendor_cases"
    __table_args__ = (Index("ix_vendor_cases_status_opened", "status", "opened_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # VND-0007
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"), index=True)
    vendor_id: Mapped[str] = mapped_column(String(40))
    vendor_name: Mapped[str] = mapped_column(String(200))
    contract_ref: Mapped[str] = mapped_column(String(200))
    priority: Mapped[str] = mapped_column(String(40))
    ticket_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)  # their ticket number
    service: Mapped[str] = mapped_column(String(300), default="")  # what of theirs is affected
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(120))
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    level: Mapped[int] = mapped_column(Integer, default=1)  # the ladder level the case is at
    level_since: Mapped[datetime] = mapped_column(UTCDateTime())
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # resolved | withdrawn
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
