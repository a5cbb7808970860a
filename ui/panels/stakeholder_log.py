"""Stakeholder log panel: every message sent and every contact made outside Sitrep, with who approved it
and whether each channel delivered it. Filter, search, record a contact, export for an auditor."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
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

from services.changes import Change, Topic
from services.comms.views import LOG_CHANNELS, ContactInput
from services.errors import SitrepError
from services.record.views import IncidentView
from ui.dialogs.stakeholders import (
    StakeholderPicker,
    StakeholderRegistryDialog,
    audience_for,
    must_hear_handles,
    open_stakeholder_registry,
    recipient_text,
)
from ui.fields import chain_tab_order
from ui.forms import QuietLabel, ServiceDialog, WhenEdit
from ui.item_models.comms import LogModel
from ui.item_models.rows import ROW_ROLE
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.printing import write_pdf
from ui.timefmt import person_local_time


class ContactDialog(ServiceDialog):
    """Record a contact made outside Sitrep ("phoned the regulator", "the vendor e-mailed us").

    Who it was with is picked from the stakeholder registry (those who must hear about the incident
    first), or typed for someone who is not in it.
    """

    ok_text = "Record contact"

    def __init__(self, ctx, incident: IncidentView, parent=None) -> None:
        super().__init__(ctx, f"Record a contact — {incident.key}", parent)
        self.setObjectName("dialog-contact")
        self.incident = incident
        self.row = None
        self._audience_touched = False
        comms = ctx.sitrep.comms
        self.picker = StakeholderPicker(self)
        self.picker.setObjectName("contact-stakeholder")
        self.picker.setAccessibleName("Stakeholder from the registry")
        self.picker.stakeholder_chosen.connect(self.add_stakeholder)
        self.picker.lineEdit().returnPressed.connect(self._add_typed)
        self.add_button = QPushButton("&Add", self)
        self.add_button.setObjectName("contact-add-stakeholder")
        self.add_button.setToolTip("Add the chosen stakeholder to 'With'")
        self.add_button.clicked.connect(self._add_typed)
        self.registry_button = QPushButton("Registry…", self)
        self.registry_button.setObjectName("contact-open-registry")
        self.registry_button.setToolTip("Add someone to the stakeholder registry, or correct their details")
        self.registry_button.clicked.connect(self.open_registry)
        for b in (self.add_button, self.registry_button):
            b.setAutoDefault(False)
        self.reach = QuietLabel("", self)
        self.reach.setObjectName("contact-reach")
        self.reach.hide()  # until someone is picked: then how to reach them and their time
        self.who = QLineEdit(self)
        self.who.setObjectName("contact-with")
        self.who.setPlaceholderText("who, comma separated (picked from the registry, or typed)")
        self.channel = QComboBox(self)
        self.channel.setObjectName("contact-channel")
        self.channel.addItems(list(LOG_CHANNELS))
        self.audience = QComboBox(self)
        self.audience.setObjectName("contact-audience")
        for aud in comms.settings.audiences.values():
            self.audience.addItem(aud.label, aud.id)
        self.audience.activated.connect(lambda _i: setattr(self, "_audience_touched", True))
        self.inbound = QCheckBox("They &contacted us", self)
        self.inbound.setObjectName("contact-inbound")
        self.subject = QLineEdit(self)
        self.subject.setObjectName("contact-subject")
        self.content = QPlainTextEdit(self)
        self.content.setObjectName("contact-content")
        self.content.setPlaceholderText("What was said or agreed")
        self.content.setTabChangesFocus(True)
        self.content.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)
        self.at = WhenEdit(ctx.sitrep.now, "occurred_at", self, placeholder="now, or 10:42, or 15m ago")
        self.at.setObjectName("contact-at")

        picker_row = QHBoxLayout()
        picker_row.addWidget(self.picker, 1)
        picker_row.addWidget(self.add_button)
        picker_row.addWidget(self.registry_button)
        when_row = QHBoxLayout()
        when_row.addWidget(self.at, 1)
        when_row.addWidget(self.at.preview, 1)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for caption, widget, fields, below in (
            ("&Stakeholder:", picker_row, ("stakeholder",), self.reach),
            ("&With:", self.who, ("recipients",), None),
            ("C&hannel:", self.channel, ("channel",), None),
            ("A&udience:", self.audience, ("audience",), None),
            ("", self.inbound, ("direction",), None),
            ("Su&bject:", self.subject, ("subject",), None),
            ("C&ontent:", self.content, ("content",), None),
            ("Whe&n:", when_row, ("occurred_at", "at"), None),
        ):
            focus = self.at if widget is when_row else (self.picker if widget is picker_row else widget)
            column = QVBoxLayout()
            column.setSpacing(2)
            if isinstance(widget, QHBoxLayout):
                column.addLayout(widget)
            else:
                column.addWidget(widget)
            if below is not None:
                column.addWidget(below)
            column.addWidget(self.field_error(*fields, focus=focus))
            label = QLabel(caption, self)
            if caption:
                label.setBuddy(focus)
            form.addRow(label, column)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.general_error)
        lay.addWidget(self.buttons)
        chain_tab_order(self.picker, self.add_button, self.registry_button, self.who, self.channel,
                        self.audience, self.inbound, self.subject, self.content, self.at)  # fmt: skip
        self.reload_registry()
        ctx.notifier.changed.connect(self._on_change)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 100)

    def _on_change(self, change: Change) -> None:
        if change.topic in {Topic.STAKEHOLDERS, Topic.EXTERNAL}:
            self.reload_registry()

    def open_registry(self) -> StakeholderRegistryDialog:
        """Its own registry, modal over this form: one shared with the window would sit behind this
        window-modal form, where it could not be used. What is added there is offered here at once."""
        registry = StakeholderRegistryDialog(self.ctx, self)
        registry.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        registry.open()
        self.registry = registry
        return registry

    def reload_registry(self) -> None:
        ok, read = read_or_say(
            self.ctx,
            lambda: (self.ctx.sitrep.comms.stakeholders(), must_hear_handles(self.ctx, self.incident)),
            say=self.general_error.show_error,
        )
        if not ok:
            return
        rows, must = read
        self.picker.set_stakeholders(rows, must)
        if not rows:
            self.picker.lineEdit().setPlaceholderText("The registry is empty: add people with Registry…")

    def _add_typed(self) -> None:
        sv = self.picker.current_stakeholder()
        label = self._error_labels["stakeholder"]
        if sv is None:
            typed = self.picker.currentText().strip()
            label.show_error(
                f"Nobody in the registry matches '{typed}'. Type them under With, or add them with Registry…."
                if typed
                else "Choose a stakeholder from the list first."
            )
            return
        self.add_stakeholder(sv)

    def add_stakeholder(self, sv) -> None:
        """Put a registry entry among the people the contact was with."""
        self._error_labels["stakeholder"].show_error(None)
        names = [n.strip() for n in self.who.text().split(",") if n.strip()]
        entry = recipient_text(sv)
        if entry not in names:
            names.append(entry)
        self.who.setText(", ".join(names))
        audience = audience_for(sv.group, self.ctx.sitrep.comms.settings.audiences)
        if audience and not self._audience_touched:
            self.audience.setCurrentIndex(self.audience.findData(audience))
            self._audience_touched = True  # the first pick decides; one more name does not move it
        reach = [x for x in (sv.phone, sv.email, sv.slack) if x]
        their = person_local_time(sv.timezone, self.ctx.sitrep.now())
        self.reach.setText(f"{sv.name}: {' · '.join(reach) or 'no contact details'} · their time {their}")
        self.reach.show()
        # The picker keeps showing who was added: Enter after choosing from the completer both
        # chooses and presses Return, and a second add of the same person changes nothing.
        self.picker.choose(sv.handle)

    def apply(self) -> str:
        contact = ContactInput(
            self.channel.currentText(), self.audience.currentData(), self.content.toPlainText(),
            recipients=self.who.text().split(","), direction="inbound" if self.inbound.isChecked() else "outbound",
            subject=self.subject.text(), occurred_at=self.at.value(),
        )  # fmt: skip
        self.row = self.ctx.sitrep.comms.record_contact(self.incident.id, contact, author=self.ctx.author)
        self.result_value = self.row
        return f"Logged the {self.row.channel} contact as #{self.row.seq}."


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
        self.dialog = None
        self._build()
        self._register_commands()
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
        channels = list(self.comms.channels())  # the installed message channels first
        for ch in (*channels, *[c for c in LOG_CHANNELS if c not in channels]):
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
        lay.addLayout(bar)
        # The actions get their own row: beside the filters they made the panel wider than the column
        # it shares with the incidents list on a full-HD screen.
        bar = QHBoxLayout()
        bar.addStretch(1)
        self.contact_button = QPushButton("Record a contact…", self)
        self.contact_button.setObjectName("stakeholder-log-record-contact")
        self.contact_button.clicked.connect(self.record_contact)
        bar.addWidget(self.contact_button)
        self.registry_button = QPushButton("Registry…", self)
        self.registry_button.setObjectName("stakeholder-log-registry")
        self.registry_button.setToolTip(
            "The stakeholder registry: who must hear, and how to reach them (Ctrl+Shift+B)"
        )
        self.registry_button.clicked.connect(self.open_registry)
        bar.addWidget(self.registry_button)
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
        self.contact_action.setEnabled(incident is not None)
        self.reload()

    def _on_change(self, change: Change) -> None:
        if change.topic in {Topic.COMMS, Topic.SYNC, Topic.EXTERNAL}:
            self.reload()

    def rows(self):
        scope = None if self.all_incidents.isChecked() or self.incident is None else self.incident.id
        if scope is None and not self.all_incidents.isChecked():
            return []
        return self.comms.log(scope, text=self.search.text().strip() or None, channel=self.channel.currentData(),
                              audience=self.audience.currentData())  # fmt: skip

    def _read_log(self) -> tuple[list, dict, dict]:
        rows = self.rows()
        return rows, self.comms.incident_keys(r.incident_id for r in rows), self.comms.log_delivery(rows)

    def reload(self) -> None:
        ok, read = read_or_say(self.ctx, self._read_log)
        if not ok:
            return
        rows, keys, delivery = read
        self.model.set_log(rows, keys, delivery)
        self.count.setText(f"{len(rows)} {'entry' if len(rows) == 1 else 'entries'}")
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

    def record_contact(self) -> ContactDialog | None:
        """Window-modal and non-blocking, like the header's dialogs: the clocks keep ticking behind it."""
        if self.incident is None:
            self.ctx.status_message("Open an incident first (Ctrl+I).", error=True)
            return None
        dialog = ContactDialog(self.ctx, self.incident, self.ctx.dialog_parent(self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.reload)
        self.dialog = dialog
        dialog.open()
        return dialog

    def open_registry(self):
        return open_stakeholder_registry(self.ctx, self.ctx.dialog_parent(self))

    def _register_commands(self) -> None:
        registry = QAction("Stakeholder registry…", self)
        registry.setObjectName("act-stakeholder-registry")
        registry.setShortcut(QKeySequence("Ctrl+Shift+B"))
        registry.setToolTip(
            "Who must hear about incidents, and how to reach them: list, add, edit, deactivate"
        )
        registry.triggered.connect(lambda _=False: self.open_registry())
        self.contact_action = QAction("Record a stakeholder contact…", self)
        self.contact_action.setObjectName("act-record-contact")
        self.contact_action.setToolTip("A call, meeting or e-mail outside Sitrep, for the stakeholder log")
        self.contact_action.triggered.connect(lambda _=False: self.record_contact())
        if self.ctx.add_command(registry, "Tools"):
            self.ctx.add_command(self.contact_action, "Incident")
        else:
            self.addAction(registry)
            self.addAction(self.contact_action)

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
