"""The problem panel's forms: a problem kept here (new or edited), a change entered by hand, and the Jira change
records made before the incident to pick from. A refusal is shown under the form; the form stays open."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from services.adapters.values import ItilRecord
from services.errors import SitrepError
from services.resolution.problems import STATUSES, ProblemView


def _error_label(parent: QWidget) -> QLabel:
    error = QLabel("", parent)
    error.setObjectName("form-error")
    error.setStyleSheet("color: #d13438")
    error.setWordWrap(True)
    return error


def _text_box(parent: QWidget, name: str, lines: int) -> QPlainTextEdit:
    box = QPlainTextEdit(parent)
    box.setObjectName(name)
    box.setTabChangesFocus(True)  # Tab moves on to the next field: the form is keyboard-driven
    box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + 12)
    return box


class _Form(QDialog):
    """A form whose OK runs `submit`; a SitrepError stays on the form, under its fields."""

    def __init__(self, title: str, ok_text: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout()
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        self.error = _error_label(self)
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
        self.buttons.rejected.connect(self.reject)
        self.buttons.accepted.connect(self._submit)
        lay.addWidget(self.buttons)
        self.submit: Callable[[], object] | None = None
        self.result_value = None
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 90)

    def _submit(self) -> None:
        if self.submit is None:
            return
        try:
            self.result_value = self.submit()
        except SitrepError as err:
            self.error.setText(err.message)
            return
        self.accept()


class ProblemDialog(_Form):
    """A problem kept here: new, or its fields edited (the workaround is what makes it a known error)."""

    def __init__(self, parent: QWidget | None, problem: ProblemView | None = None) -> None:
        super().__init__(f"Edit {problem.key}" if problem else "New problem", "Save" if problem else "Create", parent)
        self.setObjectName("dialog-problem")
        self.title = QLineEdit(problem.title if problem else "", self)
        self.title.setObjectName("problem-title")
        self.title.setPlaceholderText("the cause, in a line")
        self.description = _text_box(self, "problem-description", 4)
        self.root_cause = _text_box(self, "problem-root-cause", 3)
        self.workaround = _text_box(self, "problem-workaround", 4)
        self.workaround.setPlaceholderText("what to do until the cause is fixed (makes it a known error)")
        self.status = QComboBox(self)
        self.status.setObjectName("problem-status")
        for value, label in STATUSES.items():
            self.status.addItem(label, value)
        self.owner = QLineEdit(problem.owner or "" if problem else "", self)
        self.owner.setObjectName("problem-owner")
        if problem:
            self.description.setPlainText(problem.description)
            self.root_cause.setPlainText(problem.root_cause or "")
            self.workaround.setPlainText(problem.workaround or "")
            self.status.setCurrentIndex(max(0, self.status.findData(problem.status)))
        else:
            self.status.setCurrentIndex(-1)  # unset: "open", or "known error" when a workaround is given
            self.status.setPlaceholderText("Open (Known error with a workaround)")
        for label, widget in (("&Title:", self.title), ("&Description:", self.description),
                              ("&Root cause:", self.root_cause), ("&Workaround:", self.workaround),
                              ("&Status:", self.status), ("&Owner:", self.owner)):  # fmt: skip
            lab = QLabel(label, self)
            lab.setBuddy(widget)
            widget.setAccessibleName(label.replace("&", "").rstrip(":"))
            self.form.addRow(lab, widget)
        self.title.setFocus()

    def values(self) -> dict[str, str | None]:
        return {"title": self.title.text(), "description": self.description.toPlainText(),
                "root_cause": self.root_cause.toPlainText(), "workaround": self.workaround.toPlainText(),
                "status": self.status.currentData(), "owner": self.owner.text()}  # fmt: skip


class ChangeDialog(_Form):
    """A change that may have caused the incident, entered by hand."""

    def __init__(self, parent: QWidget | None, incident_key: str) -> None:
        super().__init__(f"Link a change to {incident_key}", "Link", parent)
        self.setObjectName("dialog-change-link")
        self.edits: dict[str, QLineEdit] = {}
        for key, label, hint in (("ref", "&Reference:", "CHG0030012"), ("summary", "&Summary:", "what was changed"),
                                 ("when", "W&hen:", "'3h ago', '09:40', '2026-03-14 09:40' (your time)"),
                                 ("ci", "&CI or service:", "payments-api")):  # fmt: skip
            edit = QLineEdit(self)
            edit.setObjectName(f"change-link-{key}")
            edit.setPlaceholderText(hint)
            edit.setAccessibleName(label.replace("&", "").rstrip(":"))
            lab = QLabel(label, self)
            lab.setBuddy(edit)
            self.form.addRow(lab, edit)
            self.edits[key] = edit
        self.edits["ref"].setFocus()  # typing starts in the first field, not on a button (whose letters are mnemonics)


class JiraChangesDialog(_Form):
    """Jira change records made before the incident (fetched by the panel, off the GUI thread): pick one."""

    def __init__(self, parent: QWidget | None, incident_key: str, records: list[ItilRecord], label: str) -> None:
        super().__init__(f"{label} changes before {incident_key}", "Link", parent)
        self.setObjectName("dialog-jira-changes")
        self.records = records
        self.list = QListWidget(self)
        self.list.setObjectName("jira-changes")
        self.list.setAccessibleName(f"{label} change records")
        for r in records:
            when = f"{r.created_at:%Y-%m-%d %H:%M}Z" if r.created_at else "time unknown"
            item = QListWidgetItem(f"{r.key}  {when}  [{r.status}]  {r.summary}"
                                   + (f"  ({', '.join(r.components)})" if r.components else ""))  # fmt: skip
            item.setData(Qt.ItemDataRole.UserRole, r.key)
            self.list.addItem(item)
        self.list.setFocus()
        if records:
            self.list.setCurrentRow(0)
        else:
            self.error.setText(f"{label} has no change records in the 24 hours before the incident.")
        self.list.itemActivated.connect(lambda _i: self._submit())
        self.form.addRow(self.list)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 90)

    def chosen(self) -> ItilRecord | None:
        row = self.list.currentRow()
        return self.records[row] if 0 <= row < len(self.records) else None
