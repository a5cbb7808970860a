"""Assign, hand over, release a role; see who held which role when.

Each dialog calls one RoleService method from `submit()` and stays open with the error next to the
field it concerns when the service refuses. Tests fill the fields and call `submit()`, the same path
the OK button takes.

Longer than ~500 lines: four role dialogs (assign, hand over, release, history) over one service share their
pickers and error placement.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from services.errors import InvalidTransition, NotFound, SitrepError, StoreError, ValidationError
from services.record.roles import HANDOVER_FIELDS
from services.record.views import IncidentView, RoleHolding
from services.text.timeparse import parse_when
from ui.dialogs.people import PersonEditor
from ui.fields import ErrorLabel, ResponderPicker, chain_tab_order, fit_screen, record_table
from ui.item_models.roles import RoleHistoryModel, brief_text
from ui.oncall import OnCallSection
from ui.operations import read_or_say
from ui.timefmt import duration_text, viewer_time

AT_HINT = "When it happened, to backdate: 09:40 (your time), -10m, or an ISO time. Empty means now."


def _column(*widgets: QWidget) -> QVBoxLayout:
    lay = QVBoxLayout()
    lay.setSpacing(2)
    for w in widgets:
        lay.addWidget(w)
    return lay


class RoleChangeDialog(QDialog):
    """What the three role dialogs share: the role chooser, the optional time, inline errors."""

    verb = "Change"
    default_button = "OK"
    opens_on_held_role = True

    def __init__(
        self, ctx, incident: IncidentView, role_id: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident = incident
        self.setWindowTitle(f"{self.verb} a role on {incident.key}")
        _, holders = read_or_say(ctx, ctx.sitrep.roles.holders, incident.id, default=[])
        self.holders: dict[str, RoleHolding] = {h.role: h for h in holders}

        self.role = QComboBox(self)
        self.role.setObjectName("role-choice")
        self.role.setAccessibleName("Role")
        for definition in ctx.sitrep.catalog.roles.values():
            holder = self.holders.get(definition.id)
            who = holder.person.name if holder else "unassigned"
            self.role.addItem(f"{definition.name} — {who}", definition.id)
        self.role_error = ErrorLabel(self, name="error-role")
        self.at = QLineEdit(self)
        self.at.setObjectName("role-at")
        self.at.setPlaceholderText("now")
        self.at.setToolTip(AT_HINT)
        self.at.setAccessibleName("When")
        self.at_error = ErrorLabel(self, name="error-at")
        self.at.textEdited.connect(lambda _t: self.at_error.show_error(None))
        self.general_error = ErrorLabel(self, name="error-general")
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._add_row("&Role:", self.role, self.role_error)

        # Parented now: a default button outside its dialog is forgotten, and Enter pressed Cancel.
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.addButton(self.default_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setDefault(True)
        self.ok_button.setToolTip("Ctrl+Enter from anywhere in the form")
        for keys in ("Ctrl+Return", "Ctrl+Enter"):  # Enter alone is a new line in the brief fields
            QShortcut(QKeySequence(keys), self, self.submit)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)

        index = self.role.findData(role_id) if role_id else -1
        self.role.setCurrentIndex(index if index >= 0 else self._default_role_index())
        self.role.currentIndexChanged.connect(self._role_changed)

    def _add_row(self, label: str, field: QWidget, *below: QWidget) -> None:
        caption = QLabel(label, self)
        caption.setBuddy(field)
        self.form.addRow(caption, _column(field, *below))

    def _add_at_row(self) -> None:
        self._add_row("&When:", self.at, self.at_error)

    def _order_tabs(self, *fields: QWidget) -> None:
        """Role first, then the dialog's own fields, the optional time, and the buttons last."""
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        chain_tab_order(self.role, *fields, self.at, self.ok_button, cancel)

    def _default_role_index(self) -> int:
        """With no role given: the first held role (to hand over or release), or the first free one."""
        for i in range(self.role.count()):
            if (self.role.itemData(i) in self.holders) == self.opens_on_held_role:
                return i
        return 0

    def _role_changed(self, _index: int) -> None:
        self.role_error.show_error(None)
        self._show_holder()

    def _show_holder(self) -> None:
        """Say who holds the chosen role, where the dialog shows it."""

    def role_id(self) -> str:
        return self.role.currentData()

    def role_name(self) -> str:
        return self.ctx.sitrep.catalog.role(self.role_id()).name

    def when(self) -> datetime | None:
        text = self.at.text().strip()
        return parse_when(text, now=self.ctx.sitrep.now(), field="at") if text else None

    def clear_errors(self) -> None:
        for label in self.findChildren(ErrorLabel):
            label.show_error(None)

    def place_error(self, err: SitrepError) -> None:
        """Put the service's words next to the field they are about."""
        if err.field == "at":
            self.at_error.show_error(err.message)
            self.at.setFocus()
            self.at.selectAll()
        elif isinstance(err, InvalidTransition):
            self.role_error.show_error(err.message)
            self.role.setFocus()
        else:
            self.general_error.show_error(err.message)

    def apply(self) -> str:
        """Make the change; return what to tell the commander. Raises SitrepError."""
        raise NotImplementedError

    def submit(self) -> bool:
        self.clear_errors()
        try:
            message = self.apply()
        except StoreError as err:
            self.general_error.show_error(err.message)
            return False
        except SitrepError as err:
            self.place_error(err)
            return False
        self.ctx.status_message(message, timeout_ms=5000)
        self.accept()
        return True


