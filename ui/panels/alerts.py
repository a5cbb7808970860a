"""Alerts panel (Alt+4): correlated groups of firing alerts with their likely origin on top, every alert
below (virtualised), live. Polls the configured Alertmanagers off the GUI thread; acknowledging,
silencing and triage (the guided dialog) act on the selection. Muted and resolved alerts are grey;
a critical alert that fired during maintenance says so."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)  # fmt: skip

from services.adapters.bridge import save_bridge_template
from services.changes import Change
from services.detection.alerts import AlertView
from services.detection.correlation import AlertGroup
from services.detection.intake import PollReport, poll_alertmanagers
from services.detection.receiver import SECRET_BACKEND, AlertReceiver, webhook_parsers
from ui.alert_models import AlertRole, AlertTableModel, GroupTableModel
from ui.dialogs.triage import AlertDetailDialog, AlertQualityDialog, TriageDialog
from ui.fields import record_table
from ui.operations import run_action
from ui.panels import PanelSpec
from ui.sync_support import sync_bridge

SHOWN = 5000
SILENCE_HOURS = 2
RECEIVER_PORT = 9199


class AlertsPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.svc = ctx.sitrep.alerts
        self.dialog = None
        self._polling = False
        self.groups_model = GroupTableModel(self)
        self.alerts_model = AlertTableModel(self)
        self.groups_view = record_table(self, self.groups_model, "alert-groups", "Correlated alert groups")
        self.alerts_view = record_table(self, self.alerts_model, "alerts", "Alerts")
        for view, stretch in ((self.groups_view, 3), (self.alerts_view, 5)):
            header = view.horizontalHeader()
            header.setStretchLastSection(False)
            header.setResizeContentsPrecision(100)  # widths from the first rows, not all 10,000
            for col in range(view.model().columnCount()):
                mode = header.ResizeMode.Stretch if col == stretch else header.ResizeMode.ResizeToContents
                header.setSectionResizeMode(col, mode)
        self.groups_view.doubleClicked.connect(lambda _i: self.triage())
        self.alerts_view.doubleClicked.connect(lambda _i: self.show_alert())
        self.alerts_view.activated.connect(lambda _i: self.show_alert())
        self.groups_view.selectionModel().currentRowChanged.connect(lambda *_: self._group_chosen())

        self.heading = QLabel(self)
        self.heading.setObjectName("alerts-heading")
        self.heading.setWordWrap(True)
        self.show_state = QComboBox(self)
        self.show_state.setAccessibleName("Show alerts")
        self.show_state.addItems(["Firing", "All", "This group"])
        self.show_state.currentIndexChanged.connect(lambda _i: self.refresh())
        self.triage_button = QPushButton("&Triage group…", self)
        self.triage_button.clicked.connect(lambda: self.triage())
        self.ack_button = QPushButton("Ac&knowledge", self)
        self.ack_button.clicked.connect(self.acknowledge)
        self.silence_button = QPushButton(f"Silence {SILENCE_HOURS} h", self)
        self.silence_button.setToolTip("Mute here and silence it in Alertmanager (sent through the sync queue)")
        self.silence_button.clicked.connect(self.silence)
        self.detail_button = QPushButton("&Details…", self)
        self.detail_button.setToolTip("Labels, annotations and history (Enter or double-click on an alert)")
        self.detail_button.clicked.connect(lambda: self.show_alert())
        self.poll_button = QPushButton("&Poll now", self)
        self.poll_button.clicked.connect(self.poll)

        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.poll_button)
        groups_box = QWidget(self)
        g = QVBoxLayout(groups_box)
        g.setContentsMargins(0, 0, 0, 0)
        groups_row = QHBoxLayout()
        groups_row.addWidget(QLabel("<b>Groups</b> (likely origin first alerting upstream)", self), 1)
        groups_row.addWidget(self.triage_button)
        g.addLayout(groups_row)
        g.addWidget(self.groups_view)
        alerts_box = QWidget(self)
        a = QVBoxLayout(alerts_box)
        a.setContentsMargins(0, 0, 0, 0)
        alerts_row = QHBoxLayout()
        alerts_row.addWidget(QLabel("<b>Alerts</b>", self))
        alerts_row.addWidget(self.show_state)
        alerts_row.addStretch(1)
        alerts_row.addWidget(self.detail_button)
        alerts_row.addWidget(self.ack_button)
        alerts_row.addWidget(self.silence_button)
        a.addLayout(alerts_row)
        a.addWidget(self.alerts_view)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(groups_box)
        split.addWidget(alerts_box)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(250)  # a storm of inserts is one refresh
        self._soon.timeout.connect(self.refresh)
        self._poll_timer = QTimer(self)
        self._poll_timer.timeout.connect(self._scheduled_poll)
        self._poll_timer.start(15_000)
        QTimer.singleShot(1000, self._scheduled_poll)  # what is firing now, without waiting a whole period
        ctx.notifier.changed.connect(self._on_change)
        self._last_poll = ""
        self._reading = self._again = False
        self.receiver: AlertReceiver | None = None
        self.refreshed = 0  # how many reads have been shown (tests wait on it)
        self._register_commands()
        self.refresh()

    def focus_target(self) -> QWidget:
        return self.groups_view

    def _register_commands(self) -> None:
        if self.ctx.shell is None:
            return
        for text, slot, key in (("Triage alert group…", self.triage, "Ctrl+Shift+O"),
                                ("Poll alerts now", self.poll, None),
                                ("Alert quality…", self.quality, None),
                                ("Set the bridge room…", self.set_bridge, None),
                                ("Set the alert receiver's secret…", self.set_receiver_secret, None)):  # fmt: skip
            action = QAction(text, self)
            action.setObjectName("action-" + text.lower().replace(" ", "-").strip("…"))
            if key:
                action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _=False, s=slot: s())
            self.ctx.add_command(action, "Alerts")
        self.receive_action = QAction("Receive alert webhooks (loopback)", self)
        self.receive_action.setObjectName("action-receive-alert-webhooks")
        self.receive_action.setCheckable(True)
        self.receive_action.toggled.connect(self.set_receiving)
        self.ctx.add_command(self.receive_action, "Alerts")

    # -- reading -------------------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.topic in ("alerts", "maintenance", "external", "incident"):
            self._soon.start()

    def selected_group(self) -> AlertGroup | None:
        index = self.groups_view.currentIndex()
        return index.data(AlertRole) if index.isValid() else None

    def selected_alert(self) -> AlertView | None:
        index = self.alerts_view.currentIndex()
        return index.data(AlertRole) if index.isValid() else None

    def refresh(self) -> None:
        """Read and correlate on a pool thread (10,000 firing alerts take most of a second); the
        models are filled on the GUI thread when the answer comes. A refresh asked for meanwhile
        runs once the current one is in."""
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._again = False
        svc, mode, chosen_group = self.svc, self.show_state.currentIndex(), self.selected_group()

        def read():
            groups = sorted(svc.groups(), key=lambda g: (-g.size, -g.critical))  # the biggest problem first
            if mode == 2 and chosen_group is not None:
                return groups, svc.alerts_of(chosen_group)
            return groups, svc.list(state="firing" if mode == 0 else None, limit=SHOWN)

        def failed(message: str) -> None:
            self._reading = False
            self.ctx.status_message(message, error=True)

        sync_bridge(self.ctx).tasks.run(read, lambda answer: self._show(answer, mode), failed, owner=self)

    def _show(self, answer, mode: int) -> None:
        self._reading = False
        if self._again:
            self._soon.start()
        groups, alerts = answer
        chosen_group = self.selected_group()
        chosen_alert = self.selected_alert()
        self.groups_model.set_rows(groups)
        self.alerts_model.set_rows(alerts)
        if chosen_group is not None:
            for row, g in enumerate(groups):
                if chosen_group.key == g.key:
                    self.groups_view.selectRow(row)
        elif groups:
            self.groups_view.selectRow(0)
        if chosen_alert is not None:
            for row, a in enumerate(alerts):
                if a.id == chosen_alert.id:
                    self.alerts_view.selectRow(row)
                    break
        firing = sum(1 for a in alerts if a.state == "firing") if mode != 2 else len(alerts)
        muted = sum(1 for a in alerts if a.muted_by)
        self.heading.setText(f"{len(groups)} group(s) to triage · {firing} firing · {muted} muted"
                             + (f" · {self._last_poll}" if self._last_poll else ""))  # fmt: skip
        self.triage_button.setEnabled(bool(groups))
        self.refreshed += 1

    def _group_chosen(self) -> None:
        if self.show_state.currentIndex() == 2:
            self._soon.start()

    # -- acting ----------------------------------------------------------------------------------
    def acknowledge(self) -> None:
        alert = self.selected_alert()
        if alert is None:
            self.ctx.status_message("Choose an alert to acknowledge.", error=True)
            return
        run_action(self.ctx, self, self.svc.ack, alert.id, author=self.ctx.author, success=f"Acknowledged {alert.rule}.")

    def silence(self) -> None:
        alert = self.selected_alert()
        if alert is None:
            self.ctx.status_message("Choose an alert to silence.", error=True)
            return
        until = self.ctx.sitrep.now() + timedelta(hours=SILENCE_HOURS)
        run_action(self.ctx, self, self.svc.silence, alert.id, until, author=self.ctx.author,
                   success=f"{alert.rule} muted; its silence is queued for Alertmanager.")  # fmt: skip

    def triage(self, group: AlertGroup | None = None) -> TriageDialog | None:
        group = group or self.selected_group()
        if group is None:
            self.ctx.status_message("No alert group to triage.", error=True)
            return None
        window = self.ctx.dialog_parent(self)
        dialog = self.dialog = TriageDialog(self.ctx, group, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self.refresh())
        dialog.open()
        return dialog

    def show_alert(self) -> AlertDetailDialog | None:
        alert = self.selected_alert()
        if alert is None:
            self.ctx.status_message("Choose an alert.", error=True)
            return None
        window = self.ctx.dialog_parent(self)
        dialog = self.dialog = AlertDetailDialog(self.ctx, alert, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def quality(self) -> AlertQualityDialog:
        window = self.ctx.dialog_parent(self)
        dialog = self.dialog = AlertQualityDialog(self.ctx, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _scheduled_poll(self) -> None:
        if "alertmanager" in self.ctx.sitrep.sync.writer.adapters:
            self.poll(quiet=True)

    def poll(self, quiet: bool = False) -> None:
        if self._polling:
            return
        self._polling = True
        self.poll_button.setEnabled(False)
        sitrep = self.ctx.sitrep

        def done(report: PollReport) -> None:
            self._polling = False
            self.poll_button.setEnabled(True)
            self._last_poll = f"polled {report.sources} Alertmanager(s): {report.new} new"
            if report.problems:
                self.ctx.status_message("Alert poll: " + "; ".join(report.problems), error=True)
            elif not report.sources and not quiet:
                self.ctx.status_message("No Alertmanager is set up (Tools ▸ Backends…).", error=True)
            self.refresh()

        def failed(message: str) -> None:
            self._polling = False
            self.poll_button.setEnabled(True)
            self.ctx.status_message(f"Alert poll failed: {message}", error=True)

        sync_bridge(self.ctx).tasks.run(lambda: poll_alertmanagers(sitrep), done, failed, owner=self)

    # -- settings and the receiver --------------------------------------------------------------
    def set_bridge(self) -> None:
        text, ok = QInputDialog.getText(self, "Bridge room", "URL template of the standing bridge room "
                                        "(fields: {key}, {number}, {slug}, {severity}):",
                                        text="https://meet.example.com/ir-{key}")  # fmt: skip
        if ok:
            run_action(self.ctx, self, save_bridge_template, self.ctx.paths.config, text.strip(),
                       success="Bridge room saved: SEV1 declarations open it.")  # fmt: skip

    def set_receiver_secret(self) -> None:
        text, ok = QInputDialog.getText(self, "Alert receiver", "Shared secret senders put in X-Sitrep-Secret "
                                        "(kept in the OS keyring):", QLineEdit.EchoMode.Password)  # fmt: skip
        if ok and text.strip():
            run_action(self.ctx, self, self.ctx.sitrep.sync.secrets.set, SECRET_BACKEND, "shared_secret", text.strip(),
                       success="Receiver secret stored in the keyring.")  # fmt: skip

    def set_receiving(self, on: bool) -> None:
        if not on:
            if self.receiver is not None:
                self.receiver.stop()
                self.receiver = None
                self.ctx.status_message("Alert receiver stopped.")
            return
        sitrep = self.ctx.sitrep
        port = int(self.ctx.settings.value("alerts/receiver_port", RECEIVER_PORT))
        try:
            self.receiver = AlertReceiver(sitrep.alerts.ingest, sitrep.sync.secrets, sitrep.now, port=port,
                                          parsers=webhook_parsers(sitrep.sync.available),
                                          config_dir=self.ctx.paths.config).start()  # fmt: skip
        except OSError as exc:
            self.receive_action.setChecked(False)
            self.ctx.status_message(f"The alert receiver could not listen on 127.0.0.1:{port}: {exc.strerror}.",
                                    error=True)  # fmt: skip
            return
        problems = "; ".join(self.receiver.problems)
        self.ctx.status_message(f"Receiving alerts at {self.receiver.url}/<source> and /hooks/<name>."
                                + (f" {problems}" if problems else ""), error=bool(problems))  # fmt: skip

    def shutdown(self) -> None:
        self._poll_timer.stop()
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None


PANEL = PanelSpec(
    id="alerts",
    title="Alerts",
    factory=AlertsPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Alt+4",
    visible_by_default=False,
    readable_height=300,
)
