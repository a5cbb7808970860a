"""Plan or edit a maintenance window, and post an update on one (moving its status or not).

Each runs one service call on the GUI thread: it writes the local store and queues what the status page
is owed; the sync worker sends it. Nothing here waits on a network."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QTimeZone
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from models.enums import MaintenanceStatus
from services.detection.muting import parse_matcher_text
from services.maintenance import MaintenanceView
from ui.fields import chain_tab_order, fit_screen
from ui.forms import QuietLabel, ServiceDialog
from ui.timefmt import duration_text, from_qdatetime, to_qdatetime, viewer_zone, zone_offset_text

DATE_FORMAT = "ddd yyyy-MM-dd  HH:mm"
STATUS_HINTS = {
    MaintenanceStatus.IN_PROGRESS: "In progress: the work has begun",
    MaintenanceStatus.VERIFYING: "Verifying: the work is done and being checked",
    MaintenanceStatus.COMPLETED: "Completed: the work is done",
    MaintenanceStatus.CANCELLED: "Cancelled: it will not happen (the status page shows it completed, saying so)",
}


class WindowTimeEdit(QDateTimeEdit):
    """A date and time in the viewer's zone. Tab leaves the field, as in every other form of the console
    (Qt's default walks Tab through the day, month, year, hour and minute); ←/→ move between the parts."""

    def focusNextPrevChild(self, next_: bool) -> bool:  # noqa: N802 (Qt override)
        return QWidget.focusNextPrevChild(self, next_)


def _text_box(parent: QWidget, name: str, placeholder: str, lines: int) -> QPlainTextEdit:
    box = QPlainTextEdit(parent)
    box.setObjectName(name)
    box.setPlaceholderText(placeholder)
    box.setTabChangesFocus(True)
    frame = 2 * (box.frameWidth() + int(box.document().documentMargin())) + 2
    box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + frame)
    return box


def component_hint(ctx, services: list[str]) -> str:
    """Which of these services a status page shows as a component (from its settings, no network)."""
    parts = []
    for label, cmap in ctx.sitrep.sync.maintenance_component_maps().items():
        if not services:
            parts.append(f"{label}: no components will be marked.")
            continue
        shown = [s for s in services if s in cmap]
        missing = [s for s in services if s not in cmap]
        text = f"{label} marks {', '.join(shown) or 'no component'}"
        if missing:
            text += f"; {', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no component there"
        parts.append(text + ".")
    return " ".join(parts) or "No status page is set up: the window stays in Sitrep until one is."


