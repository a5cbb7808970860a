"""A time field of a message draft with a picker beside it: the calendar and clock instead of typing
"22:29 UTC, 06 Dec 2026" by hand. The picked time is written the way the template's times are (the
audience's zone, with UTC beside it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.comms.settings import format_time
from ui.timefmt import from_qdatetime, to_qdatetime

# Fields holding a time: the incident's milestones, "now" and when the next update is due.
TIME_FIELDS = frozenset({"started_at", "detected_at", "declared_at", "mitigated_at", "resolved_at", "now",
                         "next_update_at"})  # fmt: skip


def is_time_field(name: str) -> bool:
    return name in TIME_FIELDS or name.endswith("_at")


class TimePickerDialog(QDialog):
    def __init__(self, now, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pick a date and time")
        self.edit = QDateTimeEdit(to_qdatetime(now), self)
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("ddd dd MMM yyyy  HH:mm")
        self.edit.setAccessibleName("Date and time (your time zone)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.edit)
        lay.addWidget(buttons)

    def value(self):
        return from_qdatetime(self.edit.dateTime())


def with_time_picker(edit: QLineEdit, now: Callable, zone: Callable[[], str], parent: QWidget) -> QWidget:
    """The line edit and a "Pick…" button in one row; picking writes the time in the message's zone."""
    row = QWidget(parent)
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(4)
    edit.setParent(row)
    lay.addWidget(edit, 1)
    button = QToolButton(row)
    button.setText("Pick…")
    button.setToolTip("Choose the date and time on a calendar")
    button.setAccessibleName(f"Pick {edit.accessibleName()}")
    lay.addWidget(button)

    def pick() -> None:
        dialog = TimePickerDialog(now(), row)
        row.picker = dialog  # for tests and screen readers: the open picker
        if dialog.exec():
            edit.setText(format_time(dialog.value(), zone() or "UTC"))

    button.clicked.connect(pick)
    row.pick_button = button
    return row



