"""Add or change a delegation of authority; confirm or revoke one (its owner's review, with a note)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from services.governance.delegations import DelegationView
from ui.forms import QuietLabel, ServiceDialog


def _people_combo(parent: QWidget, ctx, name: str, current: str | None = None) -> QComboBox:
    box = QComboBox(parent)
    box.setObjectName(name)
    box.setEditable(True)  # a handle typed that is not in the directory is refused by name by the service
    for p in ctx.sitrep.people.list():
        box.addItem(f"{p.name} (@{p.handle})", p.handle)
    if current:
        index = box.findData(current)
        box.setCurrentIndex(index) if index >= 0 else box.setEditText(current)
    return box


def _handle(box: QComboBox) -> str:
    text = box.currentText().strip()
    index = box.findText(text)
    return box.itemData(index) if index >= 0 else text


class DelegationDialog(ServiceDialog):
    """Add a delegation, or (given one) change it: a change is its owner's review."""

    def __init__(self, ctx, delegation: DelegationView | None = None, parent: QWidget | None = None) -> None:
        self.ok_text = "&Add" if delegation is None else "&Change"
        super().__init__(ctx, "Add a delegation" if delegation is None else "Change a delegation", parent)
        self.setObjectName("dialog-delegation")
        self.delegation = delegation
        reg = ctx.sitrep.delegations
        form = QFormLayout()
        self.authority = QComboBox(self)
        self.authority.setObjectName("delegation-authority")
        for aid, label in reg.settings.labels.items():
            self.authority.addItem(label, aid)
        d = delegation
        if d is not None:
            self.authority.setCurrentIndex(max(self.authority.findData(d.authority), 0))
            self.authority.setEnabled(False)  # another authority is another delegation
        self.holder = _people_combo(self, ctx, "delegation-holder", d.holder if d else None)
        self.owner = _people_combo(self, ctx, "delegation-owner", d.owner if d else None)
        self.deputies = QLineEdit(", ".join(d.deputies) if d else "", self)
        self.deputies.setObjectName("delegation-deputies")
        self.deputies.setPlaceholderText("handles, comma separated")
        self.expires = QLineEdit(d.expires_on.isoformat() if d and d.expires_on else "", self)
        self.expires.setObjectName("delegation-expires")
        self.expires.setPlaceholderText("YYYY-MM-DD; empty: until revoked")
        self.scope = QLineEdit(d.scope if d else "", self)
        self.scope.setObjectName("delegation-scope")
        self.note = QLineEdit(self)
        self.note.setObjectName("delegation-note")
        for text, widget, fields in (("A&uthority:", self.authority, ("authority",)), ("&Holder:", self.holder, ("holder",)),
                                     ("&Deputies:", self.deputies, ("deputies", "deputy")), ("&Owner (reviews it):", self.owner, ("owner", "by")),
                                     ("&Expires after:", self.expires, ("expires_on",)), ("&Scope:", self.scope, ("scope",))):  # fmt: skip
            label = QLabel(text, self)
            label.setBuddy(widget)
            form.addRow(label, widget)
            form.addRow("", self.field_error(*fields, focus=widget))
        if d is not None:
            form.addRow("&Note:", self.note)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        review = reg.settings.review_every_months
        lay.addWidget(QuietLabel(f"Its owner reviews it every {review} month{'s' if review != 1 else ''}: "
                                 "confirms, changes or revokes it.", self))  # fmt: skip
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.resize(self.fontMetrics().averageCharWidth() * 80, self.sizeHint().height())

    def apply(self) -> str:
        reg, d = self.ctx.sitrep.delegations, self.delegation
        deputies = [h.strip() for h in self.deputies.text().split(",") if h.strip()]
        if d is None:
            view = reg.add(self.authority.currentData(), _handle(self.holder), _handle(self.owner), author=self.ctx.author,
                           deputies=deputies, expires_on=self.expires.text() or None, scope=self.scope.text())  # fmt: skip
            self.result_value = view
            return f"Added: {view.holder_name} may {view.authority_label} (owner {view.owner_name})."
        view = reg.change(d.id, by=self.ctx.author, note=self.note.text(), holder=_handle(self.holder),
                          deputies=deputies, owner=_handle(self.owner), expires_on=self.expires.text() or None,
                          scope=self.scope.text())  # fmt: skip
        self.result_value = view
        return f"Changed {view.holder_name}'s authority to {view.authority_label}."


class ReviewDialog(ServiceDialog):
    """The owner confirms or revokes a delegation, with a note."""

    def __init__(self, ctx, delegation: DelegationView, action: str, parent: QWidget | None = None) -> None:
        self.ok_text = "&Confirm" if action == "confirm" else "&Revoke"
        super().__init__(ctx, f"{action.capitalize()} a delegation", parent)
        self.setObjectName(f"dialog-delegation-{action}")
        self.delegation, self.action = delegation, action
        d = delegation
        lay = QVBoxLayout(self)
        what = QLabel(f"<b>{d.holder_name}</b> may <b>{d.authority_label}</b>"
                      + (f" (deputies: {', '.join('@' + h for h in d.deputies)})" if d.deputies else "")
                      + f". Owner: {d.owner_name}. " + (f"Until {d.expires_on}." if d.expires_on else "No expiry."),
                      self)  # fmt: skip
        what.setWordWrap(True)
        lay.addWidget(what)
        self.note = QLineEdit(self)
        self.note.setObjectName("delegation-review-note")
        self.note.setPlaceholderText("What was checked, or why it ends")
        label = QLabel("&Note:", self)
        label.setBuddy(self.note)
        lay.addWidget(label)
        lay.addWidget(self.note)
        lay.addWidget(self.field_error("by", focus=self.note))
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.resize(self.fontMetrics().averageCharWidth() * 70, self.sizeHint().height())

    def apply(self) -> str:
        reg = self.ctx.sitrep.delegations
        fn = reg.confirm if self.action == "confirm" else reg.revoke
        view = fn(self.delegation.id, by=self.ctx.author, note=self.note.text())
        self.result_value = view
        return f"{'Confirmed' if self.action == 'confirm' else 'Revoked'}: {view.holder_name}'s authority to {view.authority_label}."
