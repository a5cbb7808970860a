"""Dialogs of the post-incident review: an action item, the meeting, a move of the review's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDate, QDateTime, Qt, QTimeZone
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
)

from services.record.views import IncidentView
from services.review.actions import CATEGORIES, PRIORITIES
from services.review.meeting import local_times
from ui.forms import QuietLabel, ServiceDialog


def _owner_combo(ctx, parent) -> QComboBox:
    combo = QComboBox(parent)
    combo.addItem("(nobody yet)", None)
    for p in ctx.sitrep.people.list():
        combo.addItem(f"{p.name} (@{p.handle})", p.handle)
    return combo


class ActionItemDialog(ServiceDialog):
    """A new action item: verb-first title, category, priority, owner from the directory, due date."""

    ok_text = "Add action item"

    def __init__(self, ctx, incident: IncidentView, parent=None) -> None:
        super().__init__(ctx, f"Add an action item — {incident.key}", parent)
        self.setObjectName("dialog-action-item")
        self.incident = incident
        self.title = QLineEdit(self)
        self.title.setObjectName("action-title")
        self.title.setPlaceholderText("Start with a verb: Add an alert on …, Remove …, Document …")
        self.category = QComboBox(self)
        self.category.setObjectName("action-category")
        self.category.addItems(CATEGORIES)
        self.priority = QComboBox(self)
        self.priority.setObjectName("action-priority")
        self.priority.addItems(PRIORITIES)
        self.priority.setCurrentText("P2")
        self.owner = _owner_combo(ctx, self)
        self.owner.setObjectName("action-owner")
        self.due = QDateEdit(self)
        self.due.setObjectName("action-due")
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("yyyy-MM-dd")
        today = ctx.sitrep.now().date()
        self.due.setDate(QDate(today.year, today.month, today.day).addDays(14))
        form = QFormLayout()
        form.addRow("&Title", self.title)
        form.addRow("", self.field_error("title", focus=self.title))
        form.addRow("&Category", self.category)
        form.addRow("&Priority", self.priority)
        form.addRow("&Owner", self.owner)
        form.addRow("", self.field_error("owner", focus=self.owner))
        form.addRow("&Due", self.due)
        form.addRow("", self.field_error("due", focus=self.due))
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def apply(self):
        item = self.ctx.sitrep.action_items.add(
            self.incident.key, self.title.text(), category=self.category.currentText(),
            priority=self.priority.currentText(), owner=self.owner.currentData(),
            due_on=self.due.date().toString("yyyy-MM-dd"), author=self.ctx.author,
        )  # fmt: skip
        self.result_value = item
        return f"{item.key} added."


class ScheduleMeetingDialog(ServiceDialog):
    """When, how long, and who: the incident's role holders first (ticked), then the directory, each with
    their time zone and the meeting on their own clock."""

    ok_text = "Schedule"

    def __init__(self, ctx, incident: IncidentView, parent=None) -> None:
        super().__init__(ctx, f"Schedule the review meeting — {incident.key}", parent)
        self.setObjectName("dialog-review-meeting")
        self.incident = incident
        review = ctx.sitrep.reviews.get(incident.key)
        start = review.meeting_at or min(ctx.sitrep.now() + timedelta(hours=24), review.meeting_due_at)
        self.when = QDateTimeEdit(self)
        self.when.setObjectName("meeting-when")
        self.when.setCalendarPopup(True)
        self.when.setTimeZone(QTimeZone.utc())
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
        self.when.setDateTime(QDateTime.fromSecsSinceEpoch(int(start.timestamp()), QTimeZone.utc()))
        self.minutes = QSpinBox(self)
        self.minutes.setObjectName("meeting-minutes")
        self.minutes.setRange(10, 240)
        self.minutes.setValue(int(review.row.get("meeting_minutes") or 30))
        self.minutes.setSuffix(" min")
        self.due = QuietLabel(f"Due by {review.meeting_due_at:%a %d %b %H:%M} UTC", self)
        self.people = QListWidget(self)
        self.people.setObjectName("meeting-attendees")
        self.people.setAccessibleName("Attendees")
        holders = {}
        for h in ctx.sitrep.roles.history(incident.id):
            holders.setdefault(h.person.handle, []).append(h.role)
        invited = {p["handle"] for p in review.row.get("attendees") or []}
        directory = ctx.sitrep.people.list()
        directory.sort(key=lambda p: (p.handle not in holders, p.name))
        for p in directory:
            roles = ", ".join(dict.fromkeys(holders.get(p.handle, [])))
            item = QListWidgetItem(f"{p.name} — {p.timezone}" + (f" — {roles}" if roles else ""))
            item.setData(Qt.ItemDataRole.UserRole, p.handle)
            item.setData(Qt.ItemDataRole.UserRole + 1, {"name": p.name, "timezone": p.timezone})
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = p.handle in invited if invited else p.handle in holders
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self.people.addItem(item)
        self.local = QuietLabel("", self)
        self.local.setObjectName("meeting-local-times")
        self.when.dateTimeChanged.connect(self._show_local)
        self.people.itemChanged.connect(self._show_local)
        form = QFormLayout()
        form.addRow("&When", self.when)
        form.addRow("", self.due)
        form.addRow("&Length", self.minutes)
        form.addRow("", self.field_error("minutes", focus=self.minutes))
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QuietLabel("&Attendees (role holders first; each with their time zone):", self))
        lay.addWidget(self.people, 1)
        lay.addWidget(self.field_error("attendees", "handle", focus=self.people))
        lay.addWidget(self.local)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.resize(620, 560)
        self._show_local()

    def _at(self) -> datetime:
        return datetime.fromtimestamp(self.when.dateTime().toSecsSinceEpoch(), tz=UTC)

    def chosen(self) -> list[str]:
        out = []
        for i in range(self.people.count()):
            item = self.people.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def _show_local(self, *_args) -> None:
        people = [self.people.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in range(self.people.count())
                  if self.people.item(i).checkState() == Qt.CheckState.Checked]  # fmt: skip
        self.local.setText("\n".join(local_times(self._at(), people)[:8]))

    def apply(self):
        review = self.ctx.sitrep.reviews.schedule(self.incident.key, self._at(), self.chosen(),
                                                  minutes=self.minutes.value(), author=self.ctx.author)  # fmt: skip
        self.result_value = review
        return f"Review meeting scheduled for {self._at():%a %d %b %H:%M} UTC."


class OverrideDialog(ServiceDialog):
    """Mark a review Reviewed although its checklist is not met: the reason goes on the record."""

    ok_text = "Mark reviewed"

    def __init__(self, ctx, incident: IncidentView, unmet: list[str], parent=None) -> None:
        super().__init__(ctx, f"Override the review checklist — {incident.key}", parent)
        self.incident = incident
        self.reason = QLineEdit(self)
        self.reason.setObjectName("override-reason")
        lay = QVBoxLayout(self)
        lay.addWidget(QuietLabel("Not met:\n" + "\n".join(f"• {u}" for u in unmet), self))
        form = QFormLayout()
        form.addRow("&Reason", self.reason)
        lay.addLayout(form)
        lay.addWidget(self.field_error("override_reason", focus=self.reason))
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def apply(self):
        self.ctx.sitrep.reviews.set_status(self.incident.key, "reviewed", author=self.ctx.author,
                                           override_reason=self.reason.text())  # fmt: skip
        return "Review marked Reviewed (checklist overridden; the reason is on the record)."
