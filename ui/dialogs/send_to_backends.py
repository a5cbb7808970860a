"""Send to PagerDuty / Jira / Statuspage… from a timeline entry, and link a related Jira issue: the update is logged as a comms entry
naming the chosen backends (what `sitrep sync post` does), and the sync worker delivers it."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from services.adapters.interface import Posts
from services.errors import SitrepError
from services.record.views import EntryRow, IncidentView
from services.sync.posting import link_related, post_to_backends


class SendToBackendsDialog(QDialog):
    def __init__(
        self, ctx, incident: IncidentView, entry: EntryRow | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident = incident
        self.entry = entry
        self.posted: EntryRow | None = None
        self.setObjectName("send-to-backends")
        self.setWindowTitle(f"Send to backends — {incident.key}")
        self.resize(560, 380)
        sync = ctx.sitrep.sync
        lay = QVBoxLayout(self)
        intro = (
            "Send this as an update" + (f" (repeats entry #{entry.seq})" if entry is not None else "") + ":"
        )
        lay.addWidget(QLabel(intro, self))
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("send-text")
        self.text.setAccessibleName("Update text")
        self.text.setPlainText(entry.body if entry is not None else "")
        lay.addWidget(self.text, 1)

        lay.addWidget(QLabel("To:", self))
        self.targets: dict[str, QCheckBox] = {}
        notify_labels: dict[str, str] = {}  # backend -> its subscribers' notification option
        for name, cls in sorted(sync.available.items()):
            if not issubclass(cls, Posts):
                continue  # channels that carry messages released from Communications
            # What the entry becomes there, so the commander knows where it will show.
            box = QCheckBox(f"{cls.label}: {cls.post_becomes}", self)
            box.setObjectName(f"send-to-{name}")
            ready = sync.readiness(name, exercise=incident.is_exercise)
            if not ready.ready:
                box.setEnabled(False)
                where = "" if ready.state == "skips_exercises" or "Tools ▸ Backends" in ready.problem else " (Tools ▸ Backends…)"
                box.setToolTip(ready.problem + where)
            if cls.notify_label:
                notify_labels[name] = cls.notify_label
            box.toggled.connect(self._update)
            self.targets[name] = box
            lay.addWidget(box)
        self.notify_labels = notify_labels
        self.notify = QCheckBox(" / ".join(dict.fromkeys(notify_labels.values())) or "Notify subscribers", self)
        self.notify.setObjectName("send-notify")
        self.notify.setChecked(True)
        lay.addWidget(self.notify)
        self.error = QLabel(self)
        self.error.setObjectName("send-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d13438;")
        self.error.hide()
        lay.addWidget(self.error)
        if not any(b.isEnabled() for b in self.targets.values()):
            self._show_error("No backend is set up to send. Set one up in Tools ▸ Backends….")
        self.buttons = QDialogButtonBox(self)
        self.send_button = self.buttons.addButton("Send", QDialogButtonBox.ButtonRole.AcceptRole)
        self.send_button.setObjectName("send-button")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.send)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.text.textChanged.connect(self._update)
        self._update()

    def chosen(self) -> list[str]:
        return [name for name, box in self.targets.items() if box.isChecked() and box.isEnabled()]

    def _update(self, *args) -> None:
        self.send_button.setEnabled(bool(self.chosen()) and bool(self.text.toPlainText().strip()))
        self.notify.setVisible(bool(self.notify_labels))
        self.notify.setEnabled(any(self.targets[name].isChecked() for name in self.notify_labels))

    def _show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def send(self) -> None:
        targets = self.chosen()
        try:
            self.posted = post_to_backends(
                self.ctx.sitrep, self.incident.id, self.text.toPlainText(), targets, author=self.ctx.author,
                notify=self.notify.isChecked(), about_seq=self.entry.seq if self.entry is not None else None,
            )  # fmt: skip
        except SitrepError as err:
            self._show_error(err.message)
            return
        labels = ", ".join(self.targets[t].text().split(":")[0] for t in targets)
        self.ctx.status_message(f"Logged #{self.posted.seq} and queued it for {labels}.")
        self.accept()


class LinkRelatedDialog(QDialog):
    """Link a related Jira issue (a bug, a change, an earlier incident's ticket) to this incident's
    ticket: logged as a note now, linked in Jira by the sync worker when Jira is reachable."""

    def __init__(
        self, ctx, incident: IncidentView, parent: QWidget | None = None, backend: str = "jira"
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident = incident
        self.backend = backend
        self.logged: EntryRow | None = None
        self.setObjectName("link-related")
        cls = ctx.sitrep.sync.adapter_class(backend)
        self.setWindowTitle(f"Link a related {cls.related_label} — {incident.key}")
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.ref = QLineEdit(self)
        self.ref.setObjectName("related-ref")
        self.ref.setPlaceholderText("OPS-123")
        self.ref.setAccessibleName(f"Related {cls.related_label} key")
        form.addRow(f"{cls.related_label[0].upper()}{cls.related_label[1:]} key:", self.ref)
        self.why = QLineEdit(self)
        self.why.setObjectName("related-why")
        self.why.setPlaceholderText("optional: how it is related, e.g. the deploy that caused it")
        self.why.setAccessibleName("How it is related")
        form.addRow("Why:", self.why)
        lay.addLayout(form)
        self.error = QLabel(self)
        self.error.setObjectName("related-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d13438;")
        self.error.hide()
        lay.addWidget(self.error)
        if not ctx.sitrep.sync.readiness(backend).ready:
            self.error.setText(f"{cls.label} is not set up to send. Set it up in Tools ▸ Backends….")
            self.error.show()
        self.buttons = QDialogButtonBox(self)
        self.link_button = self.buttons.addButton("Link", QDialogButtonBox.ButtonRole.AcceptRole)
        self.link_button.setObjectName("related-link")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.link)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.ref.textChanged.connect(lambda t: self.link_button.setEnabled(bool(t.strip())))
        self.link_button.setEnabled(False)
        self.ref.setFocus()

    def link(self) -> None:
        try:
            self.logged = link_related(self.ctx.sitrep, self.incident.id, self.backend, self.ref.text(),
                                       author=self.ctx.author, why=self.why.text())  # fmt: skip
        except SitrepError as err:
            self.error.setText(err.message)
            self.error.show()
            self.ref.setFocus()
            return
        self.ctx.status_message(
            f"#{self.logged.seq}: {self.logged.body} It is linked in Jira at the next sync."
        )
        self.accept()