class MaintenanceDialog(ServiceDialog):
    """Plan a window, or edit one (`window` given)."""

    def __init__(self, ctx, parent: QWidget | None = None, window: MaintenanceView | None = None) -> None:
        super().__init__(ctx, "Edit maintenance window" if window else "Plan maintenance", parent)
        self.setObjectName("dialog-maintenance")
        self.window_view = window
        self.ok_button.setText("&Save" if window else "&Plan")
        now = ctx.sitrep.now()
        # A new window is offered two hours ahead, on the hour, for two hours: edited from there.
        start = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(hours=2)
        if window is not None:
            start, end = window.scheduled_for, window.scheduled_until

        self.title_edit = QLineEdit(window.title if window else "", self)
        self.title_edit.setObjectName("maintenance-title")
        self.title_edit.setPlaceholderText(
            "What is done, to what (e.g. Database upgrade: checkout read-only)"
        )
        self.title_edit.setMaxLength(255)
        self.start_edit = self._when_edit("maintenance-start", start)
        self.end_edit = self._when_edit("maintenance-end", end)
        self.window_preview = QuietLabel("", self)
        self.window_preview.setObjectName("maintenance-window-preview")
        self.services = QLineEdit(", ".join(window.services) if window else "", self)
        self.services.setObjectName("maintenance-services")
        self.services.setPlaceholderText("checkout, payments-api (comma separated)")
        self.component_preview = QuietLabel("", self)
        self.component_preview.setObjectName("maintenance-components")
        self.description = _text_box(self, "maintenance-description",
                                     "What will happen and what users will notice (the first update subscribers read)", 4)  # fmt: skip
        if window:
            self.description.setPlainText(window.description)
        self.notify = QCheckBox("&Notify subscribers", self)
        self.remind = QCheckBox("&Remind subscribers before it starts", self)
        self.auto_start = QCheckBox("Mark it in progress &automatically at the start", self)
        self.auto_complete = QCheckBox("Mark it &completed automatically at the end", self)
        for box, value in ((self.notify, window.notify_subscribers if window else True),
                           (self.remind, window.remind_subscribers if window else True),
                           (self.auto_start, window.auto_in_progress if window else True),
                           (self.auto_complete, window.auto_complete if window else True)):  # fmt: skip
            box.setChecked(value)
        # Alert muting and recurrence are set when the window is planned (services/detection/muting.py).
        self.matchers = QLineEdit(self)
        self.matchers.setObjectName("maintenance-matchers")
        self.matchers.setPlaceholderText("service=~search|redis-cache; env=production  (critical alerts still notify)")
        self.recurrence = QLineEdit(self)
        self.recurrence.setObjectName("maintenance-recurrence")
        self.recurrence.setPlaceholderText("Optional: FREQ=WEEKLY;BYDAY=SU (keeps its local time across DST)")
        self.time_zone = QLineEdit(bytes(QTimeZone.systemTimeZoneId().data()).decode() or "UTC", self)
        self.time_zone.setObjectName("maintenance-time-zone")
        self.backfill = QCheckBox("Record one that already &happened (backfill)", self)
        self.backfill.setObjectName("maintenance-backfill")
        self.message = None
        if window is not None:
            self.message = _text_box(self, "maintenance-change-message",
                                     "Optional: tell subscribers about this change (e.g. why it moved)", 2)  # fmt: skip
            if window.status is not MaintenanceStatus.SCHEDULED:
                self.start_edit.setEnabled(False)
                self.start_edit.setToolTip("It has started: only its end can move.")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        def row(text: str, widget: QWidget, *fields: str, extra: QWidget | None = None) -> None:
            label = QLabel(text, self)
            label.setBuddy(widget)
            form.addRow(label, widget)
            if extra is not None:
                form.addRow("", extra)
            if fields:
                form.addRow("", self.field_error(*fields, focus=widget))

        row("&Title:", self.title_edit, "title")
        row("&Starts:", self.start_edit, "scheduled_for")
        row("&Ends:", self.end_edit, "scheduled_until", extra=self.window_preview)
        row("Ser&vices:", self.services, "services", extra=self.component_preview)
        row("&Description:", self.description, "description")
        if self.message is not None:
            row("&Message:", self.message, "message")
        if window is None:
            row("&Mute alerts:", self.matchers, "matchers")
            row("Re&peats:", self.recurrence, "recurrence")
            row("Time &zone:", self.time_zone, "time_zone")
        else:
            for w in (self.matchers, self.recurrence, self.time_zone):
                w.hide()
        for box in (self.notify, self.remind, self.auto_start, self.auto_complete):
            form.addRow("", box)
        if window is None:
            form.addRow("", self.backfill)
        else:
            self.backfill.hide()
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addStretch(1)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        chain_tab_order(self.title_edit, self.start_edit, self.end_edit, self.services, self.description,
                        self.message, *((self.matchers, self.recurrence, self.time_zone) if window is None else ()), self.notify, self.remind, self.auto_start, self.auto_complete,
                        self.backfill if window is None else None)  # fmt: skip

        self.start_edit.dateTimeChanged.connect(self._start_moved)
        self.end_edit.dateTimeChanged.connect(self._update_preview)
        self.services.textChanged.connect(self._update_components)
        self._length = end - start
        self._update_preview()
        self._update_components()
        em = self.fontMetrics().averageCharWidth()
        self.resize(fit_screen(self, em * 96, self.sizeHint().height()))
        self.title_edit.setFocus()

    def _when_edit(self, name: str, value: datetime) -> QDateTimeEdit:
        edit = WindowTimeEdit(to_qdatetime(value), self)
        edit.setObjectName(name)
        edit.setDisplayFormat(DATE_FORMAT)
        edit.setCalendarPopup(True)
        edit.setToolTip("Your time zone. ←/→ choose the part, ↑/↓ or digits change it, F4 opens the calendar")
        return edit

    def _start_moved(self, *_args) -> None:
        # Moving the start carries the end along, so the window keeps its length.
        self.end_edit.blockSignals(True)
        self.end_edit.setDateTime(to_qdatetime(self.start() + self._length))
        self.end_edit.blockSignals(False)
        self._update_preview()

    def start(self) -> datetime:
        return from_qdatetime(self.start_edit.dateTime())

    def end(self) -> datetime:
        return from_qdatetime(self.end_edit.dateTime())

    def set_times(self, start: datetime, end: datetime) -> None:
        self.start_edit.setDateTime(to_qdatetime(start))
        self.end_edit.setDateTime(to_qdatetime(end))

    def _update_preview(self, *_args) -> None:
        start, end = self.start(), self.end()
        if end > start:
            self._length = end - start
        local = start.astimezone(viewer_zone())
        utc = (
            f"{start:%H:%M}–{end:%H:%M} UTC"
            if start.date() == end.date()
            else f"{start:%a %H:%M} – {end:%a %H:%M} UTC"
        )
        length = duration_text(end - start) if end > start else "ends before it starts"
        self.window_preview.setText(f"{length}; your time is {zone_offset_text(local)} ({utc})")

    def _update_components(self, *_args) -> None:
        self.component_preview.setText(component_hint(self.ctx, self._services()))

    def _services(self) -> list[str]:
        return [s.strip() for s in self.services.text().split(",") if s.strip()]

    def apply(self) -> str:
        svc = self.ctx.sitrep.maintenance
        values = {
            "title": self.title_edit.text(),
            "description": self.description.toPlainText(),
            "services": self._services(),
            "notify_subscribers": self.notify.isChecked(),
            "remind_subscribers": self.remind.isChecked(),
            "auto_in_progress": self.auto_start.isChecked(),
            "auto_complete": self.auto_complete.isChecked(),
        }
        if self.window_view is None:
            matchers = [parse_matcher_text(t) for t in self.matchers.text().split(";") if t.strip()]
            view = svc.plan(values.pop("title"), self.start(), self.end(), author=self.ctx.author,
                            backfill=self.backfill.isChecked(), matchers=matchers,
                            recurrence=self.recurrence.text(), time_zone=self.time_zone.text(), **values)  # fmt: skip
            self.result_value = view
            return f"Planned {view.key}: {view.title}. It is queued for the status page."
        w = self.window_view
        if self.start_edit.isEnabled():
            values["scheduled_for"] = self.start()
        values["scheduled_until"] = self.end()
        view = svc.edit(w.id, author=self.ctx.author, message=self.message.toPlainText() if self.message else "",
                        **values)  # fmt: skip
        self.result_value = view
        return f"Saved {view.key}: {view.title}."