class _WithResponder(RoleChangeDialog):
    """A dialog that names a responder, with a way to add one who is not in the directory yet."""

    responder_label = "R&esponder:"

    def _build_responder(self) -> None:
        self.responder = ResponderPicker(self)
        self.responder.setObjectName("responder")
        self.responder.setAccessibleName("Responder")
        self.new_person = QPushButton("&New responder…", self)
        self.new_person.setObjectName("new-responder")
        self.new_person.setToolTip("Add someone to the responder directory and pick them")
        self.new_person.clicked.connect(self.add_responder)
        self.new_person.setAutoDefault(False)  # Enter means the dialog's own action, never this
        self.responder_error = ErrorLabel(self, name="error-responder")
        row = QHBoxLayout()
        row.addWidget(self.responder, 1)
        row.addWidget(self.new_person)
        holder = QWidget(self)
        holder.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.other_roles = QLabel(self)
        self.other_roles.setObjectName("responder-other-roles")
        self.other_roles.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.other_roles.hide()
        self._add_row(self.responder_label, holder, self.other_roles, self.responder_error)
        self.on_call = OnCallSection(self.ctx, self.incident.id, self)
        self.on_call.picked.connect(self.pick_on_call)
        self.on_call.add_requested.connect(self.add_on_call_person)
        # Only when an on-call source is installed at all; a configured-or-not one says which it is.
        self.on_call.setVisible(bool(self.ctx.sitrep.sync.on_call_sources()))
        self.form.addRow("", self.on_call)
        self._load_people()
        self.responder.editTextChanged.connect(lambda _t: self.responder_error.show_error(None))
        self.responder.currentIndexChanged.connect(self._show_other_roles)
        self.responder.editTextChanged.connect(self._show_other_roles)
        self.role.currentIndexChanged.connect(self._show_other_roles)

    def _show_other_roles(self, *_args) -> None:
        """Say when the chosen person already holds another role here: one person, two jobs."""
        handle = self.responder.handle()
        held = [
            self.ctx.sitrep.catalog.roles[r].name
            for r, h in self.holders.items()
            if h.person.handle == handle and r != self.role_id() and r in self.ctx.sitrep.catalog.roles
        ]
        name = self.responder.currentText().split(" (@")[0]
        self.other_roles.setText(f"{name} also holds {', '.join(held)} here." if held else "")
        self.other_roles.setVisible(bool(held))

    def _load_people(self, select: str | None = None) -> None:
        ok, people = read_or_say(self.ctx, self.ctx.sitrep.people.list, say=self.general_error.show_error)
        if not ok:
            return
        self.responder.set_people(people, select)

    def person_editor(self) -> PersonEditor:
        """The 'new responder' form, not yet shown; accepting it picks the new person here."""
        editor = PersonEditor(self.ctx, None, self)
        editor.accepted.connect(lambda: self._person_added(editor))
        self.editor = editor
        return editor

    def add_responder(self) -> PersonEditor:
        editor = self.person_editor()
        typed = self.responder.currentText().strip()
        if typed and self.responder.currentIndex() < 0:
            editor.name.setText(typed)  # they typed a name we do not know: start from it
        editor.open()
        return editor

    def _person_added(self, editor: PersonEditor) -> None:
        if editor.saved is not None:
            self._load_people(select=editor.saved.handle)
            self.responder_error.show_error(None)
        self.responder.setFocus()

    def on_call_tabs(self) -> tuple[QWidget, ...]:
        """The on-call section's controls, in the order Tab visits them (hidden ones are skipped)."""
        return (self.on_call.fetch_button, self.on_call.list, self.on_call.pick_button)

    def pick_on_call(self, handle: str) -> None:
        self._load_people(select=handle)  # they may have been added since the dialog opened
        self.responder_error.show_error(None)
        self._show_other_roles()  # the picker was filled with its signals held
        self.responder.setFocus()

    def add_on_call_person(self, suggestion) -> PersonEditor:
        """The 'new responder' form filled from PagerDuty; saving it adds them and picks them here."""
        editor = self.person_editor()
        new = suggestion.new_responder
        if new is not None:
            editor.name.setText(new.name)
            editor.handle.setText(new.handle)
            editor.email.setText(new.email or "")
            editor.set_timezone(new.timezone)
        editor.accepted.connect(
            lambda: editor.saved is not None and self.on_call.person_added(suggestion, editor.saved)
        )
        editor.open()
        editor.handle.setFocus()  # the one field a person may want to change
        return editor

    def chosen_handle(self) -> str | None:
        handle = self.responder.handle()
        if not handle:
            raise ValidationError("Choose a responder, or add a new one.", field="responder")
        return handle

    def place_error(self, err: SitrepError) -> None:
        if err.field == "responder" or (isinstance(err, NotFound) and "handle" in err.message):
            self.responder_error.show_error(err.message)
            self.responder.setFocus()
            return
        super().place_error(err)


