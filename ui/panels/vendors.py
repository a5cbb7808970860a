"""Vendor cases: the incident's cases (or every open case, or all) with the contract's clocks, the ladder and
what happened on the selected case; open a case, record a reply, climb the ladder, close. The same cases as
`sitrep vendor cases`. A missed contract time turns red here and in the header's clocks, and is on the timeline
(recorded by the header's clock check, which runs these clocks with the severity clocks)."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.changes import Change, Topic
from services.record.views import IncidentView
from services.vendors.views import VendorCaseView
from ui.dialogs.vendor_case import CloseCaseDialog, OpenCaseDialog, RegisterDialog, ReplyDialog
from ui.forms import QuietLabel
from ui.item_models.rows import ROW_ROLE, SORT_ROLE
from ui.item_models.vendors import VendorCasesModel
from ui.operations import read_or_say, run_action
from ui.panels import PanelSpec
from ui.timefmt import viewer_time

SCOPES = (("This incident", "incident"), ("Open cases, all incidents", "open"), ("All cases", "all"))


class VendorCasesPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident: IncidentView | None = None
        self._recorded: set = set()  # (clock id, due) of the breaches this panel saw recorded
        self.setObjectName("vendor-cases-panel")
        self.scope = QComboBox(self)
        self.scope.setObjectName("vendor-scope")
        self.scope.setAccessibleName("Which vendor cases")
        for label, key in SCOPES:
            self.scope.addItem(label, key)
        self.scope.currentIndexChanged.connect(lambda _i: self.refresh())
        self.summary = QuietLabel("", self)
        self.summary.setObjectName("vendor-summary")
        self.model = VendorCasesModel(ctx.sitrep.now, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView(self)
        self.table.setObjectName("vendor-cases-table")
        self.table.setAccessibleName("Vendor cases")
        self.table.setModel(self.proxy)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._show_detail())
        self.table.doubleClicked.connect(lambda _i: self.record_reply())
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("vendor-case-detail")
        self.detail.setAccessibleName("The selected case: contract, ladder, what happened")
        self.detail.setReadOnly(True)
        self.detail.setTabChangesFocus(True)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        # Mnemonics chosen clear of the menus' and the role board's (Alt+C, O, L, I, A, T are theirs): a shared
        # one only moves the focus between the two and presses neither.
        for text, name, slot in (("Ope&n case…", "vendor-open-case", self.open_case),
                                 ("Record &reply…", "vendor-reply", self.record_reply),
                                 ("Clim&b ladder", "vendor-climb", self.climb),
                                 ("Clos&e case…", "vendor-close", self.close_case),
                                 ("&Go to incident", "vendor-go-incident", self.go_to_incident),
                                 ("Edit regi&ster…", "vendor-register", self.edit_register)):  # fmt: skip
            b = QPushButton(text, self)
            b.setObjectName(name)
            b.clicked.connect(lambda _c=False, f=slot: f())
            buttons.addWidget(b)
            self.buttons[name] = b
        buttons.addStretch(1)
        top = QHBoxLayout()
        show = QLabel("Sho&w", self)
        show.setBuddy(self.scope)
        top.addWidget(show)
        top.addWidget(self.scope)
        top.addWidget(self.summary, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addLayout(buttons)
        self._soon = QTimer(self, singleShot=True, interval=150)
        self._soon.timeout.connect(self.refresh)
        # Deadlines pass with nobody acting: the states are re-read every half minute.
        self._tick = QTimer(self, interval=30_000)
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        ctx.notifier.changed.connect(self._on_change)
        if ctx.shell is not None:
            show_act = QAction("Vendor cases", self)
            show_act.setObjectName("action-vendor-cases")
            show_act.triggered.connect(lambda: ctx.shell.show_panel("vendors"))
            ctx.add_command(show_act, "Incident")
            open_act = QAction("Open vendor case…", self)
            open_act.setObjectName("action-vendor-open-case")
            open_act.triggered.connect(self.open_case)
            ctx.add_command(open_act, "Incident")
            reg_act = QAction("Edit vendor register…", self)
            reg_act.setObjectName("action-vendor-register")
            reg_act.triggered.connect(self.edit_register)
            ctx.add_command(reg_act, "Tools")
        self.refresh()

    def focus_target(self) -> QWidget:
        return self.table

    def set_incident(self, incident: IncidentView | None) -> None:
        self.incident = incident
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if change.topic in (Topic.VENDORS, Topic.INCIDENT, Topic.EXTERNAL):
            self._soon.start()
        elif change.topic is Topic.TIMELINE and self.incident is not None and change.incident_id == self.incident.id:
            self._soon.start()  # a breach the header's clock check recorded: the summary counts it

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._soon.start()  # deadlines passed while it was hidden

    # -- reading ----------------------------------------------------------------------------------
    def current_case(self) -> VendorCaseView | None:
        index = self.table.currentIndex()
        return self.proxy.data(index, ROW_ROLE) if index.isValid() else None

    def refresh(self) -> None:
        scope = self.scope.currentData()
        if scope == "incident" and self.incident is None:
            self.model.set_rows([])
            self.summary.setText("No incident is open.")
            self._show_detail()
            return
        keep = self.current_case()
        vendors = self.ctx.sitrep.vendors
        ok, cases = read_or_say(self.ctx, vendors.cases, self.incident.id if scope == "incident" else None,
                                open_only=scope == "open", what="The vendor cases cannot be read")  # fmt: skip
        if not ok:
            return
        self.model.set_rows(cases or [])
        self._record_breaches(cases or [])
        now = self.ctx.sitrep.now()
        breached = sum(1 for c in cases or [] if any(k.state(now) in ("breached", "met_late") for k in c.clocks()))
        still_open = sum(1 for c in cases or [] if c.is_open)
        count = len(cases or [])
        text = f"{count} case{'s' if count != 1 else ''}, {still_open} open, {breached} with a missed contract time."
        problems = vendors.register.problems
        if problems:
            text += f" Vendor register problem: {'; '.join(problems)}"
        self.summary.setText(text)
        self.table.resizeColumnsToContents()
        row = 0
        if keep is not None:
            row = next((i for i in range(self.proxy.rowCount())
                        if self.proxy.data(self.proxy.index(i, 0), ROW_ROLE).id == keep.id), 0)  # fmt: skip
        if self.proxy.rowCount():
            self.table.selectRow(row)
        self._show_detail()

    def _record_breaches(self, shown: list[VendorCaseView]) -> None:
        """A contract time that ran out goes on the timeline through the clock check the header runs for the
        severity clocks (these clocks are shown here, not as its chips). Asked only for a breach this panel
        has not seen recorded, so the store is not written every half minute for nothing."""
        if self.ctx.sitrep.read_only:
            return
        ok, still_open = read_or_say(self.ctx, self.ctx.sitrep.vendors.cases, open_only=True, default=[])
        now = self.ctx.sitrep.now()
        overdue: dict[str, set] = {}
        for case in {c.id: c for c in [*shown, *(still_open or [])]}.values():
            for clock in case.clocks():
                if clock.state(now) in ("breached", "met_late") and (clock.id, clock.due_at) not in self._recorded:
                    overdue.setdefault(case.incident_id, set()).add((clock.id, clock.due_at))
        for incident_id, seen in overdue.items():
            ok, fresh = read_or_say(self.ctx, self.ctx.sitrep.clocks.check, incident_id, author="sitrep",
                                    what="Clock check failed")  # fmt: skip
            if not ok:
                continue
            self._recorded |= seen
            vendor_clocks = [c.label for c in fresh or [] if c.id.startswith(("vendor_response", "vendor_resolution"))]
            if vendor_clocks:
                self.ctx.status_message(f"Vendor contract time missed: {', '.join(vendor_clocks)}.", error=True)

    def _show_detail(self) -> None:
        case = self.current_case()
        if case is None:
            self.detail.setPlainText("No case selected. Open case… starts one for the incident shown.")
            self._enable(None)
            return
        now = self.ctx.sitrep.now()
        t = case.terms
        lines = [f"{case.key} with {case.vendor_name} on {case.incident_key}: {case.state_text(now)}",
                 f"Contract {case.contract_ref} ({t.get('tier') or 'no tier'}), {case.priority}: "
                 f"{t.get('priority_label', '')}. Affected: {case.service or '-'}.",
                 f"Their ticket: {case.ticket_ref or 'none yet'}. Opened {viewer_time(case.opened_at, now)} by "
                 f"{case.opened_by}; {case.replies} replies."]  # fmt: skip
        for clock in case.clocks():
            met = f", met {viewer_time(clock.met_at, now)}" if clock.met_at else ""
            lines.append(f"  {clock.label}: due {viewer_time(clock.due_at, now)}, {clock.state(now).replace('_', ' ')}{met}")
        climb = case.climb_due_at
        if climb is not None:
            lines.append(f"  Climb to level {case.level + 1} due {viewer_time(climb, now)}"
                         + (" (now)" if now >= climb else ""))  # fmt: skip
        lines.append("Escalation ladder:")
        lines += [f" {line}" for line in case.ladder_lines("▶")]
        lines.append("What happened:")
        ok, events = read_or_say(self.ctx, self.ctx.sitrep.vendors.events, case.id, default=[])
        lines += [f"  {viewer_time(e.at, now)}  {e.author}: {e.text}" for e in events or []]
        self.detail.setPlainText("\n".join(lines))
        self._enable(case)

    def _enable(self, case: VendorCaseView | None) -> None:
        open_case = case is not None and case.is_open
        self.buttons["vendor-reply"].setEnabled(open_case)
        self.buttons["vendor-climb"].setEnabled(open_case and case.next_level is not None)
        self.buttons["vendor-close"].setEnabled(open_case)
        self.buttons["vendor-go-incident"].setEnabled(case is not None)
        self.buttons["vendor-open-case"].setEnabled(self.incident is not None)

    # -- acting -----------------------------------------------------------------------------------
    def _picked(self) -> VendorCaseView | None:
        case = self.current_case()
        if case is None:
            self.ctx.status_message("Pick a vendor case first.", error=True)
        return case

    def open_case(self) -> None:
        if self.incident is None:
            self.ctx.status_message("Open an incident first: a vendor case belongs to one.", error=True)
            return
        dialog = OpenCaseDialog(self.ctx, self.incident, self.ctx.dialog_parent(self))
        if dialog.exec():
            self.scope.setCurrentIndex(0)
            self.refresh()

    def record_reply(self) -> None:
        case = self._picked()
        if case is not None and ReplyDialog(self.ctx, case, self.ctx.dialog_parent(self)).exec():
            self.refresh()

    def climb(self) -> None:
        case = self._picked()
        if case is None:
            return
        ok, result = run_action(self.ctx, self, self.ctx.sitrep.vendors.climb, case.id, author=self.ctx.author)
        if ok and result is not None:
            climbed, message = result
            to = ", ".join(message.recipients.get("email_to") or []) or "no e-mail address: phone them"
            self.ctx.status_message(f"{climbed.key} escalated to level {climbed.level} ({climbed.level_title}); "
                                    f"message {message.number} drafted to {to}. Review and send it in Communications.")  # fmt: skip
            self.refresh()

    def close_case(self) -> None:
        case = self._picked()
        if case is not None and CloseCaseDialog(self.ctx, case, self.ctx.dialog_parent(self)).exec():
            self.refresh()

    def go_to_incident(self) -> None:
        case = self._picked()
        if case is not None:
            self.ctx.open_incident(case.incident_id)

    def edit_register(self) -> None:
        if RegisterDialog(self.ctx, self.ctx.dialog_parent(self)).exec():
            self.refresh()

    def shutdown(self) -> None:
        self._soon.stop()
        self._tick.stop()


PANEL = PanelSpec(
    id="vendors",
    title="Vendor cases",
    factory=VendorCasesPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Ctrl+Alt+V",
    visible_by_default=False,
    readable_height=300,
)
