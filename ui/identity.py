"""Who is at the keyboard: the person of the directory the console acts as.

Every entry, approval and hand-over the console writes is authored by that person, so it must be a
person and it must be visible: asked on first run (the login as the suggestion), remembered per
workstation in ui.ini, shown in the status bar at all times, and changed only explicitly ("Hand this
workstation to…"), which is written on the open incident's timeline. Changing it is never a way around a
rule: approving as the commander still requires the person at the keyboard to be the commander.
`--as` / SITREP_USER name the person for one run and are not remembered.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from models.enums import EntryKind
from services.errors import SitrepError
from services.record.views import PersonView

KEYBOARD_KEY = "keyboard/person"  # the handle of the person at this workstation's keyboard
NEW_PERSON = "__new__"


def remembered_person(settings) -> str | None:
    return settings.value(KEYBOARD_KEY, "", str) or None


def remember_person(settings, handle: str) -> None:
    settings.setValue(KEYBOARD_KEY, handle)
    settings.sync()


def suggested_person(people: list[PersonView], login: str) -> PersonView | None:
    """The directory's person who is most likely this login (handle, then e-mail's local part, then name)."""
    login = login.strip().lower()
    if not login:
        return None
    for match in (
        lambda p: p.handle.lower() == login,
        lambda p: (p.email or "").lower().split("@")[0] == login,
        lambda p: p.handle.lower().split(".")[0] == login or p.name.lower().split()[0] == login,
    ):
        found = next((p for p in people if match(p)), None)
        if found is not None:
            return found
    return None


def describe(ctx, handle: str) -> str:
    """"Sam Okafor (@sam.okafor)", or the bare handle of someone not in the directory."""
    try:
        person = ctx.sitrep.people.get(handle)
    except SitrepError:
        return handle
    return f"{person.name} (@{person.handle})"


class WhoIsAtTheKeyboardDialog(QDialog):
    """Pick a person of the directory, or add oneself to it (when the store can be written)."""

    def __init__(self, ctx, *, suggestion: str, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.setObjectName("keyboard-person")
        try:
            self.people = ctx.sitrep.people.list()
        except SitrepError:
            self.people = []
        self.person = QComboBox(self)
        self.person.setAccessibleName("Person at the keyboard")
        for p in self.people:
            self.person.addItem(f"{p.name} (@{p.handle})", p.handle)
        if not ctx.sitrep.read_only:
            self.person.addItem("Someone not in the directory: add them…", NEW_PERSON)
        picked = suggested_person(self.people, suggestion)
        index = self.person.findData(picked.handle) if picked else self.person.findData(NEW_PERSON)
        self.person.setCurrentIndex(max(index, 0))
        self.name = QLineEdit(self)
        self.name.setAccessibleName("Name")
        self.handle = QLineEdit(suggestion, self)
        self.handle.setAccessibleName("Handle")
        self.error = QLabel(self)
        self.error.setObjectName("keyboard-person-error")
        self.error.setStyleSheet("color: #d13438;")
        self.error.setWordWrap(True)
        self.error.hide()
        intro_label = QLabel(intro, self)
        intro_label.setWordWrap(True)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("&Person", self.person)
        self.new_rows = (QLabel("&Name", self), QLabel("&Handle", self))
        self.new_rows[0].setBuddy(self.name)
        self.new_rows[1].setBuddy(self.handle)
        form.addRow(self.new_rows[0], self.name)
        form.addRow(self.new_rows[1], self.handle)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro_label)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self.person.currentIndexChanged.connect(self._show_new_rows)
        self._show_new_rows()
        self.resize(max(self.sizeHint().width(), self.fontMetrics().averageCharWidth() * 60), self.sizeHint().height())

    def _show_new_rows(self, *args) -> None:
        adding = self.person.currentData() == NEW_PERSON
        for w in (*self.new_rows, self.name, self.handle):
            w.setVisible(adding)

    def chosen_handle(self) -> str | None:
        return self._chosen

    _chosen: str | None = None

    def accept(self) -> None:
        handle = self.person.currentData()
        if handle == NEW_PERSON:
            try:
                handle = self.ctx.sitrep.people.add(self.name.text().strip(), self.handle.text().strip()).handle
            except SitrepError as err:
                self.error.setText(err.message)
                self.error.show()
                (self.name if err.field == "name" else self.handle).setFocus()
                return
        self._chosen = handle
        super().accept()


def ask_who_is_at_the_keyboard(ctx, login: str, parent: QWidget | None = None) -> str:
    """First run on this workstation: ask, and remember the answer. Cancelled: the login for this run (asked
    again next time)."""
    dialog = WhoIsAtTheKeyboardDialog(
        ctx,
        suggestion=login,
        title="Who is at this keyboard?",
        intro="Sitrep writes every entry, approval and hand-over in a person's name. Choose yourself from "
        "the responder directory (or add yourself); the status bar shows who it is, and File ▸ "
        "Hand this workstation to… (Ctrl+Shift+W) changes it.",
        parent=parent,
    )
    if dialog.exec() and dialog.chosen_handle():
        remember_person(ctx.settings, dialog.chosen_handle())
        return dialog.chosen_handle()
    return login


class KeyboardPerson:
    """The status bar's "At the keyboard" button and the hand-over command, for a main window."""

    def __init__(self, window) -> None:
        self.window = window
        self.ctx = window.ctx
        self.button = QToolButton(window)
        self.button.setObjectName("keyboard-person-indicator")
        self.button.setAutoRaise(True)
        self.button.setToolTip("Who Sitrep writes entries as. Click to hand this workstation to someone else.")
        self.button.clicked.connect(self.hand_over)
        window.statusBar().addPermanentWidget(self.button)
        self.action = QAction("Hand this workstation to…", window)
        self.action.setToolTip("Change who is at the keyboard (written on the incident's timeline)")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+W"))
        self.action.triggered.connect(self.hand_over)
        window.add_command(self.action, "File", first=True)
        self.show()

    def show(self) -> None:
        text = describe(self.ctx, self.ctx.author)
        self.button.setText(f"At the keyboard: {text}")
        self.button.setAccessibleName(f"At the keyboard: {text}")

    def hand_over(self) -> None:
        if self.ctx.sitrep.read_only:
            self.ctx.status_message("This store is read-only: nothing is written in anyone's name.", error=True)
            return
        before = self.ctx.author
        dialog = WhoIsAtTheKeyboardDialog(
            self.ctx,
            suggestion="",
            title="Hand this workstation to…",
            intro=f"{describe(self.ctx, before)} is at the keyboard now. Whoever takes over writes in their "
            "own name from here on; the hand-over is written on the open incident's timeline. "
            "It does not hand over a role (use the role board for that).",
            parent=self.window,
        )
        others = [i for i in range(dialog.person.count()) if dialog.person.itemData(i) not in (before, NEW_PERSON)]
        if others:
            dialog.person.setCurrentIndex(others[0])
        self.dialog = dialog
        if not dialog.exec() or not dialog.chosen_handle() or dialog.chosen_handle() == before:
            return
        self.change_to(dialog.chosen_handle())

    def change_to(self, handle: str) -> None:
        before = self.ctx.author
        incident = self.ctx.selection.current
        if incident is not None and not self.ctx.sitrep.read_only:
            try:
                self.ctx.sitrep.timeline.log(
                    incident.id,
                    f"Workstation handed from {describe(self.ctx, before)} to {describe(self.ctx, handle)}: "
                    f"entries from this console are now written as @{handle}.",
                    author=before,
                    kind=EntryKind.NOTE,
                )
            except SitrepError as err:
                self.ctx.status_message(err.message, error=True)
                return
        self.ctx.author = handle
        remember_person(self.ctx.settings, handle)
        self.show()
        self.ctx.status_message(f"{describe(self.ctx, handle)} is at the keyboard now.")