class AssignDialog(_WithResponder):
    verb = "Assign"
    default_button = "Assign"
    opens_on_held_role = False

    def __init__(self, ctx, incident: IncidentView, role_id: str | None = None, parent=None) -> None:
        super().__init__(ctx, incident, role_id, parent)
        self.setObjectName("assign-dialog")
        self._build_responder()
        self._add_at_row()
        self._order_tabs(self.responder, self.new_person, *self.on_call_tabs())
        self.responder.setFocus()

    def apply(self) -> str:
        handle = self.chosen_handle()
        holding = self.ctx.sitrep.roles.assign(
            self.incident.id, self.role_id(), handle, author=self.ctx.author, at=self.when()
        )
        self.result_holding = holding
        return f"{holding.person.name} is now {self.role_name()} on {self.incident.key}."


class HandoverDialog(_WithResponder):
    verb = "Hand over"
    default_button = "Hand over"
    responder_label = "&Incoming:"

    def __init__(self, ctx, incident: IncidentView, role_id: str | None = None, parent=None) -> None:
        super().__init__(ctx, incident, role_id, parent)
        self.setObjectName("handover-dialog")
        self.outgoing = QLabel(self)
        self.outgoing.setObjectName("handover-outgoing")
        self._add_row("Outgoing:", self.outgoing)
        self._build_responder()
        intro = QLabel("The outgoing holder's brief: all four parts are required.", self)
        intro.setToolTip("The incoming holder must not have to ask.")
        self.form.addRow(intro)
        self.brief: dict[str, QPlainTextEdit] = {}
        self.brief_errors: dict[str, ErrorLabel] = {}
        lines = self.fontMetrics().lineSpacing()
        for n, (key, label) in enumerate(HANDOVER_FIELDS.items(), start=1):
            edit = QPlainTextEdit(self)
            edit.setObjectName(f"brief-{key}")
            edit.setTabChangesFocus(True)  # Tab moves on; the brief is typed, not indented
            edit.setAccessibleName(label)
            # Three lines show; more scroll. The default size hint (192 px) made the dialog taller
            # than a 768-pixel screen.
            margin = 2 * (edit.frameWidth() + int(edit.document().documentMargin())) + 2
            edit.setFixedHeight(lines * 3 + margin)
            error = ErrorLabel(self, name=f"error-brief-{key}")
            self.brief[key] = edit
            self.brief_errors[key] = error
            # Label above the field: the four labels are long, and beside the fields they would
            # leave the fields a narrow column.
            caption = QLabel(f"&{n}. {label}:", self)
            caption.setBuddy(edit)
            self.form.addRow(caption)
            self.form.addRow(_column(edit, error))
            edit.textChanged.connect(lambda e=error: e.show_error(None))
            edit.textChanged.connect(self._refresh_brief_summary)
        self._brief_summary = False  # the general error line lists the missing parts of the brief
        self._add_at_row()
        self._order_tabs(self.responder, self.new_person, *self.on_call_tabs(), *self.brief.values())
        self._show_holder()
        fm = self.fontMetrics()
        self.resize(fit_screen(self, fm.horizontalAdvance("M") * 48, self.sizeHint().height()))
        self.responder.setFocus()

    def _show_holder(self) -> None:
        holder = self.holders.get(self.role_id())
        if holder is None:
            self.outgoing.setText("Nobody holds this role: assign it instead.")
            return
        since = viewer_time(holder.started_at, self.ctx.sitrep.now())
        held = duration_text(self.ctx.sitrep.now() - holder.started_at)
        self.outgoing.setText(f"{holder.person.name} (@{holder.person.handle}), since {since} ({held})")

    def set_brief(self, brief: dict[str, str]) -> None:
        for key, edit in self.brief.items():
            edit.setPlainText(brief.get(key, ""))

    def brief_values(self) -> dict[str, str]:
        return {key: edit.toPlainText() for key, edit in self.brief.items()}

    def apply(self) -> str:
        handle = self.chosen_handle()
        holding = self.ctx.sitrep.roles.hand_over(
            self.incident.id,
            self.role_id(),
            handle,
            self.brief_values(),
            author=self.ctx.author,
            at=self.when(),
        )
        self.result_holding = holding
        return f"{self.role_name()} handed over to {holding.person.name}; the brief is on the record."

    def place_error(self, err: SitrepError) -> None:
        if err.field == "brief":
            first = None
            for key, edit in self.brief.items():
                if not edit.toPlainText().strip():
                    self.brief_errors[key].show_error(f"Required: {HANDOVER_FIELDS[key].lower()}.")
                    first = first or edit
            self.general_error.show_error(err.message)
            self._brief_summary = True
            if first is not None:
                first.setFocus()
            return
        super().place_error(err)

    def _refresh_brief_summary(self) -> None:
        """The summary says what is still missing, not what was missing when OK was pressed."""
        if not self._brief_summary:
            return
        missing = [HANDOVER_FIELDS[k] for k, edit in self.brief.items() if not edit.toPlainText().strip()]
        if missing:
            self.general_error.show_error("The handover brief is missing: " + "; ".join(missing) + ".")
        else:
            self.general_error.show_error(None)
            self._brief_summary = False


