"""Record a message as sent by hand: it went out another way (a call, the vendor's own console, a channel
this console has no backend for). The service keeps the approval rules; this asks who, how and when."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from services.comms.by_hand import HOW
from ui.forms import ServiceDialog, WhenEdit


class SentByHandDialog(ServiceDialog):
    ok_text = "Record as sent"

    def __init__(self, ctx, message, parent: QWidget | None = None, *, why: str = "") -> None:
        super().__init__(ctx, f"Record {message.ref} as sent by hand", parent)
        self.setObjectName("dialog-sent-by-hand")
        self.message = message
        lay = QVBoxLayout(self)
        intro = QLabel(
            (f"{why}\n\n" if why else "")
            + f"Record that {message.ref} ({message.template_name}) went out another way. Nothing is queued "
            "for any backend; the timeline and the stakeholder log say who sent it, how and when.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.how = QComboBox(self)
        self.how.setAccessibleName("How it went out")
        for way in HOW:
            self.how.addItem(way, way)
        self.when = WhenEdit(ctx.sitrep.now, "occurred_at", self)
        self.when.setAccessibleName("When it went out")
        self.note = QLineEdit(self)
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("who was told, on which call, where it was posted…")
        form.addRow("&How", self.how)
        form.addRow("", self.field_error("how", focus=self.how))
        form.addRow("&When", self.when)
        form.addRow("", self.when.preview)
        form.addRow("", self.field_error("occurred_at", focus=self.when))
        form.addRow("&Note", self.note)
        form.addRow("By", QLabel(ctx.author, self))
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    def apply(self) -> str:
        view = self.ctx.sitrep.comms.record_sent_by_hand(
            self.message.ref, author=self.ctx.author, how=self.how.currentData(), occurred_at=self.when.value(),
            note=self.note.text(),
        )
        self.result_value = view
        return f"{view.ref} recorded as sent by hand ({self.how.currentData()})."
