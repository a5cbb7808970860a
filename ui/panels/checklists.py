"""Resolution checklists panel (Ctrl+Shift+C): the incident's checklists, each item's state, what it is
blocked on, and what the checklists block (Resolved, isolating a host). Tick with the item's values, waive,
reopen, attach one by hand. A blocked tick says which items are missing; the incident commander may go
past it with a reason, recorded as an override.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change
from services.errors import SitrepError
from services.record.views import IncidentView
from services.resolution.checklists import RESOLVED_STEP, ChecklistState, ItemState, StepBlocked
from ui.dialogs.flags import FlagsDialog
from ui.operations import run_action
from ui.panels import PanelSpec
from ui.timefmt import viewer_time

_MARKS = {"open": "☐", "done": "☑", "waived": "☒"}
_BLOCKED = QColor("#d13438")
_DONE = QColor("#107c10")
_WAIVED = QColor("#8a6d00")
ItemRole = Qt.ItemDataRole.UserRole + 1


class TickDialog(QDialog):
    """The item's required fields, and (when it is blocked) the commander's override reason."""

    def __init__(self, state: ChecklistState, item: ItemState, blocked_on: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("dialog-checklist-tick")
        self.setWindowTitle(f"{state.definition.title}: {item.item.text}")
        lay = QVBoxLayout(self)
        intro = QLabel(f"<b>{html.escape(item.item.text)}</b>", self)
        intro.setWordWrap(True)
        lay.addWidget(intro)
        if blocked_on:
            warn = QLabel("Blocked until these are recorded:<br>• " + "<br>• ".join(map(html.escape, blocked_on)),
                          self)  # fmt: skip
            warn.setStyleSheet("color: #d13438")
            warn.setWordWrap(True)
            lay.addWidget(warn)
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        for f in item.item.fields:
            edit = QLineEdit(self)
            edit.setObjectName(f"checklist-field-{f.id}")
            edit.setAccessibleName(f.label)
            label = QLabel(f"{f.label}:", self)
            label.setBuddy(edit)
            form.addRow(label, edit)
            self.edits[f.id] = edit
        self.override = QLineEdit(self)
        self.override.setObjectName("checklist-override")
        self.override.setPlaceholderText("incident commander only; leave empty to record it normally")
        if blocked_on:
            label = QLabel("&Override reason:", self)
            label.setBuddy(self.override)
            form.addRow(label, self.override)
        else:
            self.override.hide()
        lay.addLayout(form)
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #d13438")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    def values(self) -> dict[str, str]:
        return {fid: e.text() for fid, e in self.edits.items()}


class ChecklistPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident: IncidentView | None = None
        self.states: list[ChecklistState] = []
        self.dialog: QDialog | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.gate = QLabel("", self)
        self.gate.setObjectName("checklist-gate")
        self.gate.setWordWrap(True)
        self.gate.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.gate)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("checklist-tree")
        self.tree.setAccessibleName("Resolution checklists")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Item", "State", "Recorded"])
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.tree.setUniformRowHeights(True)
        self.tree.setWordWrap(False)
        self.tree.itemActivated.connect(lambda *_: self.tick_selected())
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        lay.addWidget(self.tree, 1)
        self.detail = QLabel("", self)
        self.detail.setObjectName("checklist-detail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.detail)
        row = QHBoxLayout()
        self.tick_button = QPushButton("&Tick…", self)
        self.tick_button.clicked.connect(self.tick_selected)
        self.waive_button = QPushButton("&Waive…", self)
        self.waive_button.clicked.connect(self.waive_selected)
        self.reopen_button = QPushButton("Re&open", self)
        self.reopen_button.clicked.connect(self.reopen_selected)
        self.attach_combo = QComboBox(self)
        self.attach_combo.setAccessibleName("Checklist to attach")
        # Shrinks with a narrow column (the full-HD layout's middle one) instead of pushing Attach off the panel.
        self.attach_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.attach_combo.setMinimumContentsLength(18)
        self.attach_button = QPushButton("&Attach", self)
        self.attach_button.clicked.connect(self.attach_chosen)
        self.change_button = QPushButton("&Change record…", self)
        self.change_button.setToolTip("Record a configuration change made during the incident (for the CMDB)")
        self.change_button.clicked.connect(self.record_change)
        self.flags_button = QPushButton("&Feature flags…", self)
        self.flags_button.setToolTip("Kill switches of the incident's services (Ctrl+Alt+F)")
        self.flags_button.clicked.connect(self.open_flags)
        self.flags_action = QAction("Feature flags…", self)
        self.flags_action.setObjectName("act-feature-flags")
        self.flags_action.setShortcut(QKeySequence("Ctrl+Alt+F"))
        self.flags_action.triggered.connect(self.open_flags)
        ctx.add_command(self.flags_action, "Incident")
        for w in (self.tick_button, self.waive_button, self.reopen_button, self.change_button, self.flags_button):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.attach_combo)
        row.addWidget(self.attach_button)
        lay.addLayout(row)
        ctx.notifier.changed.connect(self._on_change)
        self.set_incident(None)

    # -- state -------------------------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if self.incident is not None and change.incident_id in (None, self.incident.id):
            self.refresh()

    def refresh(self) -> None:
        current = self._selected_key()
        self.tree.clear()
        self.states = []
        if self.incident is None:
            self.gate.setText("Open an incident to see its resolution checklists.")
            self._fill_attach()
            self._update_buttons()
            return
        try:
            self.states = self.ctx.sitrep.checklists.states(self.incident.id)
            missing = self.ctx.sitrep.checklists.open_required(self.incident.id, RESOLVED_STEP)
        except SitrepError as err:
            self.gate.setText(html.escape(err.message))
            return
        if missing:
            self.gate.setText(f"<span style='color:#d13438'><b>Resolved is blocked</b></span> by {len(missing)} "
                              "open required item(s): their state says “blocks Resolved”.")  # fmt: skip
        else:
            self.gate.setText("<span style='color:#107c10'><b>Nothing here blocks Resolved.</b></span>")
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for st in self.states:
            open_required = len(st.open_required())
            top = QTreeWidgetItem([st.definition.title, f"{open_required} required open" if open_required
                                   else "complete", f"attached by {st.attached_by}"])  # fmt: skip
            top.setFont(0, bold)
            top.setData(0, ItemRole, (st.definition.id, None))
            self.tree.addTopLevelItem(top)
            for it in st.items:
                top.addChild(self._item_row(st, it))
            top.setExpanded(True)
            if (st.definition.id, None) == current:
                self.tree.setCurrentItem(top)
            for i in range(top.childCount()):
                if top.child(i).data(0, ItemRole) == current:
                    self.tree.setCurrentItem(top.child(i))
        self.tree.setColumnWidth(2, self.fontMetrics().averageCharWidth() * 24)
        self._fill_attach()
        self._update_buttons()

    def _item_row(self, st: ChecklistState, it: ItemState) -> QTreeWidgetItem:
        blocked_on = st.blocked_on(it.item.id)
        gates = RESOLVED_STEP in st.definition.blocks and it.item.required and not it.settled
        text = f"{_MARKS[it.status]} {it.item.text}" + ("" if it.item.required else " (optional)")
        if it.status == "open":
            state = f"blocked: needs {len(blocked_on)}" if blocked_on else "open"
            state += " · blocks Resolved" if gates else ""
        else:
            state = it.status
        recorded = ""
        if it.by:
            values = ", ".join(f"{k}: {v}" for k, v in it.values.items())
            recorded = f"{it.by} {viewer_time(it.at)}" + (f" — {values}" if values else "")
            recorded += f" — {it.reason}" if it.reason else ""
        row = QTreeWidgetItem([text, state, recorded])
        row.setData(0, ItemRole, (st.definition.id, it.item.id))
        tip = [it.item.text]
        if it.item.fields:
            tip.append("Needs: " + ", ".join(f.label for f in it.item.fields))
        if it.item.who:
            tip.append("May be ticked by: " + ", ".join(it.item.who))
        row.setToolTip(0, "\n".join(tip))
        row.setToolTip(1, self._detail(st, it))
        row.setToolTip(2, recorded)
        colour = {"done": _DONE, "waived": _WAIVED}.get(it.status, _BLOCKED if blocked_on or gates else None)
        if colour is not None:
            row.setForeground(1, QBrush(colour))
        return row

    def _fill_attach(self) -> None:
        self.attach_combo.clear()
        attached = {st.definition.id for st in self.states}
        for d in self.ctx.sitrep.checklists.definitions.values():
            if d.id not in attached:
                self.attach_combo.addItem(d.title, d.id)
        self.attach_combo.setEnabled(self.incident is not None and self.attach_combo.count() > 0)
        self.attach_button.setEnabled(self.attach_combo.isEnabled())

    def _selected_key(self) -> tuple[str, str | None] | None:
        item = self.tree.currentItem()
        return item.data(0, ItemRole) if item is not None else None

    def _selected(self) -> tuple[ChecklistState, ItemState] | None:
        key = self._selected_key()
        if not key or key[1] is None:
            return None
        st = next((s for s in self.states if s.definition.id == key[0]), None)
        return (st, st.state_of(key[1])) if st else None

    @staticmethod
    def _detail(st: ChecklistState, it: ItemState) -> str:
        lines = [f"{st.definition.title}: {it.item.text}" + ("" if it.item.required else " (optional)")]
        blocked_on = st.blocked_on(it.item.id)
        if blocked_on:
            lines.append("Blocked until recorded: " + "; ".join(blocked_on))
        if it.item.fields:
            lines.append("Needs: " + ", ".join(f.label for f in it.item.fields))
        if it.item.who:
            lines.append("May be ticked by: " + " or ".join(it.item.who))
        if it.by:
            values = "; ".join(f"{k}: {v}" for k, v in it.values.items())
            lines.append(f"{it.status.capitalize()} by {it.by} at {viewer_time(it.at)}" + (f" — {values}" if values else "")
                         + (f" — reason: {it.reason}" if it.reason else ""))  # fmt: skip
        return "\n".join(lines)

    def _update_buttons(self) -> None:
        chosen = self._selected()
        self.detail.setText(self._detail(*chosen) if chosen else "Select an item to see what it needs.")
        self.tick_button.setEnabled(chosen is not None and not chosen[1].settled)
        self.waive_button.setEnabled(chosen is not None and not chosen[1].settled)
        self.reopen_button.setEnabled(chosen is not None and chosen[1].settled)

    # -- actions -------------------------------------------------------------------------------
    def select_item(self, checklist_id: str, item_id: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, ItemRole) == (checklist_id, item_id):
                    self.tree.setCurrentItem(top.child(j))
                    return

    def tick_selected(self) -> None:
        chosen = self._selected()
        if chosen is None or self.incident is None or chosen[1].settled:
            return
        st, it = chosen
        dialog = TickDialog(st, it, st.blocked_on(it.item.id), self)
        self.dialog = dialog

        def record() -> None:
            try:
                self.ctx.sitrep.checklists.tick(self.incident.id, st.definition.id, it.item.id,
                                                author=self.ctx.author, values=dialog.values(),
                                                override_reason=dialog.override.text() or None)  # fmt: skip
            except StepBlocked as err:
                dialog.error.setText(err.message)
                return
            except SitrepError as err:
                dialog.error.setText(err.message)
                return
            dialog.done(QDialog.DialogCode.Accepted)
            self.ctx.status_message(f"Recorded: {it.item.text}")

        dialog.accept = record  # Record keeps the dialog open with the reason when the service refuses
        dialog.open()

    def waive_selected(self) -> None:
        chosen = self._selected()
        if chosen is None or self.incident is None:
            return
        st, it = chosen
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Waive: {it.item.text}")
        lay = QFormLayout(dialog)
        reason = QLineEdit(dialog)
        reason.setObjectName("checklist-waive-reason")
        lay.addRow("&Reason:", reason)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        lay.addRow(buttons)
        buttons.rejected.connect(dialog.reject)
        buttons.accepted.connect(lambda: run_action(self.ctx, self, self.ctx.sitrep.checklists.waive,
                                                    self.incident.id, st.definition.id, it.item.id,
                                                    author=self.ctx.author, reason=reason.text(),
                                                    success=f"Waived: {it.item.text}")[0]
                                 and dialog.accept())  # fmt: skip
        self.dialog = dialog
        dialog.open()

    def reopen_selected(self) -> None:
        chosen = self._selected()
        if chosen is None or self.incident is None:
            return
        st, it = chosen
        run_action(self.ctx, self, self.ctx.sitrep.checklists.reopen, self.incident.id, st.definition.id,
                   it.item.id, author=self.ctx.author, success=f"Reopened: {it.item.text}")  # fmt: skip

    def record_change(self) -> None:
        """A change made outside Sitrep's own switches: the short form of a change record."""
        if self.incident is None:
            self.ctx.status_message("Open an incident first (Ctrl+I).", error=True)
            return
        dialog = QDialog(self)
        dialog.setObjectName("dialog-change-record")
        dialog.setWindowTitle(f"Record a configuration change on {self.incident.key}")
        form = QFormLayout(dialog)
        edits: dict[str, QLineEdit] = {}
        for key, label in (("ci", "&Configuration item:"), ("attribute", "&Attribute:"), ("before", "&Before:"),
                           ("after", "A&fter:"), ("why", "&Why:"), ("undo", "How to &undo:")):  # fmt: skip
            edit = QLineEdit(dialog)
            edit.setObjectName(f"change-{key}")
            form.addRow(label, edit)
            edits[key] = edit
        error = QLabel("", dialog)
        error.setStyleSheet("color: #d13438")
        error.setWordWrap(True)
        form.addRow(error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record")
        form.addRow(buttons)
        buttons.rejected.connect(dialog.reject)

        def record() -> None:
            try:
                rec = self.ctx.sitrep.change_records.add(self.incident.id, author=self.ctx.author,
                                                         **{k: e.text() for k, e in edits.items()})  # fmt: skip
            except SitrepError as err:
                error.setText(err.message)
                return
            dialog.accept()
            self.ctx.status_message(f"Change recorded: {rec.summary}")

        buttons.accepted.connect(record)
        dialog.setMinimumWidth(self.fontMetrics().averageCharWidth() * 60)
        self.dialog = dialog
        dialog.open()

    def open_flags(self) -> None:
        if self.incident is None:
            self.ctx.status_message("Open an incident first (Ctrl+I).", error=True)
            return
        dialog = FlagsDialog(self.ctx, self.incident, self.ctx.dialog_parent(self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()

    def attach_chosen(self) -> None:
        checklist_id = self.attach_combo.currentData()
        if self.incident is None or not checklist_id:
            return
        run_action(self.ctx, self, self.ctx.sitrep.checklists.attach, self.incident.id, checklist_id,
                   author=self.ctx.author, success=f"Attached: {self.attach_combo.currentText()}")  # fmt: skip


PANEL = PanelSpec(
    id="checklists",
    title="Resolution checklists",
    factory=ChecklistPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Ctrl+Shift+C",
    visible_by_default=False,
    readable_height=240,
)