class ReleaseDialog(RoleChangeDialog):
    verb = "Release"
    default_button = "Release"

    def __init__(self, ctx, incident: IncidentView, role_id: str | None = None, parent=None) -> None:
        super().__init__(ctx, incident, role_id, parent)
        self.setObjectName("release-dialog")
        self.holder_label = QLabel(self)
        self.holder_label.setObjectName("release-holder")
        self.holder_label.setWordWrap(True)
        self._add_row("Holder:", self.holder_label)
        self.reason = QLineEdit(self)
        self.reason.setObjectName("release-reason")
        self.reason.setPlaceholderText("optional, e.g. 'end of shift', 'no longer needed'")
        self.reason.setAccessibleName("Reason")
        self._add_row("R&eason:", self.reason)
        self._add_at_row()
        self._order_tabs(self.reason)
        self._show_holder()
        self.reason.setFocus()

    def _show_holder(self) -> None:
        holder = self.holders.get(self.role_id())
        if holder is None:
            self.holder_label.setText("Nobody holds this role.")
        else:
            self.holder_label.setText(
                f"{holder.person.name} (@{holder.person.handle}) will be released from {self.role_name()}."
            )

    def apply(self) -> str:
        holder = self.holders.get(self.role_id())
        self.ctx.sitrep.roles.release(
            self.incident.id,
            self.role_id(),
            author=self.ctx.author,
            reason=self.reason.text(),
            at=self.when(),
        )
        who = holder.person.name if holder else "The holder"
        return f"{who} released from {self.role_name()} on {self.incident.key}."


