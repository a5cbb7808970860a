"""The vendor case dialogs: open a case with a vendor, record their reply, close a case, edit the register.
Each keeps what was typed when the service refuses it, with the reason under the field at fault."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from services.comms.views import LOG_CHANNELS
from services.errors import ValidationError
from services.record.views import IncidentView
from services.vendors.views import VendorCaseView
from ui.forms import ServiceDialog, WhenEdit


def _channel_combo(parent: QWidget, default: str) -> QComboBox:
    combo = QComboBox(parent)
    for ch in LOG_CHANNELS:
        combo.addItem(ch, ch)
    combo.setCurrentIndex(max(0, combo.findData(default)))
    return combo


class OpenCaseDialog(ServiceDialog):
    ok_text = "Open case"

    def __init__(self, ctx, incident: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Open a vendor case for {incident.key}", parent)
        self.setObjectName("dialog-vendor-open-case")
        self.incident = incident
        self.register = ctx.sitrep.vendors.register
        lay = QVBoxLayout(self)
        intro = QLabel("The contract's response and resolution clocks start when the case was raised with the "
                       "vendor. The contact is written to the stakeholder log.", self)  # fmt: skip
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.vendor = QComboBox(self)
        self.vendor.setObjectName("vendor-vendor")
        self.vendor.setAccessibleName("Vendor")
        for v in self.register.vendors.values():
            self.vendor.addItem(f"{v.name} ({v.contract})", v.id)
        self.priority = QComboBox(self)
        self.priority.setObjectName("vendor-priority")
        self.priority.setAccessibleName("Priority")
        self.terms = QLabel("", self)
        self.terms.setWordWrap(True)
        self.ticket = QLineEdit(self)
        self.ticket.setObjectName("vendor-ticket")
        self.ticket.setAccessibleName("Their ticket reference")
        self.ticket.setPlaceholderText("their case or ticket number, if they gave one")
        self.service = QLineEdit(self)
        self.service.setAccessibleName("What of theirs is affected")
        self.channel = _channel_combo(self, "portal")
        self.channel.setAccessibleName("How it was raised")
        self.when = WhenEdit(ctx.sitrep.now, "at", self)
        self.when.setAccessibleName("When it was raised")
        form.addRow("&Vendor", self.vendor)
        form.addRow("", self.field_error("vendor", focus=self.vendor))
        form.addRow("&Priority", self.priority)
        form.addRow("", self.terms)
        form.addRow("", self.field_error("priority", focus=self.priority))
        form.addRow("Their &ticket", self.ticket)
        form.addRow("", self.field_error("ticket_ref", focus=self.ticket))
        form.addRow("&Affected", self.service)
        form.addRow("", self.field_error("service", focus=self.service))
        form.addRow("Raised &by", self.channel)
        form.addRow("", self.field_error("channel", focus=self.channel))
        form.addRow("Raised &when", self.when)
        form.addRow("", self.when.preview)
        form.addRow("", self.field_error("at", focus=self.when))
        lay.addLayout(form)
        if self.register.problems:
            problems = QLabel("The vendor register has problems: " + "; ".join(self.register.problems), self)
            problems.setWordWrap(True)
            lay.addWidget(problems)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.vendor.currentIndexChanged.connect(lambda _i: self._vendor_chosen())
        self.priority.currentIndexChanged.connect(lambda _i: self._show_terms())
        self._vendor_chosen()
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 72)

    def _vendor_chosen(self) -> None:
        v = self.register.vendors.get(self.vendor.currentData() or "")
        self.priority.clear()
        if v is None:
            return
        for p in v.priorities.values():
            self.priority.addItem(f"{p.priority}: {p.label}", p.priority)
        matching = [s for s in v.services if s in self.incident.services]
        self.service.setPlaceholderText(", ".join(matching or v.services) or "their affected service")
        self._show_terms()

    def _show_terms(self) -> None:
        v = self.register.vendors.get(self.vendor.currentData() or "")
        p = v.priorities.get(self.priority.currentData() or "") if v else None
        if p is None:
            self.terms.setText("")
            return
        res = f"resolution within {p.resolution_min} min" if p.resolution_min else "no resolution time in the contract"
        self.terms.setText(f"Response within {p.response_min} min; {res}.")

    def apply(self) -> str:
        if self.vendor.currentData() is None:
            raise ValidationError("The vendor register lists no vendor to open a case with.", field="vendor")
        case = self.ctx.sitrep.vendors.open_case(
            self.incident.id, self.vendor.currentData(), self.priority.currentData() or "", author=self.ctx.author,
            ticket_ref=self.ticket.text(), service=self.service.text() or self.service.placeholderText(),
            channel=self.channel.currentData(), at=self.when.value(),
        )  # fmt: skip
        self.result_value = case
        return f"{case.key} opened with {case.vendor_name}: response due {case.response_due_at:%H:%M} UTC."


class ReplyDialog(ServiceDialog):
    ok_text = "Record reply"

    def __init__(self, ctx, case: VendorCaseView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Reply from {case.vendor_name} on {case.key}", parent)
        self.setObjectName("dialog-vendor-reply")
        self.case = case
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("vendor-reply-text")
        self.text.setAccessibleName("What they said")
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(self.fontMetrics().height() * 5)
        self.channel = _channel_combo(self, "email")
        self.channel.setAccessibleName("How it came")
        self.ticket = QLineEdit(case.ticket_ref or "", self)
        self.ticket.setAccessibleName("Their ticket reference")
        self.when = WhenEdit(ctx.sitrep.now, "at", self)
        self.when.setAccessibleName("When it came")
        form.addRow("&What they said", self.text)
        form.addRow("", self.field_error("text", focus=self.text))
        form.addRow("&How", self.channel)
        form.addRow("", self.field_error("channel", focus=self.channel))
        form.addRow("Their &ticket", self.ticket)
        form.addRow("", self.field_error("ticket_ref", focus=self.ticket))
        form.addRow("W&hen", self.when)
        form.addRow("", self.when.preview)
        form.addRow("", self.field_error("at", focus=self.when))
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 72)

    def apply(self) -> str:
        case = self.ctx.sitrep.vendors.reply(self.case.id, self.text.toPlainText(), author=self.ctx.author,
                                             at=self.when.value(), channel=self.channel.currentData(),
                                             ticket_ref=self.ticket.text() or None)  # fmt: skip
        self.result_value = case
        return f"{case.key}: reply from {case.vendor_name} recorded."


class CloseCaseDialog(ServiceDialog):
    ok_text = "Close case"

    def __init__(self, ctx, case: VendorCaseView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Close {case.key} with {case.vendor_name}", parent)
        self.setObjectName("dialog-vendor-close")
        self.case = case
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.outcome = QComboBox(self)
        self.outcome.setAccessibleName("Outcome")
        self.outcome.addItem("Resolved by the vendor (meets the resolution time)", "resolved")
        self.outcome.addItem("Withdrawn: we no longer need them", "withdrawn")
        self.note = QLineEdit(self)
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("what they fixed, or why the case is no longer needed")
        form.addRow("&Outcome", self.outcome)
        form.addRow("", self.field_error("outcome", focus=self.outcome))
        form.addRow("&Note", self.note)
        form.addRow("", self.field_error("note", focus=self.note))
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 64)

    def apply(self) -> str:
        case = self.ctx.sitrep.vendors.close(self.case.id, author=self.ctx.author, outcome=self.outcome.currentData(),
                                             note=self.note.text())  # fmt: skip
        self.result_value = case
        return f"{case.key} closed ({case.outcome})."


class RegisterDialog(ServiceDialog):
    """The register as its TOML text, saved to the config folder only when every vendor in it reads cleanly."""

    ok_text = "Save register"

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Vendor register", parent)
        self.setObjectName("dialog-vendor-register")
        vendors = ctx.sitrep.vendors
        lay = QVBoxLayout(self)
        where = QLabel(f"Read from {vendors.register.source}. Saving writes the config folder's vendors.toml (the "
                       "copy there before is kept as vendors.toml.bak). Open cases keep the terms they opened "
                       "under.", self)  # fmt: skip
        where.setWordWrap(True)
        lay.addWidget(where)
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("vendor-register-text")
        self.editor.setAccessibleName("Vendor register (TOML)")
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setTabChangesFocus(True)
        self.editor.setPlainText(vendors.register_text())
        lay.addWidget(self.editor, 1)
        lay.addWidget(self.field_error("register", focus=self.editor))
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.resize(self.fontMetrics().averageCharWidth() * 100, self.fontMetrics().height() * 30)

    def apply(self) -> str:
        reg = self.ctx.sitrep.vendors.save_register(self.editor.toPlainText())
        self.result_value = reg
        return f"Vendor register saved ({len(reg.vendors)} vendors) to {reg.source}."
