"""The responder directory: who can be given a role, how to reach them, and what time it is for them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from services.changes import Topic
from services.errors import NotFound, SitrepError, StoreError, ValidationError
from services.record.views import PersonView
from services.rotation.hours import WorkingHours
from ui.dialogs.directory import DirectoryDialog, open_single
from ui.fields import ErrorLabel, ZoneChoice
from ui.item_models.rows import RowsModel
from ui.timefmt import person_local_time

COLUMNS = ("Name", "Handle", "E-mail", "Phone", "Time zone", "Their time now")
COL_NAME, COL_HANDLE, COL_EMAIL, COL_PHONE, COL_TZ, COL_LOCAL = range(len(COLUMNS))
PersonRole = Qt.ItemDataRole.UserRole + 1
FIELDS = ("name", "handle", "email", "phone", "timezone", "working_hours", "trained_roles")


class PeopleModel(RowsModel):
    """The directory as plain PersonView rows, filtered by a text that matches any column."""

    def __init__(self, now: Callable[[], datetime], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now = now
        self._all: list[PersonView] = []
        self.rows: list[PersonView] = []
        self._needle = ""

    def set_people(self, people: list[PersonView]) -> None:
        self.beginResetModel()
        self._all = list(people)
        self.rows = self._filtered()
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        needle = text.strip().lower()
        if needle != self._needle:
            self.beginResetModel()
            self._needle = needle
            self.rows = self._filtered()
            self.endResetModel()

    def _filtered(self) -> list[PersonView]:
        if not self._needle:
            return list(self._all)
        n = self._needle.lstrip("@")
        return [
            p
            for p in self._all
            if n in p.name.lower()
            or n in p.handle.lower()
            or n in (p.email or "").lower()
            or n in p.timezone.lower()
        ]

    def person(self, row: int) -> PersonView | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, handle: str) -> int | None:
        for i, p in enumerate(self.rows):
            if p.handle == handle:
                return i
        return None

    def tick(self) -> None:
        """Time moved on: repaint the 'their time now' column."""
        if self.rows:
            self.dataChanged.emit(
                self.index(0, COL_LOCAL),
                self.index(len(self.rows) - 1, COL_LOCAL),
                [Qt.ItemDataRole.DisplayRole],
            )

    headers = COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        p = self.person(index.row())
        if p is None:
            return None
        col = index.column()
        if role == PersonRole:
            return p
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_NAME:
                return p.name
            if col == COL_HANDLE:
                return f"@{p.handle}"
            if col == COL_EMAIL:
                return p.email or ""
            if col == COL_PHONE:
                return p.phone or ""
            if col == COL_TZ:
                return p.timezone
            if col == COL_LOCAL:
                return person_local_time(p.timezone, self._now())
            return None
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_LOCAL:
            return f"The time on {p.name}'s wall clock ({p.timezone})"
        return None


class PersonEditor(QDialog):
    """Add a responder, or change one. Each field shows its own error, in the service's words."""

    def __init__(self, ctx, person: PersonView | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person = person
        self.saved: PersonView | None = None
        self.setWindowTitle(f"Edit {person.name}" if person else "Add a responder")
        self.setObjectName("person-editor")

        self.name = QLineEdit(self)
        self.name.setObjectName("person-name")
        self.name.setPlaceholderText("Ana Ruiz")
        self.handle = QLineEdit(self)
        self.handle.setObjectName("person-handle")
        self.handle.setPlaceholderText("ana.ruiz")
        self.email = QLineEdit(self)
        self.email.setObjectName("person-email")
        self.email.setPlaceholderText("ana@example.com (optional)")
        self.phone = QLineEdit(self)
        self.phone.setObjectName("person-phone")
        self.phone.setPlaceholderText("+34 600 000 000 (optional)")
        self.local_time = QLabel(self)
        self.local_time.setObjectName("person-local-time")
        self.timezone = ZoneChoice(self, "person-timezone", ctx.sitrep.now, self.local_time)
        self.working_hours = QLineEdit(self)  # rotation: read in the person's own time zone
        self.working_hours.setObjectName("person-working-hours")
        self.working_hours.setPlaceholderText(f"{ctx.sitrep.rotation.rules.default_hours.text} (the default)")
        self.trained_roles = QLineEdit(self)
        self.trained_roles.setObjectName("person-trained-roles")
        self.trained_roles.setPlaceholderText(", ".join(list(ctx.sitrep.catalog.roles)[:3]) + " (role ids)")
        self.trained_roles.setToolTip("The roles they are trained for, comma-separated: "
                                      + ", ".join(ctx.sitrep.catalog.roles))  # fmt: skip

        self.errors: dict[str, ErrorLabel] = {f: ErrorLabel(self, name=f"error-{f}") for f in FIELDS}
        self.general_error = ErrorLabel(self, name="error-general")
        self.inputs: dict[str, QWidget] = {
            "name": self.name,
            "handle": self.handle,
            "email": self.email,
            "phone": self.phone,
            "timezone": self.timezone,
            "working_hours": self.working_hours,
            "trained_roles": self.trained_roles,
        }
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for label, key in (
            ("&Name:", "name"),
            ("&Handle:", "handle"),
            ("&E-mail:", "email"),
            ("&Phone:", "phone"),
            ("&Time zone:", "timezone"),
            ("&Working hours:", "working_hours"),
            ("Trained &for:", "trained_roles"),
        ):
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(self.inputs[key])
            if key == "timezone":
                column.addWidget(self.local_time)
            column.addWidget(self.errors[key])
            caption = QLabel(label, self)
            caption.setBuddy(self.inputs[key])
            form.addRow(caption, column)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(buttons)

        for key, widget in self.inputs.items():  # an error goes away as soon as its field is edited
            signal = widget.editTextChanged if isinstance(widget, QComboBox) else widget.textEdited
            signal.connect(lambda _text, k=key: self.errors[k].show_error(None))

        if person is not None:
            self.name.setText(person.name)
            self.handle.setText(person.handle)
            self.email.setText(person.email or "")
            self.phone.setText(person.phone or "")
            self.set_timezone(person.timezone)
            self.working_hours.setText(person.working_hours or "")
            self.trained_roles.setText(", ".join(person.trained_roles))
        else:
            self.set_timezone("UTC")
        self.resize(self.sizeHint().expandedTo(self.fontMetrics().size(0, "M" * 44)))

    def set_timezone(self, name: str) -> None:
        self.timezone.set_zone(name)

    def show_error(self, err: SitrepError) -> None:
        for label in (*self.errors.values(), self.general_error):
            label.show_error(None)
        target = self.errors.get(err.field or "")
        if target is None:
            self.general_error.show_error(err.message)
            return
        target.show_error(err.message)
        field = self.inputs[err.field]
        field.setFocus(Qt.FocusReason.OtherFocusReason)
        if isinstance(field, QLineEdit):
            field.selectAll()

    def submit(self) -> bool:
        for label in (*self.errors.values(), self.general_error):
            label.show_error(None)
        people = self.ctx.sitrep.people
        values = {
            "name": self.name.text(),
            "email": self.email.text(),
            "phone": self.phone.text(),
            "timezone": self.timezone.currentText(),
        }
        roles = [r.strip() for r in self.trained_roles.text().split(",") if r.strip()]
        try:
            # The rotation fields are checked before anything is saved, so a typo there loses nothing.
            if self.working_hours.text().strip():
                WorkingHours.parse(self.working_hours.text())
            for r in roles:
                try:
                    self.ctx.sitrep.catalog.role(r)
                except NotFound as err:
                    raise ValidationError(err.message, field="trained_roles") from None
            if self.person is None:
                self.saved = people.add(handle=self.handle.text(), **values)
            else:
                self.saved = people.update(self.person.handle, new_handle=self.handle.text(), **values)
            self.saved = self.ctx.sitrep.rotation.set_profile(
                self.saved.handle, working_hours=self.working_hours.text(), trained_roles=roles
            )
        except StoreError as err:
            self.general_error.show_error(err.message)
            return False
        except SitrepError as err:
            self.show_error(err)
            return False
        self.ctx.status_message(
            f"{'Added' if self.person is None else 'Saved'} {self.saved.name} (@{self.saved.handle}).",
            timeout_ms=4000,
        )
        self.accept()
        return True


class PeopleDialog(DirectoryDialog):
    """Browse, add and edit responders. Stays in step with changes made elsewhere (the CLI, an import)."""

    prefix = "people"
    noun = "responder"
    topics = frozenset({Topic.PEOPLE, Topic.EXTERNAL})

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(ctx, PeopleModel(ctx.sitrep.now), parent)
        self.model.setParent(self)
        self.setObjectName("people-dialog")
        self.build(
            title="Responder directory",
            find_hint="Find a responder by name, handle, e-mail or zone",
            find_name="Find a responder",
            table_name="Responders",
            column_samples=(
                (COL_NAME, "Alexandra Example"),
                (COL_HANDLE, "@alexandra.ex"),
                (COL_EMAIL, "alexandra@example.com"),
                (COL_PHONE, "+44 20 7946 0000"),
                (COL_TZ, "America/Los_Angeles"),
                (COL_LOCAL, "Fri 13:05 (UTC+05:30)"),
            ),
            add_text="&Add responder…",
            error_name="people-error",
        )
        self.filter.textChanged.connect(self.model.set_filter)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self.model.tick)
        self._clock.start()
        self.reload()

    def read_rows(self) -> list[PersonView]:
        return self.ctx.sitrep.people.list()

    def show_rows(self, rows: list[PersonView]) -> None:
        self.model.set_people(rows)

    def total(self) -> int:
        return len(self.model._all)

    def new_editor(self, person: PersonView | None) -> PersonEditor:
        return PersonEditor(self.ctx, person, self)

    # The names the console and its tests know this window's editor by.
    person_editor = DirectoryDialog.editor_for
    edit_person = DirectoryDialog.edit


def open_people_dialog(ctx, parent: QWidget | None = None) -> PeopleDialog:
    """The directory, one per window: a second Ctrl+Shift+P brings the open one forward."""
    return open_single(ctx, "people_dialog", PeopleDialog, parent)