class MaintenanceUpdateDialog(ServiceDialog):
    """Post an update on a window: a message, a new status, or both."""

    ok_text = "&Post"

    def __init__(self, ctx, window: MaintenanceView, parent: QWidget | None = None,
                 status: MaintenanceStatus | None = None) -> None:  # fmt: skip
        super().__init__(ctx, f"Update {window.key}", parent)
        self.setObjectName("dialog-maintenance-update")
        self.window_view = window
        about = QLabel(f"<b>{window.key}</b> {window.title} — {window.status.label.lower()}", self)
        about.setWordWrap(True)
        self.status_combo = QComboBox(self)
        self.status_combo.setObjectName("maintenance-update-status")
        self.status_combo.addItem(f"Keep it {window.status.label.lower()}", None)
        for s in window.next_statuses:
            self.status_combo.addItem(STATUS_HINTS.get(s, s.label), s.value)
        if status is not None:
            index = self.status_combo.findData(status.value)
            if index >= 0:
                self.status_combo.setCurrentIndex(index)
        self.message = _text_box(self, "maintenance-update-message", "", 5)
        self.notify = QCheckBox("&Notify subscribers", self)
        self.notify.setChecked(window.notify_subscribers)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        status_label = QLabel("&Status:", self)
        status_label.setBuddy(self.status_combo)
        message_label = QLabel("&Message:", self)
        message_label.setBuddy(self.message)
        form.addRow(status_label, self.status_combo)
        form.addRow("", self.field_error("status", focus=self.status_combo))
        form.addRow(message_label, self.message)
        form.addRow("", self.field_error("message", focus=self.message))
        form.addRow("", self.notify)
        lay = QVBoxLayout(self)
        lay.addWidget(about)
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        chain_tab_order(self.status_combo, self.message, self.notify)
        self.status_combo.currentIndexChanged.connect(self._status_changed)
        self._status_changed()
        em = self.fontMetrics().averageCharWidth()
        self.resize(fit_screen(self, em * 80, self.sizeHint().height()))
        (self.message if status is None else self.status_combo).setFocus()

    def _status_changed(self, *_args) -> None:
        status = self.status_combo.currentData()
        if status is None:
            self.message.setPlaceholderText("How the work goes, in words subscribers understand")
        else:
            self.message.setPlaceholderText(
                "Optional: empty posts the status page's standard words for this status"
            )
        cancelling = status == MaintenanceStatus.CANCELLED.value
        self.ok_button.setText("&Post cancellation" if cancelling else "&Post")

    def choose_status(self, status: MaintenanceStatus | None) -> None:
        self.status_combo.setCurrentIndex(
            max(self.status_combo.findData(status.value if status else None), 0)
        )

    def apply(self) -> str:
        status = self.status_combo.currentData()
        view = self.ctx.sitrep.maintenance.post_update(
            self.window_view.id, self.message.toPlainText(), author=self.ctx.author, status=status,
            notify=self.notify.isChecked(),
        )  # fmt: skip
        self.result_value = view
        if status is None:
            return f"Update posted on {view.key}; it is queued for the status page."
        return f"{view.key} is now {view.status.label.lower()}; queued for the status page."
