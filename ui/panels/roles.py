"""Role board: who holds each role now, since when, and how far their first-10-minutes checklist is."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from models.enums import Status
from services.changes import Change, Topic
from services.record.views import IncidentView
from ui.dialogs.roles import AssignDialog, HandoverDialog, ReleaseDialog, RoleChangeDialog, RoleHistoryDialog
from ui.fatigue_notice import FatigueNotice
from ui.fields import ErrorLabel, record_table
from ui.item_models.roles import ChecklistModel, RoleBoardModel, RoleRow, holder_tooltip, since_tooltip
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.timefmt import duration_text, person_local_time, viewer_time

SHORTCUTS = {
    "assign": "Ctrl+Shift+A",
    "handover": "Ctrl+Shift+H",
    "release": "Ctrl+Shift+U",
    "history": "Ctrl+Shift+Y",
}


class RoleBoardPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident: IncidentView | None = None
        self.dialog: QWidget | None = None  # the last dialog opened, for tests and for focus
        self.model = RoleBoardModel(ctx.sitrep.now, self)
        self.checklist_model = ChecklistModel(self)
        self.checklist_model.ticker = self._tick
        self._build()
        self._register_commands()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self._time_passed)
        self._clock.start()
        ctx.notifier.changed.connect(self._on_change)
        self.set_incident(None)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.fatigue = FatigueNotice(self.ctx, self.hand_over_to, self)
        lay.addWidget(self.fatigue)
        self.view = record_table(self, self.model, "role-board-view", "Role board")
        hh = self.view.horizontalHeader()
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(RoleBoardModel.COL_HOLDER, QHeaderView.ResizeMode.Stretch)
        fm = self.fontMetrics()
        pad = fm.averageCharWidth() * 3
        for col, sample in (
            (RoleBoardModel.COL_ROLE, "Liaison"),
            (RoleBoardModel.COL_SINCE, "Wed 23:59"),
            (RoleBoardModel.COL_CHECKLIST, "Checklist"),
        ):
            self.view.setColumnWidth(col, fm.horizontalAdvance(sample) + pad)
        self.view.activated.connect(lambda _idx: self.open_assign_or_handover())
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())

        detail = QWidget(self)
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 4, 0, 0)
        self.role_title = QLabel(detail)
        self.role_title.setObjectName("role-title")
        font = self.role_title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.role_title.setFont(font)
        self.holder_line = QLabel(detail)
        self.holder_line.setObjectName("role-holder")
        self.holder_line.setWordWrap(True)
        self.holder_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.mission = QLabel(detail)
        self.mission.setObjectName("role-mission")
        self.mission.setWordWrap(True)
        self.mission.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.checklist_label = QLabel("&Checklist:", detail)
        self.checklist = QListView(detail)
        self.checklist.setObjectName("role-checklist")
        self.checklist.setAccessibleName("Role checklist (Space ticks an item)")
        self.checklist.setModel(self.checklist_model)
        self.checklist.setWordWrap(True)
        self.checklist.setUniformItemSizes(False)
        self.checklist.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.checklist.setAlternatingRowColors(True)
        self.checklist.setSpacing(max(1, self.fontMetrics().height() // 8))  # wrapped items need air
        self.checklist_label.setBuddy(self.checklist)
        dl.addWidget(self.role_title)
        dl.addWidget(self.holder_line)
        dl.addWidget(self.mission)
        dl.addWidget(self.checklist_label)
        dl.addWidget(self.checklist, 1)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.setObjectName("role-board-split")
        split.setChildrenCollapsible(False)
        split.addWidget(self.view)
        split.addWidget(detail)
        rows = len(self.ctx.sitrep.catalog.roles)
        # The table never needs more than its rows; spare height goes to the checklist.
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        table_height = self.view.horizontalHeader().sizeHint().height() + (fm.height() + 8) * rows
        split.setSizes([table_height + 2 * self.view.frameWidth() + 2, fm.height() * 16])
        lay.addWidget(split, 1)

        self.closed_note = QLabel(self)
        self.closed_note.setObjectName("role-closed-note")
        self.closed_note.setWordWrap(True)
        self.closed_note.hide()
        lay.addWidget(self.closed_note)
        self.error = ErrorLabel(self, name="role-board-error")
        lay.addWidget(self.error)

        buttons = QHBoxLayout()
        self.assign_button = QPushButton("&Assign…", self)
        self.handover_button = QPushButton("Hand &over…", self)
        self.release_button = QPushButton("Re&lease…", self)
        self.history_button = QPushButton("Histor&y…", self)
        for button, key, tip, slot in (
            (self.assign_button, "assign", "Give the selected role to a responder", self.open_assign),
            (
                self.handover_button,
                "handover",
                "Hand the selected role over, with a brief",
                self.open_handover,
            ),
            (self.release_button, "release", "Release the selected role", self.open_release),
            (self.history_button, "history", "Who held which role when", self.open_history),
        ):
            button.setObjectName(f"role-{key}")
            button.setToolTip(f"{tip} ({SHORTCUTS[key]})")
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)  # a wide board keeps its buttons button-sized
        lay.addLayout(buttons)

    def _register_commands(self) -> None:
        self.actions_by_key: dict[str, QAction] = {}
        if self.ctx.shell is None:  # standing alone: no menus or palette to list them in
            return
        add = self.ctx.shell.add_command
        for key, text, slot, menu in (
            ("assign", "Assign a role…", self.open_assign, "Incident"),
            ("handover", "Hand over a role…", self.open_handover, "Incident"),
            ("release", "Release a role…", self.open_release, "Incident"),
            ("history", "Role history (who held which role when)…", self.open_history, "Incident"),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(SHORTCUTS[key]))
            action.triggered.connect(slot)
            add(action, menu)
            self.actions_by_key[key] = action

    def focus_target(self) -> QWidget:
        return self.view

    # -- following the incident ----------------------------------------------------------------
    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if self.incident is None:
            return
        if change.initiator is self:
            return  # our own checklist tick: _tick already refreshes, after the model's setData returns
        # A role change on another incident counts too: who is free to relieve a tired holder changed.
        if change.topic in {Topic.ROLES, Topic.PEOPLE, Topic.EXTERNAL} and change.incident_id in (
            None,
            self.incident.id,
        ) or change.topic is Topic.ROLES:
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Read the holders again and repaint; the selected role stays selected."""
        catalog = self.ctx.sitrep.catalog.roles
        holders = {}
        if self.incident is not None:
            ok, held = read_or_say(
                self.ctx, self.ctx.sitrep.roles.holders, self.incident.id, say=self.error.show_error
            )
            if not ok:
                return
            holders = {h.role: h for h in held}
        self.error.show_error(None)
        rows = [RoleRow(definition, holders.get(definition.id)) for definition in catalog.values()]
        selected = self.selected_role_id()
        self.model.set_rows(rows if self.incident is not None else [])
        self.fatigue.show_for(self.incident)
        if self.incident is not None:
            row = self.model.row_of(selected) if selected else None
            if not self.view.currentIndex().isValid() or row is None:
                row = 0 if row is None else row
                self.view.selectionModel().setCurrentIndex(
                    self.model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
                )
        self._show_selected()

    def _time_passed(self) -> None:
        self.model.tick()
        self.fatigue.show_for(self.incident)
        self._show_selected()

    # -- the selected role -----------------------------------------------------------------
    def selected_role_id(self) -> str | None:
        r = self.selected_row()
        return r.role.id if r else None

    def selected_row(self) -> RoleRow | None:
        idx = self.view.currentIndex()
        return self.model.row(idx.row()) if idx.isValid() else None

    def select_role(self, role_id: str) -> None:
        row = self.model.row_of(self.ctx.sitrep.catalog.role(role_id).id)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row, 0))

    @property
    def can_change(self) -> bool:
        return self.incident is not None and self.incident.status is not Status.CLOSED

    def _show_selected(self) -> None:
        r = self.selected_row()
        changeable = self.can_change
        held = r is not None and r.holding is not None
        self.assign_button.setEnabled(changeable and r is not None and not held)
        self.handover_button.setEnabled(changeable and held)
        self.release_button.setEnabled(changeable and held)
        self.history_button.setEnabled(self.incident is not None)
        self.closed_note.setVisible(self.incident is not None and not changeable)
        self.closed_note.setText(
            f"{self.incident.key} is closed: its roles are the record now." if self.incident else ""
        )
        for key, action in self.actions_by_key.items():
            if key == "history":
                action.setEnabled(self.incident is not None)
            else:
                action.setEnabled(changeable)
        if r is None:
            self.role_title.setText("No incident open" if self.incident is None else "")
            self.holder_line.setText(
                "Open or declare an incident to staff its roles." if self.incident is None else ""
            )
            self.holder_line.setToolTip("")
            self.mission.setText("")
            self.checklist_model.set_checklist((), (), False)
            self.checklist_label.setText("&Checklist:")
            return
        self.role_title.setText(r.role.name)
        self.mission.setText(r.role.mission)
        h = r.holding
        now = self.ctx.sitrep.now()
        if h is None:
            self.holder_line.setText("Unassigned. Press Assign (Ctrl+Shift+A) to give it to someone.")
            self.holder_line.setToolTip("")
        else:
            since = viewer_time(h.started_at, now)
            self.holder_line.setText(
                f"<b>{_esc(h.person.name)}</b> (@{_esc(h.person.handle)}) since {since}, "
                f"{duration_text(now - h.started_at)} · their time {person_local_time(h.person.timezone, now)}"
            )
            self.holder_line.setToolTip(holder_tooltip(h, now) + "\n\n" + since_tooltip(h, now))
        self.checklist_label.setText(
            f"&Checklist: {r.progress_text()} done" if h is not None and r.total else "&Checklist:"
        )
        self.checklist_model.set_checklist(
            r.role.checklist, h.checklist_done if h else (), changeable and h is not None
        )

    # -- ticking the checklist ---------------------------------------------------------------
    def _tick(self, item: int, done: bool) -> bool:
        r = self.selected_row()
        if r is None or self.incident is None:
            return False
        ok, _ = run_action(
            self.ctx,
            self,
            self.ctx.sitrep.roles.tick_checklist,
            self.incident.id,
            r.role.id,
            item,
            done,
            author=self.ctx.author,
        )
        if ok:
            QTimer.singleShot(0, self.refresh)  # progress column; not now: we are inside the model's setData
        return ok

    def tick(self, role_id: str, item: int, done: bool = True) -> bool:
        """Tick (or untick) a checklist item through the checklist model, as a click would."""
        self.select_role(role_id)
        ok = self.checklist_model.setData(
            self.checklist_model.index(item, 0),
            Qt.CheckState.Checked if done else Qt.CheckState.Unchecked,
            Qt.ItemDataRole.CheckStateRole,
        )
        self.refresh()
        return ok

    # -- dialogs -----------------------------------------------------------------------------
    def _can_open(self) -> bool:
        if self.incident is None:
            self.ctx.status_message("Open an incident first (Ctrl+I).", error=True)
            return False
        if not self.can_change and self.incident is not None:
            self.ctx.status_message(
                f"{self.incident.key} is closed; its roles can no longer change.", error=True
            )
            return False
        return True

    def _prepare(self, dialog: RoleChangeDialog) -> RoleChangeDialog:
        previous = self.dialog
        if previous is not None and shiboken6.isValid(previous) and not previous.isVisible():
            previous.deleteLater()
        dialog.accepted.connect(self._after_change)
        self.dialog = dialog
        return dialog

    def _selected_if(self, held: bool) -> str | None:
        """The selected role when it suits the dialog (free for assign, held for the others)."""
        r = self.selected_row()
        return r.role.id if r is not None and (r.holding is not None) == held else None

    def assign_dialog(self, role_id: str | None = None) -> AssignDialog:
        """Assign this role, else the selected free role, else the first free one. Not yet shown."""
        return self._prepare(AssignDialog(self.ctx, self.incident, role_id or self._selected_if(False), self))

    def handover_dialog(self, role_id: str | None = None) -> HandoverDialog:
        return self._prepare(
            HandoverDialog(self.ctx, self.incident, role_id or self._selected_if(True), self)
        )

    def release_dialog(self, role_id: str | None = None) -> ReleaseDialog:
        return self._prepare(ReleaseDialog(self.ctx, self.incident, role_id or self._selected_if(True), self))

    def open_assign(self) -> AssignDialog | None:
        if not self._can_open():
            return None
        dialog = self.assign_dialog()
        dialog.open()
        return dialog

    def open_handover(self) -> HandoverDialog | None:
        if not self._can_open():
            return None
        dialog = self.handover_dialog()
        dialog.open()
        return dialog

    def open_release(self) -> ReleaseDialog | None:
        if not self._can_open():
            return None
        dialog = self.release_dialog()
        dialog.open()
        return dialog

    def hand_over_to(self, role_id: str, handle: str) -> HandoverDialog | None:
        """The fatigue notice's suggestion: the ordinary handover, with the relief chosen."""
        if not self._can_open():
            return None
        dialog = self.handover_dialog(role_id)
        dialog.responder.choose(handle)
        dialog.open()
        return dialog

    def open_assign_or_handover(self) -> QWidget | None:
        """Enter on a role: assign it if free, hand it over if held."""
        r = self.selected_row()
        if r is not None and r.holding is not None:
            return self.open_handover()
        return self.open_assign()

    def open_history(self) -> RoleHistoryDialog | None:
        if self.incident is None:
            self.ctx.status_message("Open an incident first (Ctrl+I).", error=True)
            return None
        dialog = RoleHistoryDialog(self.ctx, self.incident, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _after_change(self) -> None:
        self.refresh()
        self.view.setFocus()

    # -- the same paths, for scripts and tests -----------------------------------------------------
    def assign(self, role_id: str, handle: str, *, at: str = "") -> bool:
        dialog = self.assign_dialog(role_id)
        dialog.responder.choose(handle)
        dialog.at.setText(at)
        return dialog.submit()

    def hand_over(self, role_id: str, handle: str, brief: dict[str, str], *, at: str = "") -> bool:
        dialog = self.handover_dialog(role_id)
        dialog.responder.choose(handle)
        dialog.set_brief(brief)
        dialog.at.setText(at)
        return dialog.submit()

    def release(self, role_id: str, *, reason: str = "", at: str = "") -> bool:
        dialog = self.release_dialog(role_id)
        dialog.reason.setText(reason)
        dialog.at.setText(at)
        return dialog.submit()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


PANEL = PanelSpec(
    id="roles",
    title="Role board",
    factory=RoleBoardPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    default_width=380,
    shortcut="Alt+3",
)
