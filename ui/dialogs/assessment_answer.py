"""Answer a practice the record cannot show (a blameless culture, a live state document): the answer and
the evidence note, recorded with who and when."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from services.assurance.assessment import HAND_STATUSES, AssessmentService, HandAnswer
from services.assurance.practices import Practice
from ui.forms import ServiceDialog


class AnswerPracticeDialog(ServiceDialog):
    ok_text = "Record the answer"

    def __init__(self, ctx, service: AssessmentService, practice: Practice, previous: HandAnswer | None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(ctx, f"Answer {practice.id}", parent)
        self.setObjectName("dialog-assessment-answer")
        self.service, self.practice = service, practice
        lay = QVBoxLayout(self)
        text = QLabel(f"<b>{practice.text}</b><br><i>{practice.ref}</i>", self)
        text.setWordWrap(True)
        lay.addWidget(text)
        if previous is not None:
            was = QLabel(f"Last answered {previous.status} by {previous.answered_by} ({previous.answered_at[:16]} UTC): "
                         f"{previous.evidence}", self)  # fmt: skip
            was.setWordWrap(True)
            lay.addWidget(was)
        form = QFormLayout()
        self.status = QComboBox(self)
        self.status.setObjectName("answer-status")
        self.status.setAccessibleName("Answer")
        for s in HAND_STATUSES:
            self.status.addItem(s, s)
        if previous is not None:
            self.status.setCurrentIndex(max(0, self.status.findData(previous.status)))
        self.evidence = QPlainTextEdit(self)
        self.evidence.setObjectName("answer-evidence")
        self.evidence.setAccessibleName("Evidence")
        self.evidence.setPlaceholderText("What shows it: the document, the meeting, the link…")
        self.evidence.setTabChangesFocus(True)
        self.evidence.setFixedHeight(self.fontMetrics().lineSpacing() * 5)
        form.addRow("&Answer", self.status)
        form.addRow("", self.field_error("status", focus=self.status))
        form.addRow("&Evidence", self.evidence)
        form.addRow("", self.field_error("evidence", focus=self.evidence))
        form.addRow("By", QLabel(ctx.author, self))
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 72)

    def apply(self) -> str:
        row = self.service.answer(self.practice.id, self.status.currentData(), self.evidence.toPlainText(),
                                  author=self.ctx.author)  # fmt: skip
        self.result_value = row
        return f"{row.practice} answered {row.status}; it counts from the next assessment run."
