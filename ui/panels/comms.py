"""Communications panel: draft from a template, see each channel's rendering as you type, get approval,
send, and watch each channel's delivery. The rules (who approves, what may go out) are the services';
the panel only offers the actions and shows their refusals.

Longer than ~500 lines: list, form, preview and delivery are one workflow around the message being edited;
the item models and dialogs it uses live elsewhere.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from models.enums import MessageState
from services.changes import Change, Topic
from services.comms.settings import format_duration
from services.errors import SitrepError
from services.record.views import IncidentView
from ui.button_rows import ButtonRows
from ui.channel_forms import ChannelChoice, ChannelPreviews, RecipientEdits
from ui.dialogs.sent_by_hand import SentByHandDialog
from ui.dialogs.stakeholders import open_stakeholder_registry
from ui.item_models.comms import DeliveriesModel, MessagesModel
from ui.item_models.rows import ROW_ROLE
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.time_picker import is_time_field, with_time_picker

# Prefilled fields that read as sentences: a multi-line box shows them whole.
LONG_TEXT_FIELDS = frozenset({"title", "impact", "services"})
WARN_STYLE = "color: white; background: #b00020; padding: 3px; font-weight: bold;"
OK_STYLE = "padding: 3px;"


class CommsPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.comms = ctx.sitrep.comms
        self.incident: IncidentView | None = None
        self.message = None  # MessageView being edited, or None
        self._loading = False
        self._dirty = False
        self.field_widgets: dict[str, QLineEdit | QPlainTextEdit] = {}
        self.messages_model = MessagesModel(self)
        self.deliveries_model = DeliveriesModel(self)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(200)
        self._preview_timer.timeout.connect(self.refresh_preview)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_clocks)
        self._clock_facts: tuple | None = None  # (next-update clock, regulatory clocks, path, applied)
        self._tick.start()
        self._build()
        self._register_commands()
        ctx.notifier.changed.connect(self._on_change)
        self.set_incident(ctx.selection.current)

    def _register_commands(self) -> None:
        if self.ctx.shell is None:  # standing alone: no menus or palette to list them in
            return
        add = self.ctx.shell.add_command
        draft = QAction("Draft a message from a template…", self)
        draft.setObjectName("act-draft-message")
        draft.setToolTip("Notify customers, executives, a regulator… from a template, with its preview")
        draft.setProperty("keywords", "comms communication notification notify customers status page e-mail slack")
        draft.setShortcut(QKeySequence("Ctrl+Shift+N"))
        draft.triggered.connect(self.choose_template)
        add(draft, "Incident")
        for text, slot, tip in (
            ("Approve the selected message", self.approve, "As the incident commander, or a holder of a delegation to approve external messages (Delegations)"),
            ("Send the selected message", self.send, "Queued for each channel; sent as soon as it answers"),
            ("Record the selected message as sent by hand…", self.record_sent_by_hand,
             "It went out another way (phone, a backend's own console): who, how and when, on the stakeholder log"),
        ):  # fmt: skip
            act = QAction(text, self)
            act.setToolTip(tip)
            act.triggered.connect(lambda _checked=False, slot=slot: slot())
            add(act, "Incident")

    def choose_template(self) -> None:
        """Bring the panel forward with the template list open: pick one, Enter drafts it."""
        if self.ctx.shell is not None and self.parentWidget() is not None:
            self.ctx.shell.show_panel("comms", focus=False)
        self.template_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.ctx.status_message("Choose a template, then Draft from template (Enter).", timeout_ms=6000)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.next_update = QLabel("No incident", self)
        self.next_update.setObjectName("comms-next-update")
        self.next_update.setAccessibleName("Next update due")
        self.reg_clocks = QLabel("", self)
        self.reg_clocks.setObjectName("comms-regulatory")
        self.reg_clocks.setWordWrap(True)
        self.escalate_button = QPushButton("Apply escalation path…", self)
        self.escalate_button.setObjectName("comms-escalate")
        self.escalate_button.clicked.connect(self.apply_escalation)
        self.escalate_button.hide()
        self.clocks_button = QPushButton("Regulatory clocks…", self)
        self.clocks_button.setObjectName("comms-regulatory-clocks")
        self.clocks_button.setToolTip(
            "Each regulatory clock's deadline, and starting or closing one (Ctrl+Shift+G)"
        )
        self.clocks_button.clicked.connect(self.open_regulatory_clocks)
        self.stakeholders_button = QPushButton("Stakeholders…", self)
        self.stakeholders_button.setObjectName("comms-stakeholders")
        self.stakeholders_button.setToolTip(
            "The stakeholder registry: who must hear, and how to reach them (Ctrl+Shift+B)"
        )
        self.stakeholders_button.clicked.connect(self.open_stakeholders)
        top.addWidget(self.next_update)
        top.addWidget(self.reg_clocks, 1)
        top.addWidget(self.escalate_button)
        top.addWidget(self.clocks_button)
        top.addWidget(self.stakeholders_button)
        lay.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        lay.addWidget(split, 1)
        self.split = split

        # Left: the messages and a new draft.
        left = QWidget(split)
        # The list needs its numbers, states and subjects, not half the panel: the form gets the room.
        left.setMaximumWidth(self.fontMetrics().averageCharWidth() * 40)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        new_box = QGroupBox("New draft", left)
        nf = QFormLayout(new_box)
        self.template_combo = QComboBox(new_box)
        self.template_combo.setAccessibleName("Template")
        for tpl in sorted(self.comms.templates.templates.values(), key=lambda t: t.name):
            self.template_combo.addItem(tpl.name, tpl.id)
        # Long template and audience names must not set the panel's width: it shares a laptop screen
        # with the role board (the full name is in the list when it opens).
        self.template_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.template_combo.setMinimumContentsLength(12)
        self.new_button = QPushButton("Draft from template", new_box)
        self.new_button.clicked.connect(self.new_draft)
        nf.addRow("Template", self.template_combo)
        nf.addRow(self.new_button)
        problems = self.comms.templates.problems
        if problems:
            warn = QLabel("Templates not loaded:\n" + "\n".join(str(p) for p in problems), new_box)
            warn.setWordWrap(True)
            warn.setStyleSheet("color: #b00020;")
            nf.addRow(warn)
        ll.addWidget(new_box)
        self.messages_view = QTableView(left)
        self.messages_view.setObjectName("comms-messages")
        self.messages_view.setModel(self.messages_model)
        self.messages_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.messages_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.messages_view.verticalHeader().setVisible(False)
        self.messages_view.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.messages_view.selectionModel().currentRowChanged.connect(self._message_chosen)
        ll.addWidget(self.messages_view, 1)
        split.addWidget(left)
        # The form and its preview: side by side when there is room for both, else the preview under it.
        self.editor_split = QSplitter(Qt.Orientation.Horizontal, split)
        self.editor_split.setObjectName("comms-editor-split")
        self.editor_split.setChildrenCollapsible(False)
        split.addWidget(self.editor_split)
        split.setStretchFactor(1, 1)

        # Middle: the message being edited.
        mid = QWidget(self.editor_split)
        ml = QVBoxLayout(mid)
        ml.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("Choose a message, or draft one from a template.", mid)
        self.title.setObjectName("comms-title")
        self.title.setWordWrap(True)
        ml.addWidget(self.title)
        # Everything to fill in scrolls as one column, labels above inputs, so a narrow dock never
        # squeezes an input to a sliver behind a sideways scroll bar.
        form_box = QWidget(mid)
        form_box.setObjectName("comms-form")
        form_lay = QVBoxLayout(form_box)
        form_lay.setContentsMargins(0, 0, 6, 0)
        head = QFormLayout()
        head.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.audience_combo = QComboBox(mid)
        self.audience_combo.setAccessibleName("Audience")
        for aud in self.comms.settings.audiences.values():
            self.audience_combo.addItem(aud.label + (" (needs approval)" if aud.approval else ""), aud.id)
        self.audience_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.audience_combo.setMinimumContentsLength(20)
        self.audience_combo.currentIndexChanged.connect(self._edited)
        head.addRow("Audience", self.audience_combo)
        channels = self.comms.channels()
        self.channel_choice = ChannelChoice(channels, self._edited, mid)
        self.channel_boxes = self.channel_choice.boxes
        head.addRow("Channels", self.channel_choice)
        self.recipient_edits = RecipientEdits(channels, head, mid, self._edited)
        self.tz_edit = QLineEdit(mid)
        self.tz_edit.textChanged.connect(self._edited)
        head.addRow("Time zone", self.tz_edit)
        form_lay.addLayout(head)
        self.fields_box = QWidget(form_box)
        self.fields_form = QFormLayout(self.fields_box)
        self.fields_form.setContentsMargins(0, 0, 0, 0)
        self.fields_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.fields_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form_lay.addWidget(self.fields_box)
        form_lay.addStretch(1)
        self.form_scroll = scroll = QScrollArea(mid)
        scroll.setObjectName("comms-form-scroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(form_box)
        ml.addWidget(scroll, 1)
        self.problems_label = QLabel("", mid)
        self.problems_label.setObjectName("comms-problems")
        self.problems_label.setWordWrap(True)
        ml.addWidget(self.problems_label)
        self.approval_label = QLabel("", mid)
        self.approval_label.setObjectName("comms-approval")
        self.approval_label.setWordWrap(True)
        ml.addWidget(self.approval_label)
        self.save_button = QPushButton("Save", mid)
        self.submit_button = QPushButton("Ask for approval", mid)
        self.approve_button = QPushButton("Approve", mid)
        self.reject_button = QPushButton("Reject…", mid)
        self.send_button = QPushButton("Send", mid)
        self.send_button.setObjectName("comms-send")
        self.by_hand_button = QPushButton("Sent by hand…", mid)
        self.by_hand_button.setObjectName("comms-sent-by-hand")
        self.by_hand_button.setToolTip("It went out another way (a call, the vendor's console): record who, how and when")
        self.by_hand_button.clicked.connect(self.record_sent_by_hand)
        self.save_button.clicked.connect(self.save)
        self.submit_button.clicked.connect(self.submit)
        self.approve_button.clicked.connect(self.approve)
        self.reject_button.clicked.connect(self.reject)
        self.send_button.clicked.connect(self.send)
        # The author's two actions, then the approver's and sender's: one row, or two when narrow.
        self.message_buttons = ButtonRows(
            [self.save_button, self.submit_button, self.approve_button, self.reject_button, self.send_button,
             self.by_hand_button],
            first_row=2,
            parent=mid,
        )
        ml.addWidget(self.message_buttons)
        self.editor_split.addWidget(mid)

        # Right: the renderings and the deliveries.
        right = QWidget(self.editor_split)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.preview_tabs = ChannelPreviews(channels, right)
        rl.addWidget(self.preview_tabs, 3)
        rl.addWidget(QLabel("Delivery", right))
        self.deliveries_view = QTableView(right)
        self.deliveries_view.setObjectName("comms-deliveries")
        self.deliveries_view.setModel(self.deliveries_model)
        self.deliveries_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.deliveries_view.verticalHeader().setVisible(False)
        self.deliveries_view.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        rl.addWidget(self.deliveries_view, 1)
        self.retry_button = QPushButton("Retry the selected delivery", right)
        self.retry_button.clicked.connect(self.retry_delivery)
        rl.addWidget(self.retry_button)
        self.editor_split.addWidget(right)
        # Growing, the form takes most of the room (it is where the typing is); the preview scrolls.
        self.editor_split.setStretchFactor(0, 3)
        self.editor_split.setStretchFactor(1, 2)
        lines = self.fontMetrics().lineSpacing()
        self.preview_tabs.setMinimumHeight(lines * 6)
        self.deliveries_view.setMinimumHeight(lines * 3)
        split.setSizes([260, 840])
        self._update_buttons()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._arrange_editor()

    def _arrange_editor(self) -> None:
        """Form and preview side by side from about 100 characters of room each way, else stacked."""
        room = self.width() - self.split.widget(0).width()
        wide = room >= self.fontMetrics().averageCharWidth() * 110
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.editor_split.orientation() != orientation:
            self.editor_split.setOrientation(orientation)
            total = self.editor_split.width() if wide else self.editor_split.height()
            # Stacked, the form gets most of the height: it is where the typing is; the preview scrolls.
            self.editor_split.setSizes([total * 11 // 20, total * 9 // 20] if wide else [total * 3 // 4, total // 4])

    # -- incident and refresh --------------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        changed = (incident and incident.id) != (self.incident and self.incident.id)
        self.incident = incident
        if changed:
            self._show_message(None)
        self.reload()

    def _on_change(self, change: Change) -> None:
        if self.incident is None:
            return
        if (
            change.topic in {Topic.COMMS, Topic.SYNC, Topic.EXTERNAL, Topic.ROLES, Topic.TIMELINE}
            or change.incident_id == self.incident.id
        ):
            self.reload()

    def reload(self) -> None:
        self.new_button.setEnabled(self.incident is not None)
        if self.incident is None:
            self.messages_model.set_rows([])
            self.deliveries_model.set_rows([])
            self._update_clocks()
            return
        ok, rows = read_or_say(self.ctx, self.comms.messages, self.incident.id)
        if not ok:
            return
        current = self.message.id if self.message else None
        self.messages_model.set_rows(rows)
        if current:
            for i, m in enumerate(rows):
                if m.id == current:
                    self.messages_view.selectRow(i)
                    if not self._dirty:
                        self._show_message(m, keep_selection=True)
                    else:
                        self.message = m
                        self._update_buttons()
                    break
        self._refresh_deliveries()
        self._update_clocks()

    def _update_clocks(self) -> None:
        """Read what the clock line shows (after a change or a new incident); the 1 s tick only
        redraws the countdowns from it, so an open panel does not query the store every second."""
        self._clock_facts = None
        if self.incident is not None:
            try:
                inc = self.ctx.sitrep.incidents.get(self.incident.id)
                clock = next((c for c in self.ctx.sitrep.clocks.clocks(inc) if c.id == "next_update"), None)
                reg = self.comms.regulatory_clocks(inc.id)
                path, _people, applied = self.comms.escalation(inc.id)
            except SitrepError:
                return
            self._clock_facts = (clock, reg, path, applied)
        self._show_clocks()

    def _show_clocks(self) -> None:
        if self.incident is None or self._clock_facts is None:
            self.next_update.setText("No incident" if self.incident is None else "")
            self.next_update.setStyleSheet(OK_STYLE)
            self.reg_clocks.setText("")
            self.escalate_button.hide()
            return
        clock, reg, path, applied = self._clock_facts
        now = self.ctx.sitrep.now()
        if clock is None:
            self.next_update.setText("No update cadence")
            self.next_update.setStyleSheet(OK_STYLE)
        else:
            left = clock.due_at - now
            due = clock.due_at.astimezone().strftime("%H:%M")
            if left.total_seconds() < 0:
                self.next_update.setText(f"⚠ Update OVERDUE by {format_duration(-left)} (was due {due})")
                self.next_update.setStyleSheet(WARN_STYLE)
            else:
                self.next_update.setText(f"Next update due {due} (in {format_duration(left)})")
                self.next_update.setStyleSheet(OK_STYLE)
        running = [c for c in reg if c.state.value in ("running", "awaiting")]
        self.reg_clocks.setText(" · ".join(f"{c.label}: {c.status_text(now)}" for c in running))
        self.escalate_button.setVisible(path is not None and not applied)
        if path is not None:
            self.escalate_button.setToolTip(
                f"{path.label}: bring in {', '.join(path.groups)}; start its regulatory clocks"
            )

    def _refresh_deliveries(self) -> None:
        if self.message is None or self.message.state is not MessageState.SENT:
            self.deliveries_model.set_rows([])
            return
        ok, rows = read_or_say(self.ctx, self.comms.deliveries, self.message.id)
        if ok:
            self.deliveries_model.set_rows(rows)

    # -- showing a message ----------------------------------------------------------------------------
    def _message_chosen(self, current, _previous) -> None:
        if not current.isValid():
            return
        m = self.messages_model.data(current, ROW_ROLE)
        if m is not None and (self.message is None or m.id != self.message.id):
            if self._dirty:
                self.save(quiet=True)
            self._show_message(m, keep_selection=True)

    def _show_message(self, m, keep_selection: bool = False) -> None:
        self._loading = True
        self.message = m
        self._dirty = False
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        self.field_widgets = {}
        if m is None:
            self.title.setText("Choose a message, or draft one from a template.")
            for box in self.channel_boxes.values():
                box.setChecked(False)
            self.recipient_edits.clear()
            self.tz_edit.clear()
            self._clear_preview()
        else:
            tpl = self.comms.templates.templates.get(m.template_id)
            self.title.setText(f"<b>{m.ref}</b> · {m.template_name} · {m.state.label}")
            self.audience_combo.setCurrentIndex(max(self.audience_combo.findData(m.audience), 0))
            for ch, box in self.channel_boxes.items():
                box.setChecked(ch in m.channels)
                box.setEnabled(tpl is not None and ch in tpl.channels)
            self.recipient_edits.show(m.recipients)
            self.tz_edit.setText(m.timezone)
            names = tpl.field_names() if tpl else list(m.fields)
            for name in names:
                label = tpl.label_of(name) if tpl else name
                required = tpl is not None and name in tpl.required
                choices = self.comms.templates.channel_fields.get(name)
                if choices is not None and choices.choices:
                    w = QLineEdit(self.fields_box)
                    w.setPlaceholderText(" / ".join(choices.choices))
                elif tpl is not None and (tpl.is_multiline(name) or name in LONG_TEXT_FIELDS):
                    w = QPlainTextEdit(self.fields_box)
                    w.setTabChangesFocus(True)
                    lines = w.fontMetrics().lineSpacing()
                    w.setMinimumHeight(lines * 3 + 12)
                    w.setMaximumHeight(lines * 6 + 12)
                else:
                    w = QLineEdit(self.fields_box)
                w.setObjectName(f"field-{name}")
                w.setAccessibleName(label)
                text = str(m.fields.get(name, ""))
                if isinstance(w, QPlainTextEdit):
                    w.setPlainText(text)
                    w.textChanged.connect(self._edited)
                else:
                    w.setText(text)
                    w.textChanged.connect(self._edited)
                self.field_widgets[name] = w
                caption = QLabel(label + (" *" if required else ""), self.fields_box)
                caption.setWordWrap(True)  # a long label wraps; it never sets the form's width
                caption.setBuddy(w)
                if isinstance(w, QLineEdit) and is_time_field(name):
                    row = with_time_picker(w, self.ctx.sitrep.now, lambda: self.tz_edit.text().strip(), self.fields_box)
                    self.fields_form.addRow(caption, row)
                else:
                    self.fields_form.addRow(caption, w)
            self._show_rendering(m.rendered)
        self._loading = False
        self._update_buttons()
        self._refresh_deliveries()
        if m is not None:
            self.refresh_preview()

    def _field_values(self) -> dict[str, str]:
        out = {}
        for name, w in self.field_widgets.items():
            out[name] = w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text()
        return out

    def _chosen_channels(self) -> list[str]:
        return [ch for ch, box in self.channel_boxes.items() if box.isChecked()]

    def _recipients(self) -> dict:
        return self.recipient_edits.values()

    def _edited(self, *args) -> None:
        if self._loading or self.message is None:
            return
        self._dirty = True
        self._preview_timer.start()
        self._update_buttons()

    def refresh_preview(self) -> None:
        """Render what the form says now and check each channel's limits (nothing is stored)."""
        if self.message is None:
            return
        m = self.message
        try:
            pv = self.comms.preview(m.template_id, self._field_values(), self._chosen_channels(),
                                    self.comms.clean_recipients(self._recipients()),
                                    footer=self.comms.footer(m.incident_key, self.audience_combo.currentData() or m.audience,
                                                             self.incident.severity if self.incident else "",
                                                             self.incident.status.label if self.incident else ""),
                                    exercise=bool(self.incident and self.incident.is_exercise))  # fmt: skip
        except SitrepError as err:
            self.problems_label.setText(f"<span style='color:#b00020'>{err.message}</span>")
            return
        self._show_rendering(pv.rendered)
        lines = []
        for p in pv.problems:
            colour = "#b00020" if p.level == "error" else "#b26a00"
            where = f"{self.comms.channel_label(p.channel)}: " if p.channel else ""
            lines.append(
                f"<span style='color:{colour}'>{'✖' if p.level == 'error' else '⚠'} {where}{p.message}</span>"
            )
        for name, w in self.field_widgets.items():
            w.setStyleSheet("border: 1px solid #b00020;" if name in pv.missing else "")
        self.problems_label.setText(
            "<br>".join(lines) or "<span style='color:#1f7a1f'>✔ Every channel's limits are met.</span>"
        )

    def _clear_preview(self) -> None:
        self.preview_tabs.clear_all()
        self.problems_label.clear()
        self.approval_label.clear()

    def _show_rendering(self, rendered: dict) -> None:
        # The preview opens on a channel the message goes to, not on "… is not chosen for this message".
        names = list(self.preview_tabs.channels)
        index = self.preview_tabs.currentIndex()
        current = names[index] if 0 <= index < len(names) else None
        chosen = [n for n in names if rendered.get(n)]
        if chosen and current not in chosen:
            self.preview_tabs.setCurrentIndex(names.index(chosen[0]))
        self.preview_tabs.show_rendering(rendered)

    def _update_buttons(self) -> None:
        m = self.message
        editable = m is not None and m.state is not MessageState.SENT
        for w in [
            self.audience_combo,
            *self.recipient_edits.widgets(),
            self.tz_edit,
            *self.field_widgets.values(),
        ]:
            w.setEnabled(editable)
        tpl = self.comms.templates.templates.get(m.template_id) if m is not None else None
        for ch, box in self.channel_boxes.items():
            box.setEnabled(editable and tpl is not None and ch in tpl.channels)
        self.save_button.setEnabled(editable and self._dirty)
        self.submit_button.setEnabled(
            editable and m.state in (MessageState.DRAFT, MessageState.REJECTED) and m.needs_approval
        )
        self.approve_button.setEnabled(
            editable and m.state in (MessageState.DRAFT, MessageState.PENDING_APPROVAL)
        )
        self.reject_button.setEnabled(
            editable and m.state in (MessageState.DRAFT, MessageState.PENDING_APPROVAL, MessageState.APPROVED)
        )
        self.send_button.setEnabled(editable and m.state is not MessageState.REJECTED)
        self.by_hand_button.setEnabled(editable and m.state is not MessageState.REJECTED)
        self.retry_button.setEnabled(m is not None and m.state is MessageState.SENT)
        if m is None:
            self.approval_label.clear()
            return
        if m.state is MessageState.SENT:
            text = f"Sent by {m.sent_by} at {m.sent_at.astimezone():%H:%M:%S}"
            if m.approver:
                text += f"; approved by {m.approver} at {m.approved_at.astimezone():%H:%M:%S}"
        elif m.state is MessageState.APPROVED:
            text = f"✔ Approved by {m.approver} at {m.approved_at.astimezone():%H:%M:%S}"
            text += (
                " (edits will need a new approval)"
                if not self._dirty
                else " — you changed it: it will need approval again"
            )
        elif m.state is MessageState.REJECTED:
            text = f"✖ Rejected by {m.rejected_by}: {m.rejection_comment}"
        elif m.needs_approval:
            text = "For an external audience: the incident commander (or a holder of a delegation to approve external messages) must approve it before it can be sent."
            if m.state is MessageState.PENDING_APPROVAL:
                text = f"Waiting for approval (asked by {m.submitted_by}). " + text
        else:
            text = "Internal audience: it can be sent straight away."
        self.approval_label.setStyleSheet("")
        self.approval_label.setText(text)

    # -- actions --------------------------------------------------------------------------------------
    def new_draft(self) -> None:
        if self.incident is None:
            return
        if self._dirty:
            self.save(quiet=True)
        template_id = self.template_combo.currentData()
        ok, m = run_action(
            self.ctx, self, self.comms.draft, self.incident.id, template_id, author=self.ctx.author
        )
        if ok:
            said = f"Drafted {m.ref} from '{m.template_name}'."
            # A channel with no backend here could never take it: leave it unticked from the start.
            blocked = self.comms.unavailable_channels(m.channels)
            kept = [ch for ch in m.channels if ch not in blocked]
            if blocked and kept:
                ok, edited = run_action(self.ctx, self, self.comms.edit, m.id, author=self.ctx.author, channels=kept)
                if ok:
                    m = edited
                    said += (f" {', '.join(self.comms.channel_label(c) for c in blocked)} not set up here: unticked "
                             "(Tools ▸ Backends… sets them up).")  # fmt: skip
            self.message = m
            self.reload()
            self._show_message(m)
            self.ctx.status_message(said, timeout_ms=10000)

    def save(self, quiet: bool = False) -> bool:
        if self.message is None or not self._dirty:
            return True
        try:
            recipients = self.comms.clean_recipients(self._recipients())
        except SitrepError as err:
            self.ctx.status_message(err.message, error=True)
            return False
        ok, m = run_action(self.ctx, self, self.comms.edit, self.message.id, author=self.ctx.author,
                           fields=self._field_values(), channels=self._chosen_channels(), recipients=recipients,
                           audience=self.audience_combo.currentData(), timezone=self.tz_edit.text().strip() or None)  # fmt: skip
        if ok:
            self._dirty = False
            self.message = m
            if not quiet:
                self.ctx.status_message(f"Saved {m.ref}.")
            self.reload()
            self._update_buttons()
        return ok

    def _act(self, action, success: str, **kw) -> None:
        if self.message is None or not self.save(quiet=True):
            return
        ok, m = run_action(self.ctx, self, action, self.message.id, say_refusal=self._say_refusal, **kw)
        if ok:
            self.message = m
            self.ctx.status_message(success.format(ref=m.ref))
            self.reload()
            self._show_message(m, keep_selection=True)

    def _say_refusal(self, text: str) -> None:
        self.approval_label.setText(f"✖ {text}")
        self.approval_label.setStyleSheet("color: #b00020;")

    def submit(self) -> None:
        self._act(self.comms.submit, "{ref} waits for approval.", author=self.ctx.author)

    def approve(self) -> None:
        self._act(self.comms.approve, "{ref} approved.", approver=self.ctx.author)

    def reject(self) -> None:
        if self.message is None:
            return
        comment, ok = QInputDialog.getMultiLineText(self, "Reject the message", "What must change?")
        if ok:
            self._act(
                self.comms.reject, "{ref} returned to its drafter.", by=self.ctx.author, comment=comment
            )

    def send(self) -> None:
        if self.message is None:
            self.ctx.status_message("Choose the message to send first.", error=True)
            return
        # A channel with no backend set up cannot queue anything: say how to set it up, or record it
        # as sent another way. A backend that is set up but down queues the message (sent once it answers).
        blocked = self.comms.unavailable_channels(self._chosen_channels() or self.message.channels)
        if blocked:
            self._offer_other_ways(blocked)
            return
        self._act(
            self.comms.send,
            "{ref} released: each channel gets it as soon as it answers (see Delivery).",
            author=self.ctx.author,
        )

    def _offer_other_ways(self, blocked: dict[str, str]) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(f"{self.message.ref} cannot be queued")
        box.setText("A channel of this message has no backend set up here, so nothing could be queued for it.")
        box.setInformativeText("\n".join(blocked.values()) + "\n\nSet the backend up (Tools ▸ Backends…), "
                               "untick that channel, or record the message as sent by hand if it went out "
                               "another way.")  # fmt: skip
        by_hand = box.addButton("Record as sent by hand…", QMessageBox.ButtonRole.AcceptRole)
        backends = box.addButton("Backends…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        self.blocked_box = box
        box.exec()
        if box.clickedButton() is by_hand:
            self.record_sent_by_hand(why="\n".join(blocked.values()))
        elif box.clickedButton() is backends:
            action = self.window().findChild(QAction, "action-backends")
            if action is not None:
                action.trigger()

    def record_sent_by_hand(self, why: str = ""):
        if self.message is None or not self.save(quiet=True):
            if self.message is None:
                self.ctx.status_message("Choose the message first.", error=True)
            return None
        dialog = self.by_hand_dialog = SentByHandDialog(self.ctx, self.message, self.window(), why=why)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._after_by_hand)
        dialog.open()
        return dialog

    def _after_by_hand(self) -> None:
        if self.message is not None:
            ok, m = run_action(self.ctx, self, self.comms.get, self.message.ref)
            if ok:
                self.message = m
                self.reload()
                self._show_message(m, keep_selection=True)

    def retry_delivery(self) -> None:
        index = self.deliveries_view.currentIndex()
        d = self.deliveries_model.data(index, ROW_ROLE) if index.isValid() else None
        if d is None or d.item_id is None:
            self.ctx.status_message("Choose a delivery to retry.", error=True)
            return
        ok, _ = run_action(
            self.ctx, self, self.comms.retry_delivery, d.item_id, success=f"Retrying {d.label}."
        )
        if ok:
            self._refresh_deliveries()

    def open_stakeholders(self):
        return open_stakeholder_registry(self.ctx, self.ctx.dialog_parent(self))

    def open_regulatory_clocks(self) -> None:
        if self.ctx.shell is None or not self.ctx.shell.show_panel("regulatory"):
            self.ctx.status_message("The regulatory clocks panel is not part of this console.", error=True)

    def apply_escalation(self) -> None:
        if self.incident is None:
            return
        # The regulatory clocks panel asks when the organisation became aware (backdatable) first.
        escalate = self.ctx.shell.command("act-escalate") if self.ctx.shell is not None else None
        if escalate is not None:
            escalate.trigger()
            return
        ok, clocks = run_action(
            self.ctx, self, self.comms.apply_escalation, self.incident.id, author=self.ctx.author
        )
        if ok:
            self.ctx.status_message(f"Escalation path applied: {len(clocks)} regulatory clock(s) on the incident "
                                    f"(rules {self.comms.rules.review_status}).")  # fmt: skip
            self._update_clocks()


PANEL = PanelSpec(
    id="comms",
    title="Communications",
    factory=CommsPanel,
    area=Qt.DockWidgetArea.BottomDockWidgetArea,
    shortcut="Alt+5",
    # A comms lead opens it with Alt+5 (the layout is then remembered); the commander keeps the room.
    visible_by_default=False,
    # The draft form needs most of a full-HD column to show the initial notification's fields with the
    # preview beside them: under the timeline at 1080 px it showed four fields at a time, so there it opens
    # as a tab beside the timeline (Alt+1 goes back); a taller monitor still splits the column.
    readable_height=560,
)
