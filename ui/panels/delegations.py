"""Delegations (View ▸ Delegations, Ctrl+Alt+D): the register of who may declare a major incident,
approve external messages, authorise spending and talk to regulators; expired delegations and overdue
reviews first, each with its owner; the owner's confirm, change and revoke. A status-bar indicator says
how many need their owner while the panel is closed."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change, Topic
from services.governance.delegations import DelegationView
from ui.dialogs.delegations import DelegationDialog, ReviewDialog
from ui.item_models.delegations import DelegationsModel
from ui.item_models.rows import ROW_ROLE, SORT_ROLE
from ui.operations import read_or_say
from ui.panels import PanelSpec
from ui.severity import badge_style

ATTENTION_COLOURS = ("#b3261e", "#ffffff")


class DelegationsIndicator(QToolButton):
    """The status bar's word on delegations that need their owner; a click opens the register."""

    def __init__(self, open_panel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("delegations-indicator")
        self.setAutoRaise(True)
        self.setAccessibleName("Delegations needing their owner")
        self.setStyleSheet(badge_style(ATTENTION_COLOURS))
        self.clicked.connect(open_panel)
        self.hide()

    def show_flags(self, flagged: list[DelegationView]) -> None:
        if not flagged:
            self.hide()
            return
        expired = sum(d.state == "expired" for d in flagged)
        overdue = len(flagged) - expired
        parts = ([f"{expired} expired"] if expired else []) + ([f"{overdue} review overdue"] if overdue else [])
        self.setText("⚑ Delegations: " + ", ".join(parts))
        self.setToolTip("\n".join(d.problem for d in flagged) + "\nClick to open Delegations (Ctrl+Alt+D).")
        self.show()


class DelegationsPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.dialog = None
        self.model = DelegationsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.indicator = DelegationsIndicator(self.bring_forward, self)
        self._build()
        if ctx.shell is not None:
            ctx.shell.add_status_widget(self.indicator)
        else:  # standalone (tests)
            self.button_row.addWidget(self.indicator)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(100)
        self._soon.timeout.connect(self.reload)
        # Expiry and review dates pass while the console is open: look again every 10 minutes.
        self._daily = QTimer(self)
        self._daily.setInterval(10 * 60 * 1000)
        self._daily.timeout.connect(self.reload)
        self._daily.start()
        ctx.notifier.changed.connect(self._on_change)
        self.reload()

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.attention = QLabel(self)
        self.attention.setObjectName("delegations-attention")
        self.attention.setWordWrap(True)
        self.attention.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.attention)
        self.view = QTableView(self)
        self.view.setObjectName("delegations-table")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # as reload orders them
        self.proxy.sort(-1)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.view.setAccessibleName("Delegations of authority")
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.view.doubleClicked.connect(lambda *_: self.change())
        lay.addWidget(self.view, 1)
        self.detail = QLabel(self)
        self.detail.setObjectName("delegations-detail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.detail)
        self.button_row = QHBoxLayout()
        for text, name, slot in (("&Add…", "delegations-add", self.add), ("Con&firm…", "delegations-confirm", lambda: self.review("confirm")),
                                 ("C&hange…", "delegations-change", self.change), ("Re&voke…", "delegations-revoke", lambda: self.review("revoke"))):  # fmt: skip
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.clicked.connect(lambda _c=False, f=slot: f())
            self.button_row.addWidget(button)
        self.show_revoked = QCheckBox("Show &revoked", self)
        self.show_revoked.setObjectName("delegations-show-revoked")
        self.show_revoked.toggled.connect(self.reload)
        self.button_row.addWidget(self.show_revoked)
        self.button_row.addStretch(1)
        lay.addLayout(self.button_row)
        act = QAction("Add a delegation of authority…", self)
        act.setObjectName("act-delegation-add")
        act.triggered.connect(lambda _c=False: self.add())
        self.ctx.add_command(act, "View")

    # -- reading -------------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.topic in (Topic.DELEGATIONS, Topic.PEOPLE, Topic.EXTERNAL):
            self._soon.start()

    def reload(self) -> None:
        ok, rows = read_or_say(self.ctx, self.ctx.sitrep.delegations.list, include_revoked=self.show_revoked.isChecked(),
                               what="The delegations cannot be read")  # fmt: skip
        if not ok:
            return
        keep = self.selected()
        # What needs the owner first: expired, then overdue, then due soon; the rest as the register orders them.
        order = {"expired": 0, "review overdue": 1, "review due soon": 2}
        rows = sorted(rows, key=lambda d: order.get(d.state, 3))
        self.model.set_rows(rows)
        flagged = [d for d in rows if d.flagged]
        self.indicator.show_flags(flagged)
        reg = self.ctx.sitrep.delegations
        if flagged:
            lines = [escape(reg.blocked_sentence(d), quote=False) if d.state == "expired" else
                     escape(f"{d.problem[0].upper()}{d.problem[1:]} (owner: {d.owner_name}).", quote=False) for d in flagged]  # fmt: skip
            self.attention.setText("<b>Needs its owner:</b><br>" + "<br>".join(f"⚑ {line}" for line in lines))
        else:
            self.attention.setText(f"Every delegation is in force and reviewed (every "
                                   f"{reg.settings.review_every_months} months by its owner).")  # fmt: skip
        if keep is not None:
            for r in range(self.proxy.rowCount()):
                if self.proxy.index(r, 0).data(ROW_ROLE).id == keep.id:
                    self.view.selectRow(r)
                    break
        self._show_selected()

    def selected(self) -> DelegationView | None:
        index = self.view.currentIndex()
        return index.data(ROW_ROLE) if index.isValid() else None

    def select_holder(self, holder: str, authority: str | None = None) -> bool:
        for r in range(self.proxy.rowCount()):
            d = self.proxy.index(r, 0).data(ROW_ROLE)
            if d.holder == holder and (authority is None or d.authority == authority):
                self.view.selectRow(r)
                return True
        return False

    def _show_selected(self) -> None:
        d = self.selected()
        if d is None:
            self.detail.setText("Select a delegation to see its scope and its reviews.")
            return
        if d.source != "register":
            self.detail.setText(f"{escape(d.holder_name)} is listed in comms.toml's [approval] approvers: it holds "
                                "with no expiry and no review. Add it here with an owner, and remove it from that "
                                "file, to have it reviewed.")  # fmt: skip
            return
        ok, history = read_or_say(self.ctx, self.ctx.sitrep.delegations.reviews, d.id, what="Its reviews cannot be read")
        lines = [f"<b>Scope:</b> {escape(d.scope)}" if d.scope else "<b>Scope:</b> not written down"]
        for r in (history or [])[-4:]:
            lines.append(f"{r.at:%Y-%m-%d %H:%M} UTC {escape(r.action)} by {escape(r.by)}" + (f": {escape(r.note)}" if r.note else ""))
        self.detail.setText("<br>".join(lines))

    def bring_forward(self) -> None:
        if self.ctx.shell is None or not self.ctx.shell.show_panel("delegations"):
            self.show()
        self.view.setFocus()

    # -- acting --------------------------------------------------------------------------
    def _open(self, dialog):
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.reload)
        dialog.open()
        return dialog

    def add(self):
        return self._open(DelegationDialog(self.ctx, None, self.ctx.dialog_parent(self)))

    def _need(self) -> DelegationView | None:
        d = self.selected()
        if d is None:
            self.ctx.status_message("Select a delegation first.", error=True)
        elif d.source != "register":
            self.ctx.status_message(f"{d.holder_name} comes from comms.toml's approvers: add them to the register to review.", error=True)
            return None
        return d

    def change(self):
        d = self._need()
        return self._open(DelegationDialog(self.ctx, d, self.ctx.dialog_parent(self))) if d else None

    def review(self, action: str):
        d = self._need()
        return self._open(ReviewDialog(self.ctx, d, action, self.ctx.dialog_parent(self))) if d else None


PANEL = PanelSpec(
    id="delegations",
    title="Delegations",
    factory=DelegationsPanel,
    area=Qt.DockWidgetArea.BottomDockWidgetArea,
    shortcut="Ctrl+Alt+D",
    visible_by_default=False,
    readable_height=260,
)