class RoleHistoryDialog(QDialog):
    """Every holding of every role on the incident, with the handover brief of the selected one."""

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident = incident
        self.setObjectName("role-history")
        self.setWindowTitle(f"Role history of {incident.key}")
        names = {r.id: r.name for r in ctx.sitrep.catalog.roles.values()}
        self.model = RoleHistoryModel(names, ctx.sitrep.now, self)
        self.view = record_table(self, self.model, "role-history-view", "Role holdings")
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.brief = QPlainTextEdit(self)
        self.brief.setObjectName("role-history-brief")
        self.brief.setReadOnly(True)
        self.brief.setPlaceholderText("Select a holding that began with a handover to read its brief.")
        self.brief.setTabChangesFocus(True)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.view)
        split.addWidget(self.brief)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lines = self.fontMetrics().height()
        split.setSizes([lines * 14, lines * 8])

        self.at = QLineEdit(self)
        self.at.setObjectName("role-history-at")
        self.at.setPlaceholderText("e.g. 09:40, -2h, 2026-03-14T09:40Z; empty shows every holding")
        self.at.setToolTip("Show who held each role at this moment")
        self.at.setClearButtonEnabled(True)
        self.at.returnPressed.connect(self.apply_instant)
        self.at.textChanged.connect(lambda t: None if t.strip() else self.apply_instant())
        at_label = QLabel("&Who held the roles at:", self)
        at_label.setBuddy(self.at)
        self.error = ErrorLabel(self, name="role-history-error")
        top = QHBoxLayout()
        top.addWidget(at_label)
        top.addWidget(self.at, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        close.button(QDialogButtonBox.StandardButton.Close).setAutoDefault(False)  # Enter applies the time
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.error)
        lay.addWidget(split, 1)
        lay.addWidget(close)
        self.view.selectionModel().currentRowChanged.connect(self._show_brief)
        self.reload()
        fm = self.fontMetrics()
        self.resize(fit_screen(self, fm.horizontalAdvance("M") * 72, fm.height() * 34))

    def reload(self) -> None:
        ok, history = read_or_say(
            self.ctx, self.ctx.sitrep.roles.history, self.incident.id, say=self.error.show_error
        )
        if ok:
            self.model.set_history(history)

    def apply_instant(self) -> None:
        text = self.at.text().strip()
        try:
            at = parse_when(text, now=self.ctx.sitrep.now(), field="at") if text else None
        except SitrepError as err:
            self.error.show_error(err.message)
            return
        self.error.show_error(None)
        self.model.set_instant(at)
        self.brief.clear()

    def _show_brief(self, current, _previous) -> None:
        h = self.model.holding(current.row()) if current.isValid() else None
        self.brief.setPlainText(brief_text(h) if h else "")
