"""The stakeholder registry: the people and lists who must hear about incidents, and how to reach them.

A communications lead keeps it during quiet times and reaches for it mid-incident: find the regulator's
desk, add the vendor's escalation contact, retire a departed executive. Nobody is ever deleted (the
stakeholder log names them); someone who should no longer hear is deactivated. Every rule is the comms
service's; the editor shows each refusal under the field it concerns.

Longer than ~500 lines: the registry window, its editor (a long form with per-field refusals) and the picker
the comms panel uses share the group and type vocabulary defined here.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change, Topic
from services.comms.settings import AUDIENCE_GROUPS, STAKEHOLDER_GROUPS
from services.comms.views import StakeholderView
from services.errors import SitrepError, StoreError
from services.record.incidents import INCIDENT_TYPES
from services.record.views import IncidentView
from ui.dialogs.directory import DirectoryDialog, open_single
from ui.fields import ZoneChoice, chain_tab_order, fit_screen
from ui.forms import QuietLabel, ServiceDialog, quiet_colour
from ui.item_models.rows import RowsModel

GROUP_LABELS = {
    "executives": "Executives",
    "legal": "Legal",
    "compliance": "Compliance",
    "pr": "PR and press",
    "customer_success": "Customer success",
    "security": "Security",
    "support": "Support",
    "customer": "Customers",
    "regulator": "Regulators",
    "vendor": "Vendors and suppliers",
}
TYPE_LABELS = {
    "service_outage": "Service outage",
    "degraded_performance": "Degraded performance",
    "security": "Security incident",
    "data_breach": "Data breach",
    "data_loss": "Data loss",
    "vendor_outage": "Vendor outage",
    "change_failure": "Failed change",
    "other": "Other",
}
KIND_LABELS = {"person": "A person", "group": "A group or mailing list"}

COLUMNS = ("Name", "Handle", "Group", "E-mail", "Phone", "Slack", "Time zone", "Must hear about", "Status")
(COL_NAME, COL_HANDLE, COL_GROUP, COL_EMAIL, COL_PHONE, COL_SLACK, COL_TZ, COL_HEARS, COL_STATUS) = range(
    len(COLUMNS)
)
StakeholderRole = Qt.ItemDataRole.UserRole + 1


def group_label(group: str) -> str:
    return GROUP_LABELS.get(group, group.replace("_", " ").capitalize())


def group_id(text: str) -> str:
    """What a person typed or chose in the group box, as the registry stores it."""
    typed = text.strip()
    for gid, label in GROUP_LABELS.items():
        if typed.lower() in (label.lower(), gid):
            return gid
    return typed


def hears_text(sv: StakeholderView) -> str:
    parts = list(sv.severities) + [TYPE_LABELS.get(t, t) for t in sv.incident_types]
    return ", ".join(parts)


def audience_for(group: str, audiences: dict) -> str | None:
    """The audience a contact with someone in this group belongs to: the narrowest one naming it."""
    fits = [
        (len(groups), aid) for aid, groups in AUDIENCE_GROUPS.items() if group in groups and aid in audiences
    ]
    return min(fits)[1] if fits else None


def must_hear_handles(ctx, incident: IncidentView | None) -> set[str]:
    """Who must hear about this incident: by its severity, its type, or its applied escalation path."""
    if incident is None:
        return set()
    comms = ctx.sitrep.comms
    path, _people, applied = comms.escalation(incident.id)
    extra = path.groups if path is not None and applied else ()
    return {sv.handle for sv in comms.must_hear(incident, extra_groups=extra)}


class StakeholdersModel(RowsModel):
    """The registry as plain StakeholderView rows, filtered by text, group, activity and who must hear."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._all: list[StakeholderView] = []
        self.rows: list[StakeholderView] = []
        self._needle = ""
        self._group: str | None = None
        self._inactive = False
        self._only: set[str] | None = None

    # -- contents and filters ------------------------------------------------------------------
    def set_stakeholders(self, rows: list[StakeholderView]) -> None:
        self.beginResetModel()
        self._all = list(rows)
        self.rows = self._filtered()
        self.endResetModel()

    def set_filter(self, *, text: str | None = None, group: str | None | bool = False,
                   inactive: bool | None = None, only: set[str] | None | bool = False) -> None:  # fmt: skip
        """Change any of the filters (False: leave that one as it is)."""
        if text is not None:
            self._needle = text.strip().lower().lstrip("@")
        if group is not False:
            self._group = group or None
        if inactive is not None:
            self._inactive = inactive
        if only is not False:
            self._only = only
        self.beginResetModel()
        self.rows = self._filtered()
        self.endResetModel()

    def _filtered(self) -> list[StakeholderView]:
        n = self._needle
        out = []
        for sv in self._all:
            if not sv.active and not self._inactive:
                continue
            if self._group and sv.group != self._group:
                continue
            if self._only is not None and sv.handle not in self._only:
                continue
            if n and not any(
                n in (value or "").lower()
                for value in (
                    sv.name,
                    sv.handle,
                    sv.group,
                    group_label(sv.group),
                    sv.email,
                    sv.phone,
                    sv.slack,
                    sv.timezone,
                    sv.notes,
                )  # fmt: skip
            ):
                continue
            out.append(sv)
        return out

    @property
    def total(self) -> int:
        return len(self._all)

    def groups(self) -> list[str]:
        return sorted({sv.group for sv in self._all} | set(STAKEHOLDER_GROUPS), key=group_label)

    def stakeholder(self, row: int) -> StakeholderView | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, handle: str) -> int | None:
        return next((i for i, sv in enumerate(self.rows) if sv.handle == handle), None)

    # -- Qt --------------------------------------------------------------------------------------
    headers = COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        sv = self.stakeholder(index.row())
        if sv is None:
            return None
        col = index.column()
        if role == StakeholderRole:
            return sv
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(sv, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_NAME:
                kind = KIND_LABELS.get(sv.kind, sv.kind)
                return f"{sv.name} (@{sv.handle}) · {kind}" + (f"\n\n{sv.notes}" if sv.notes else "")
            if col == COL_HEARS:
                return "Must hear about incidents of these severities and types" if hears_text(sv) else (
                    "Hears only when an escalation path brings in their group")  # fmt: skip
            return self._text(sv, col) or None
        if role == Qt.ItemDataRole.ForegroundRole and not sv.active:
            return QBrush(QColor(quiet_colour(None)))
        return None

    @staticmethod
    def _text(sv: StakeholderView, col: int) -> str:
        if col == COL_NAME:
            return sv.name
        if col == COL_HANDLE:
            return f"@{sv.handle}"
        if col == COL_GROUP:
            return group_label(sv.group) + (" (list)" if sv.kind == "group" else "")
        if col == COL_EMAIL:
            return sv.email or ""
        if col == COL_PHONE:
            return sv.phone or ""
        if col == COL_SLACK:
            return sv.slack or ""
        if col == COL_TZ:
            return sv.timezone
        if col == COL_HEARS:
            return hears_text(sv)
        if col == COL_STATUS:
            return "Active" if sv.active else "Inactive"
        return ""


# -- the editor ------------------------------------------------------------------------------------
class StakeholderEditor(ServiceDialog):
    """Add a stakeholder, or change one: every field the registry keeps, each with its own error line."""

    ok_text = "Save"

    def __init__(
        self, ctx, stakeholder: StakeholderView | None = None, parent: QWidget | None = None
    ) -> None:
        title = f"Edit stakeholder @{stakeholder.handle}" if stakeholder else "Add a stakeholder"
        super().__init__(ctx, title, parent)
        self.setObjectName("stakeholder-editor")
        self.stakeholder = stakeholder
        self.saved: StakeholderView | None = None
        self.inputs: dict[str, QWidget] = {}

        self.handle = self._line("handle", "legal-oncall")
        self.name = self._line("name", "Legal on call")
        self.kind = QComboBox(self)
        self.kind.setObjectName("stakeholder-kind")
        for kid, label in KIND_LABELS.items():
            self.kind.addItem(label, kid)
        self.inputs["kind"] = self.kind
        self.group = QComboBox(self)
        self.group.setObjectName("stakeholder-group")
        self.group.setEditable(True)
        self.group.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for gid in STAKEHOLDER_GROUPS:
            self.group.addItem(group_label(gid), gid)
        self.group.setToolTip(
            "Escalation paths bring in whole groups (legal, compliance, pr...). Type a new one if none fits."
        )
        self.inputs["group"] = self.group
        for combo in (self.kind, self.group):
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.email = self._line("email", "legal@example.com (optional)")
        self.phone = self._line("phone", "+44 20 7946 0000 (optional)")
        self.slack = self._line("slack", "#legal-incidents or member id (optional)")
        self.local_time = QuietLabel("", self, wrap=False)
        self.local_time.setObjectName("stakeholder-local-time")
        self.timezone = ZoneChoice(self, "stakeholder-timezone", ctx.sitrep.now, self.local_time)
        self.inputs["timezone"] = self.timezone

        # Who must hear: by severity and by incident type.
        self.severity_boxes: dict[str, QCheckBox] = {}
        sev_row = QHBoxLayout()
        sev_row.setSpacing(10)
        for level in ctx.sitrep.catalog.severities.values():
            box = QCheckBox(level.id, self)
            box.setObjectName(f"stakeholder-sev-{level.id}")
            box.setToolTip(f"{level.id}: {level.label}")
            self.severity_boxes[level.id] = box
            sev_row.addWidget(box)
        sev_row.addStretch(1)
        known_types = list(INCIDENT_TYPES)
        extra = [t for t in (stakeholder.incident_types if stakeholder else ()) if t not in known_types]
        self.type_boxes: dict[str, QCheckBox] = {}
        type_grid = QGridLayout()
        type_grid.setHorizontalSpacing(12)
        type_grid.setVerticalSpacing(2)
        for i, t in enumerate(known_types + extra):
            box = QCheckBox(TYPE_LABELS.get(t, t), self)
            box.setObjectName(f"stakeholder-type-{t}")
            if t in extra:
                box.setToolTip("Not one of the console's incident types (set from the command line)")
            self.type_boxes[t] = box
            type_grid.addWidget(box, i // 2, i % 2)
        self.notes = QPlainTextEdit(self)
        self.notes.setObjectName("stakeholder-notes")
        self.notes.setTabChangesFocus(True)
        self.notes.setPlaceholderText("When to call them, who deputises, contract or case references")
        self.notes.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.inputs["notes"] = self.notes
        self.active = QCheckBox("&Active: hears about incidents and is offered when logging a contact", self)
        self.active.setObjectName("stakeholder-active")
        self.active.setChecked(True)
        self.inputs["active"] = self.active

        # Left: who they are and how to reach them. Right: when they must hear.
        left = QFormLayout()
        left.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for caption, key, extra_widget in (
            ("&Handle:", "handle", None), ("&Name:", "name", None), ("&Kind:", "kind", None),
            ("&Group:", "group", None), ("&E-mail:", "email", None), ("&Phone:", "phone", None),
            ("S&lack:", "slack", None), ("&Time zone:", "timezone", self.local_time),
        ):  # fmt: skip
            self._row(left, caption, key, extra_widget)
        hears = QGroupBox("Must hear about", self)
        hears_lay = QVBoxLayout(hears)
        hears_lay.addWidget(QuietLabel("Incidents of these severities:", hears))
        hears_lay.addLayout(sev_row)
        first_severity = next(iter(self.severity_boxes.values()), None)
        hears_lay.addWidget(self.field_error("severities", "severity", focus=first_severity))
        hears_lay.addWidget(QuietLabel("Incidents of these types:", hears))
        hears_lay.addLayout(type_grid)
        hears_lay.addWidget(self.field_error("incident_types"))
        hears_lay.addWidget(
            QuietLabel("An escalation path also brings in their whole group when it is applied.", hears)
        )
        right = QVBoxLayout()
        right.addWidget(hears)
        notes_caption = QLabel("N&otes:", self)
        notes_caption.setBuddy(self.notes)
        right.addWidget(notes_caption)
        right.addWidget(self.notes)
        right.addWidget(self.field_error("notes", focus=self.notes))
        right.addWidget(self.active)
        right.addWidget(self.field_error("active", focus=self.active))
        right.addStretch(1)
        left_column = QVBoxLayout()
        left_column.addLayout(left)
        left_column.addStretch(1)  # the rows keep their height when the right column is the taller
        for part in (left, left_column, right):  # nested layouts would take the columns' wide gap
            part.setSpacing(6)
        columns = QHBoxLayout()
        columns.setSpacing(18)
        columns.addLayout(left_column, 5)
        columns.addLayout(right, 4)
        lay = QVBoxLayout(self)
        lay.addLayout(columns)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        chain_tab_order(self.handle, self.name, self.kind, self.group, self.email, self.phone, self.slack,
                        self.timezone, *self.severity_boxes.values(), *self.type_boxes.values(), self.notes,
                        self.active)  # fmt: skip

        for key, widget in self.inputs.items():  # an error goes once its field is touched
            label = self._error_labels.get(key)
            if label is None:
                continue
            if isinstance(widget, QComboBox):
                signal = widget.editTextChanged if widget.isEditable() else widget.currentIndexChanged
            elif isinstance(widget, QLineEdit):
                signal = widget.textEdited
            elif isinstance(widget, QPlainTextEdit):
                signal = widget.textChanged
            else:
                signal = widget.toggled
            signal.connect(lambda *_a, lab=label: lab.show_error(None))

        if stakeholder is not None:
            self._fill(stakeholder)
        else:
            self.set_timezone("UTC")
            self.group.setCurrentIndex(-1)
            self.group.setEditText("")
            self.group.lineEdit().setPlaceholderText("legal, compliance, regulator, vendor…")
        fm = self.fontMetrics()
        self.resize(fit_screen(self, fm.averageCharWidth() * 150, self.sizeHint().height()))

    def _line(self, key: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(f"stakeholder-{key}")
        edit.setPlaceholderText(placeholder)
        self.inputs[key] = edit
        return edit

    def _row(self, form: QFormLayout, caption: str, key: str, below: QWidget | None) -> None:
        widget = self.inputs[key]
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        if below is not None:
            column.addWidget(below)
        column.addWidget(self.field_error(key, focus=widget))
        label = QLabel(caption, self)
        label.setBuddy(widget)
        form.addRow(label, column)

    def _fill(self, sv: StakeholderView) -> None:
        self.handle.setText(sv.handle)
        # The handle is how the log and the command line name them; it is not renamed here.
        self.handle.setReadOnly(True)
        self.handle.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the editor opens on the name
        self.handle.setFrame(False)  # reads as a fixed value, not a box to type in
        self.handle.setToolTip("The handle names them in the record and on the command line; it stays.")
        self.name.setText(sv.name)
        self.kind.setCurrentIndex(max(self.kind.findData(sv.kind), 0))
        index = self.group.findData(sv.group)
        if index >= 0:
            self.group.setCurrentIndex(index)
        else:
            self.group.setEditText(sv.group)
        self.email.setText(sv.email or "")
        self.phone.setText(sv.phone or "")
        self.slack.setText(sv.slack or "")
        self.set_timezone(sv.timezone)
        for sev, box in self.severity_boxes.items():
            box.setChecked(sev in sv.severities)
        for t, box in self.type_boxes.items():
            box.setChecked(t in sv.incident_types)
        self.notes.setPlainText(sv.notes)
        self.active.setChecked(sv.active)

    def set_timezone(self, name: str) -> None:
        self.timezone.set_zone(name)

    def show_error(self, err: SitrepError) -> None:
        super().show_error(err)
        field = self.inputs.get(err.field or "")
        if isinstance(field, QLineEdit) and not field.isReadOnly():
            field.selectAll()

    def values(self) -> dict:
        return {
            "name": self.name.text(),
            "kind": self.kind.currentData(),
            "group": group_id(self.group.currentText()),
            "email": self.email.text(),
            "phone": self.phone.text(),
            "slack": self.slack.text(),
            "timezone": self.timezone.currentText(),
            "severities": [sev for sev, box in self.severity_boxes.items() if box.isChecked()],
            "incident_types": [t for t, box in self.type_boxes.items() if box.isChecked()],
            "notes": self.notes.toPlainText().strip(),
            "active": self.active.isChecked(),
        }

    def apply(self) -> str:
        comms = self.ctx.sitrep.comms
        values = self.values()
        if self.stakeholder is None:
            name, group = values.pop("name"), values.pop("group")
            self.saved = comms.add_stakeholder(self.handle.text(), name, group, **values)
            verb = "Added"
        else:
            self.saved = comms.update_stakeholder(self.stakeholder.handle, **values)
            verb = "Saved"
        self.result_value = self.saved
        state = "" if self.saved.active else " (inactive)"
        return f"{verb} stakeholder {self.saved.name} (@{self.saved.handle}){state}."


# -- the registry ------------------------------------------------------------------------------------
class StakeholderRegistryDialog(DirectoryDialog):
    """List, search, add, edit and deactivate stakeholders. Follows changes made elsewhere (the CLI)."""

    prefix = "stakeholder"
    noun = "stakeholder"

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(ctx, StakeholdersModel(), parent)
        self.model.setParent(self)
        self.incident: IncidentView | None = ctx.selection.current
        self.setObjectName("stakeholder-registry")
        self.group_filter = QComboBox(self)
        self.group_filter.setObjectName("stakeholder-group-filter")
        self.group_filter.setAccessibleName("Show group")
        self.group_filter.currentIndexChanged.connect(
            lambda _i: self._refilter(group=self.group_filter.currentData())
        )
        self.show_inactive = QCheckBox("Show &inactive", self)
        self.show_inactive.setObjectName("stakeholder-show-inactive")
        self.show_inactive.toggled.connect(lambda on: self._refilter(inactive=on))
        self.must_hear = QCheckBox(self)
        self.must_hear.setObjectName("stakeholder-must-hear")
        self.must_hear.toggled.connect(lambda _on: self._apply_must_hear())
        self.active_button = QPushButton("&Deactivate", self)
        self.active_button.setObjectName("stakeholder-toggle-active")
        self.active_button.setToolTip(
            "Someone who should no longer hear is deactivated, never deleted: the log still names them"
        )
        self.active_button.clicked.connect(self.toggle_active)
        self.build(
            title="Stakeholder registry",
            find_hint="Find by name, handle, group, e-mail, phone, Slack or notes",
            find_name="Find a stakeholder",
            table_name="Stakeholders",
            column_samples=(
                (COL_NAME, "Data Protection Authority"),
                (COL_HANDLE, "@legal-oncall"),
                (COL_GROUP, "Customer success (list)"),
                (COL_EMAIL, "alexandra@example.com"),
                (COL_PHONE, "+44 20 7946 0000"),
                (COL_SLACK, "#legal-incidents"),
                (COL_TZ, "America/New_York"),
                (COL_HEARS, "SEV1, Data breach"),
                (COL_STATUS, "Inactive"),
            ),  # fmt: skip
            add_text="&Add stakeholder…",
            error_name="stakeholder-registry-error",
            filters=(self.group_filter, self.must_hear, self.show_inactive),
            buttons=(self.active_button,),
            size_in_lines=32,
        )
        self.filter.textChanged.connect(lambda text: self._refilter(text=text))
        chain_tab_order(self.filter, self.group_filter, self.must_hear, self.show_inactive, self.view,
                        self.add_button, self.edit_button, self.active_button)  # fmt: skip
        ctx.selection.changed.connect(self._on_incident)
        self.reload()
        self._on_incident(self.incident)

    def wants(self, change: Change) -> bool:
        return change.topic in {Topic.STAKEHOLDERS, Topic.EXTERNAL} or (
            change.topic is Topic.COMMS and self.must_hear.isChecked()
        )

    def _on_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        self.must_hear.setVisible(incident is not None)
        if incident is not None:
            self.must_hear.setText(f"&Must hear about {incident.key}")
            self.must_hear.setToolTip(
                f"Only those who must hear about {incident.key}: by its severity ({incident.severity}), "
                "its type, or the escalation path applied to it"
            )
        elif self.must_hear.isChecked():
            self.must_hear.setChecked(False)
        self._apply_must_hear()

    def _apply_must_hear(self) -> None:
        only = None
        if self.must_hear.isChecked() and self.incident is not None:
            try:
                only = must_hear_handles(self.ctx, self.incident)
            except SitrepError as err:
                self.error.show_error(err.message)
        self._refilter(only=only)

    def _refilter(self, **filters) -> None:
        """Narrow the list, keeping the selected stakeholder selected while they are still shown (else
        the first one), so Edit and Deactivate stay one key away."""
        keep = self.selected()
        self.model.set_filter(**filters)
        if keep is not None and self.model.row_of(keep.handle) is not None:
            self.select(keep.handle)
        elif self.model.rowCount():
            self.view.setCurrentIndex(self.model.index(0, 0))

    def read_rows(self) -> list[StakeholderView]:
        return self.ctx.sitrep.comms.stakeholders(include_inactive=True)

    def show_rows(self, rows: list[StakeholderView]) -> None:
        self.model.set_stakeholders(rows)
        self._fill_groups()
        if self.must_hear.isChecked():
            self._apply_must_hear()

    def _fill_groups(self) -> None:
        keep = self.group_filter.currentData()
        self.group_filter.blockSignals(True)
        self.group_filter.clear()
        self.group_filter.addItem("All groups", None)
        for gid in self.model.groups():
            self.group_filter.addItem(group_label(gid), gid)
        self.group_filter.setCurrentIndex(max(self.group_filter.findData(keep), 0))
        self.group_filter.blockSignals(False)

    def count_text(self, shown: int, total: int) -> str:
        return f"{total:,} in the registry" if shown == total else f"{shown:,} of {total:,} shown"

    def total(self) -> int:
        return self.model.total

    def update_buttons(self) -> None:
        sv = self.selected()
        self.edit_button.setEnabled(sv is not None)
        self.active_button.setEnabled(sv is not None)
        self.active_button.setText("Re&activate" if sv is not None and not sv.active else "&Deactivate")

    def new_editor(self, sv: StakeholderView | None) -> StakeholderEditor:
        editor = StakeholderEditor(self.ctx, sv, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return editor

    # The names the console and its tests know this window's editor by.
    stakeholder_editor = DirectoryDialog.editor_for
    edit_stakeholder = DirectoryDialog.edit

    def saved(self, editor: StakeholderEditor) -> None:
        if editor.saved is not None and not editor.saved.active and not self.show_inactive.isChecked():
            self.show_inactive.setChecked(True)  # keep the one just deactivated in sight
        super().saved(editor)

    def toggle_active(self) -> bool:
        sv = self.selected()
        if sv is None:
            self.error.show_error("Select a stakeholder first.")
            return False
        try:
            saved = self.ctx.sitrep.comms.update_stakeholder(sv.handle, active=not sv.active)
        except (StoreError, SitrepError) as err:
            self.error.show_error(err.message)
            return False
        if not saved.active and not self.show_inactive.isChecked():
            self.show_inactive.setChecked(True)
        self.reload()
        self.select(saved.handle)
        verb = "Reactivated" if saved.active else "Deactivated"
        self.ctx.status_message(f"{verb} {saved.name} (@{saved.handle}).", timeout_ms=4000)
        self.view.setFocus()
        return True


def open_stakeholder_registry(ctx, parent: QWidget | None = None) -> StakeholderRegistryDialog:
    """One registry per window: asking again brings the open one forward."""
    return open_single(ctx, "stakeholder_registry", StakeholderRegistryDialog, parent)


# -- picking from the registry -------------------------------------------------------------------------
class StakeholderPicker(QComboBox):
    """Choose a stakeholder by typing part of a name, handle, group or address; those who must hear
    about the incident come first. The item data is the StakeholderView."""

    stakeholder_chosen = Signal(object)  # StakeholderView

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(30)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.lineEdit().setPlaceholderText("Type a name, @handle or group")
        self.activated.connect(self._emit)

    def set_stakeholders(self, rows: list[StakeholderView], must_hear: set[str] = frozenset()) -> None:
        self.blockSignals(True)
        self.clear()
        ordered = sorted(rows, key=lambda sv: (sv.handle not in must_hear, group_label(sv.group), sv.name))
        for sv in ordered:
            star = "★ " if sv.handle in must_hear else ""
            self.addItem(f"{star}{sv.name} (@{sv.handle}) · {group_label(sv.group)}", sv)
            reach = " · ".join(x for x in (sv.email, sv.phone, sv.slack) if x)
            tip = f"{sv.name}, {group_label(sv.group)}" + (f"\n{reach}" if reach else "")
            if star:
                tip += "\nMust hear about this incident"
            self.setItemData(self.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.setCurrentIndex(-1)
        self.setEditText("")
        self.blockSignals(False)
        # The lists are as wide as their longest entry, not the box: names and groups are the point.
        fm = self.fontMetrics()
        widest = max((fm.horizontalAdvance(self.itemText(i)) for i in range(self.count())), default=0)
        width = widest + fm.averageCharWidth() * 6
        self.view().setMinimumWidth(width)
        self.completer().popup().setMinimumWidth(width)

    def current_stakeholder(self) -> StakeholderView | None:
        """The chosen stakeholder; a typed '@handle', exact name, or a text only one entry contains."""
        text = self.currentText().strip().lower()
        index = self.currentIndex()
        if index >= 0 and self.itemText(index).lower() == text:
            return self.itemData(index)
        if not text:
            return None
        matches = []
        for i in range(self.count()):
            sv: StakeholderView = self.itemData(i)
            if text.lstrip("@") == sv.handle.lower() or text == sv.name.lower():
                return sv
            if text in self.itemText(i).lower():
                matches.append(sv)
        return matches[0] if len(matches) == 1 else None

    def choose(self, handle: str) -> None:
        for i in range(self.count()):
            if self.itemData(i).handle == handle.lstrip("@"):
                self.setCurrentIndex(i)
                return

    def _emit(self, index: int) -> None:
        if index >= 0:
            self.stakeholder_chosen.emit(self.itemData(index))


def recipient_text(sv: StakeholderView) -> str:
    """How a registry entry is named in the stakeholder log's recipients."""
    return f"{sv.name} (@{sv.handle})"
