"""Stakeholder log panel: every message sent and every contact made outside Sitrep, with who approved it
and whether each channel delivered it. Filter, search, record a contact, export for an auditor."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.comms.service import LOG_CHANNELS, ContactInput
from services.core import Change
from services.errors import SitrepError
from services.timeparse import parse_when
from services.views import IncidentView
from ui.comms_models import ROW_ROLE, LogModel
from ui.operations import run_action
from ui.panels import PanelSpec


class ContactDialog(QDialog):
    """Record a contact made outside Sitrep."""

    def __init__(self, ctx, incident: IncidentView, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident = incident
        self.row = None
        self.setWindowTitle(f"Record a contact — {incident.key}")
        form = QFormLayout(self)
        self.channel = QComboBox(self)
        self.channel.addItems(list(LOG_CHANNELS))
        self.audience = QComboBox(self)
        for aud in ctx.sitrep.comms.settings.audiences.values():
            self.audience.addItem(aud.label, aud.id)
        self.inbound = QCheckBox("They contacted us", self)
        self.who = QLineEdit(self)
        self.who.setPlaceholderText("who, comma separated")
        self.subject = QLineEdit(self)
        self.content = QPlainTextEdit(self)
        self.content.setPlaceholderText("What was said or agreed")
        self.at = QLineEdit(self)
        self.at.setPlaceholderText("now, or 10:42, or -15m")
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        form.addRow("Channel", self.channel)
        form.addRow("Audience", self.audience)
        form.addRow("", self.inbound)
        form.addRow("With", self.who)
        form.addRow("Subject", self.subject)
        form.addRow("Content", self.content)
        form.addRow("When", self.at)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _save(self) -> None:
        try:
            at = (
                parse_when(self.at.text(), now=self.ctx.sitrep.now(), field="at")
                if self.at.text().strip()
                else None
            )
            self.row = self.ctx.sitrep.comms.record_contact(self.incident.id, ContactInput(
                self.channel.currentText(), self.audience.currentData(), self.content.toPlainText(),
                recipients=self.who.text().split(","), direction="inbound" if self.inbound.isChecked() else "outbound",
                subject=self.subject.text(), occurred_at=at), author=self.ctx.author)  # fmt: skip
        except SitrepError as err:
            self.error.setText(err.message)
            return
        self.accept()


class StakeholderLogPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.comms = ctx.sitrep.comms
        self.incident: IncidentView | None = None
        self.model = LogModel(self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.reload)
        self._build()
        ctx.notifier.changed.connect(self._on_change)
        self.set_incident(ctx.selection.current)

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search content, subject, author, approver")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the stakeholder log")
        self.channel = QComboBox(self)
        self.channel.addItem("All channels", None)
        for ch in (
            "slack",
            "email",
            "statuspage",
            *[c for c in LOG_CHANNELS if c not in ("slack", "email", "statuspage")],
        ):
            self.channel.addItem(ch, ch)
        self.audience = QComboBox(self)
        self.audience.addItem("All audiences", None)
        for aud in self.comms.settings.audiences.values():
            self.audience.addItem(aud.label, aud.id)
        # Sized for their first words, not their longest item: the panel shares a laptop screen's width.
        for box, chars in ((self.channel, 8), (self.audience, 10)):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(chars)
        self.search.setMinimumWidth(self.search.fontMetrics().averageCharWidth() * 18)
        self.all_incidents = QCheckBox("All incidents", self)
        self.count = QLabel(self)
        for w in (self.search,):
            w.textChanged.connect(lambda *_: self._debounce.start())
        for w in (self.channel, self.audience):
            w.currentIndexChanged.connect(lambda *_: self.reload())
        self.all_incidents.toggled.connect(lambda *_: self.reload())
        bar.addWidget(self.search, 1)
        bar.addWidget(self.channel)
        bar.addWidget(self.audience)
        bar.addWidget(self.all_incidents)
        bar.addWidget(self.count)
        self.contact_button = QPushButton("Record a contact…", self)
        self.contact_button.clicked.connect(self.record_contact)
        bar.addWidget(self.contact_button)
        # One button with a menu, not three: the bar has to fit beside the role board on a laptop.
        self.export_button = QPushButton("Export", self)
        self.export_button.setAccessibleName("Export the stakeholder log")
        export_menu = QMenu(self.export_button)
        for fmt in ("csv", "json", "pdf"):
            export_menu.addAction(f"{fmt.upper()}…", lambda f=fmt: self.export(f))
        self.export_button.setMenu(export_menu)
        bar.addWidget(self.export_button)
        lay.addLayout(bar)
        split = QSplitter(Qt.Orientation.Vertical, self)
        self.view = QTableView(split)
        self.view.setObjectName("stakeholder-log-view")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        hh = self.view.horizontalHeader()
        for col in (0, 1, 2, 3, 4, 7, 8):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.view.selectionModel().currentRowChanged.connect(self._show_detail)
        self.detail = QPlainTextEdit(split)
        self.detail.setReadOnly(True)
        self.detail.setObjectName("stakeholder-log-detail")
        split.addWidget(self.view)
        split.addWidget(self.detail)
        split.setSizes([300, 120])
        lay.addWidget(split, 1)

    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        self.contact_button.setEnabled(incident is not None)
        self.reload()

    def _on_change(self, change: Change) -> None:
        if change.topic in ("comms", "sync", "external"):
            self.reload()

    def rows(self):
        scope = None if self.all_incidents.isChecked() or self.incident is None else self.incident.id
        if scope is None and not self.all_incidents.isChecked():
            return []
        return self.comms.log(scope, text=self.search.text().strip() or None, channel=self.channel.currentData(),
                              audience=self.audience.currentData())  # fmt: skip

    def reload(self) -> None:
        try:
            rows = self.rows()
            keys = self.comms.incident_keys(r.incident_id for r in rows)
            delivery = self.comms.log_delivery(rows)
        except SitrepError as err:
            self.ctx.status_message(err.message, error=True)
            return
        self.model.set_log(rows, keys, delivery)
        self.count.setText(f"{len(rows)} entries")
        self.detail.clear()

    def _show_detail(self, current, _previous) -> None:
        r = self.model.data(current, ROW_ROLE) if current.isValid() else None
        if r is None:
            self.detail.clear()
            return
        lines = [
            f"{self.model.keys.get(r.incident_id, '')} stakeholder log #{r.seq} — {r.kind} ({r.direction}) by {r.channel}",
            f"Time: {r.occurred_at.astimezone():%Y-%m-%d %H:%M:%S %Z}   Audience: {r.audience}   Recipients: {', '.join(r.recipients)}",
            f"Author: {r.author}" + (f"   Approved by {r.approver} at {r.approved_at.astimezone():%H:%M:%S}" if r.approver else ""),
            f"Delivery: {self.model.delivery.get(r.id, '-')}   Hash: {r.hash[:16]}…",
            "",
        ]  # fmt: skip
        if r.subject:
            lines.append(f"Subject: {r.subject}")
        lines.append(r.content)
        self.detail.setPlainText("\n".join(lines))

    def record_contact(self) -> None:
        if self.incident is None:
            return
        dlg = ContactDialog(self.ctx, self.incident, self)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.row is not None:
            self.ctx.status_message(f"Logged the {dlg.row.channel} contact as #{dlg.row.seq}.")
            self.reload()

    def export(self, fmt: str, path: str | None = None) -> bool:
        rows = self.model.rows
        if path is None:
            suggested = f"stakeholder-log-{self.incident.key if self.incident and not self.all_incidents.isChecked() else 'all'}.{fmt}"
            path, _ = QFileDialog.getSaveFileName(self, "Export the stakeholder log", suggested)
            if not path:
                return False
        ok, _ = run_action(
            self.ctx,
            self,
            self._write,
            rows,
            fmt,
            Path(path),
            success=f"Exported {len(rows)} log entries to {path}.",
        )
        return ok

    def _write(self, rows, fmt: str, path: Path) -> None:
        if fmt == "pdf":
            from ui.printing import write_pdf

            write_pdf(self.comms.export_log(rows, "html"), path, title="Stakeholder communications log")
            return
        text = self.comms.export_log(rows, fmt)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SitrepError(f"Cannot write {path}: {exc.strerror}.") from None


PANEL = PanelSpec(
    id="stakeholder_log",
    title="Stakeholder log",
    factory=StakeholderLogPanel,
    area=Qt.DockWidgetArea.BottomDockWidgetArea,
    shortcut="Alt+6",
    visible_by_default=False,
)
