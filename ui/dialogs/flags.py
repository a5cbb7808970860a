"""Feature flags… (Ctrl+Alt+F, and a button of the checklists panel): the kill switches of the incident's
services. Lists the flags mapped to its services with their state read from the flag service now, switches
one off (or on again) with the reason, and says what came of it: switched and read back, or queued (not
done) while the flag service cannot be reached. Reads and switches run off the GUI thread.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from services.changes import Change
from services.errors import SitrepError
from services.record.views import IncidentView
from services.resolution.flags import FlagRow, SwitchOutcome
from ui.sync_support import sync_bridge

_COLOURS = {"done": "#107c10", "queued": "#8a6d00", "failed": "#d13438", "cancelled": "#d13438"}
RowRole = Qt.ItemDataRole.UserRole + 1


class FlagsDialog(QDialog):
    def __init__(self, ctx, incident: IncidentView, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident = incident
        self.flags = ctx.sitrep.flags
        self.setObjectName("dialog-feature-flags")
        self.setWindowTitle(f"Feature flags — {incident.key}")
        lay = QVBoxLayout(self)
        intro = QLabel("Kill switches of this incident's services: switch a feature off rather than take the "
                       "service down. Each switch is recorded with the state before and the state read back, "
                       "and becomes a change record.", self)  # fmt: skip
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.setup_note = QLabel("", self)
        self.setup_note.setObjectName("flags-setup")
        self.setup_note.setWordWrap(True)
        self.setup_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setup_note.setTextFormat(Qt.TextFormat.PlainText)
        self.setup_note.setStyleSheet("color: #d13438")
        lay.addWidget(self.setup_note)
        self.table = QTreeWidget(self)
        self.table.setObjectName("flags-table")
        self.table.setAccessibleName("Feature flags mapped to the incident's services")
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(["Flag", "Environment", "State", "Service", "What it does"])
        header = self.table.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.currentItemChanged.connect(lambda *_: self._update_buttons())
        lay.addWidget(self.table, 2)
        why_row = QHBoxLayout()
        why_label = QLabel("&Why:", self)
        self.why = QLineEdit(self)
        self.why.setObjectName("flags-why")
        self.why.setPlaceholderText("why it is switched (goes on the change record)")
        why_label.setBuddy(self.why)
        why_row.addWidget(why_label)
        why_row.addWidget(self.why, 1)
        lay.addLayout(why_row)
        self.result = QLabel("", self)
        self.result.setObjectName("flags-result")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.result)
        switches_label = QLabel("&Switches on this incident:", self)
        self.switches = QListWidget(self)
        self.switches.setObjectName("flags-switches")
        self.switches.setWordWrap(True)
        self.switches.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        switches_label.setBuddy(self.switches)
        lay.addWidget(switches_label)
        lay.addWidget(self.switches, 1)
        buttons = QHBoxLayout()
        self.off_button = QPushButton("Switch o&ff", self)
        self.off_button.setObjectName("flags-off")
        self.off_button.clicked.connect(lambda: self.switch(on=False))
        self.on_button = QPushButton("Switch o&n", self)
        self.on_button.setObjectName("flags-on")
        self.on_button.clicked.connect(lambda: self.switch(on=True))
        self.refresh_button = QPushButton("&Read again", self)
        self.refresh_button.clicked.connect(self.read)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        for b in (self.off_button, self.on_button, self.refresh_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        lay.addLayout(buttons)
        width = self.fontMetrics().averageCharWidth()
        self.resize(min(width * 110, 1100), self.fontMetrics().height() * 30)
        ctx.notifier.changed.connect(self._on_change)
        self.rows: list[FlagRow] = []
        self.waiting_for: str | None = None  # a switch said queued, watched until it goes through
        self.backend_name: str | None = None
        self._fill_mapping()
        self._fill_switches()
        self.read()

    # -- reading -------------------------------------------------------------------------
    def _fill_mapping(self, rows: list[FlagRow] | None = None) -> None:
        """The mapped flags; their state once read (unknown until then, or when the service cannot be asked)."""
        current = self._selected()
        self.table.clear()
        if rows is None:
            rows = [FlagRow(f, env, None) for f in self.flags.mapped(self.incident.id)
                    for env in (f.environments or ("(default)",))]  # fmt: skip
        self.rows = rows
        for r in rows:
            state = r.state.state_text if r.state else ("unknown" if r.problem is None else "unknown ⚠")
            item = QTreeWidgetItem([r.mapping.key, r.environment, state, r.mapping.service, r.mapping.note])
            item.setData(0, RowRole, (r.mapping.key, r.environment))
            if r.problem:
                item.setToolTip(2, r.problem)
            if r.state and r.state.enabled is False:
                item.setForeground(2, Qt.GlobalColor.darkRed)
            self.table.addTopLevelItem(item)
            if current == (r.mapping.key, r.environment):
                self.table.setCurrentItem(item)
        pad = self.fontMetrics().averageCharWidth() * 3
        for col in range(4):
            self.table.resizeColumnToContents(col)
            self.table.setColumnWidth(col, self.table.columnWidth(col) + pad)
        if self.table.currentItem() is None and self.table.topLevelItemCount():
            self.table.setCurrentItem(self.table.topLevelItem(0))
        problems = list(dict.fromkeys(r.problem for r in rows if r.problem))
        if problems:
            self.setup_note.setText("Could not read: " + " ".join(problems))
            self.setup_note.setVisible(True)
        if not rows:
            self.setup_note.setText("No flags are mapped to this incident's services. Map them in flags.toml "
                                    "in the config folder (service = …, key = …).")  # fmt: skip
        self._update_buttons()

    def read(self) -> None:
        # Asked once per read, not per selection change: it asks the keyring.
        self.backend_name, problem = self.flags.backend(exercise=self.incident.is_exercise)
        self.setup_note.setText(problem or "")
        self.setup_note.setVisible(bool(problem))
        if problem or not self.rows:
            self._update_buttons()
            return
        self.refresh_button.setEnabled(False)
        self.refresh_button.setText("Reading…")
        sync_bridge(self.ctx).tasks.run(lambda: self.flags.read(self.incident.id), self._read, self._read_failed,
                                        owner=self)  # fmt: skip

    def _read(self, rows: list[FlagRow]) -> None:
        self._read_done()
        self._fill_mapping(rows)

    def _read_done(self) -> None:
        self.refresh_button.setEnabled(True)
        self.refresh_button.setText("&Read again")

    def _read_failed(self, message: str) -> None:
        self._read_done()
        self.result.setText(f"<span style='color:#d13438'>Could not read the flags: {html.escape(message)}</span>")

    def _fill_switches(self) -> None:
        self.switches.clear()
        for o in self.flags.switches(self.incident.id):
            self.switches.addItem(o.short)

    def _on_change(self, change: Change) -> None:
        if change.incident_id not in (None, self.incident.id):
            return
        self._fill_switches()
        if self.waiting_for is not None:
            outcome = self.flags.outcome(self.waiting_for)
            if outcome.state != "queued":  # a queued switch went through later: say so, and read again
                self._delivered(outcome)

    # -- switching -----------------------------------------------------------------------
    def _selected(self) -> tuple[str, str] | None:
        item = self.table.currentItem()
        return item.data(0, RowRole) if item is not None else None

    def _update_buttons(self) -> None:
        ready = self.backend_name is not None and self._selected() is not None
        state = next((r.state for r in self.rows if (r.mapping.key, r.environment) == self._selected()), None)
        self.off_button.setEnabled(ready and (state is None or state.enabled is not False))
        self.on_button.setEnabled(ready and (state is None or state.enabled is not True))

    def switch(self, *, on: bool) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        key, env = chosen
        try:
            request = self.flags.request_switch(self.incident.id, key, None if env == "(default)" else env, on=on,
                                                author=self.ctx.author, why=self.why.text())  # fmt: skip
        except SitrepError as err:
            self.result.setText(f"<span style='color:#d13438'>{html.escape(err.message)}</span>")
            self.why.setFocus()
            return
        self.waiting_for = None
        self.result.setText(f"Switching {html.escape(key)} {'on' if on else 'off'} in {html.escape(env)}…")
        self.off_button.setEnabled(False)
        self.on_button.setEnabled(False)
        sync_bridge(self.ctx).tasks.run(lambda: self.flags.deliver(request), self._delivered, self._read_failed,
                                        owner=self)  # fmt: skip

    def _delivered(self, outcome: SwitchOutcome) -> None:
        self.waiting_for = outcome.request_entry if outcome.state == "queued" else None
        colour = _COLOURS.get(outcome.state, "#d13438")
        self.result.setText(f"<span style='color:{colour}'><b>{outcome.state.capitalize()}.</b> "
                            f"{html.escape(outcome.text)}</span>")  # fmt: skip
        self.ctx.status_message(outcome.text, error=outcome.state != "done")
        self._fill_switches()
        self.read()
