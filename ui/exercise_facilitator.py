"""The facilitator's window: a window of its own on an exercise's store (beside the players' console,
or in the same console process for a second seat). The scenario clock (start, pause, resume, speed,
jump to the next inject), the MSEL with each inject pending, due or delivered, deliver now and ad-hoc
injects, and the tabs of exercise_tabs.py. It ticks the scenario clock once a second, so injects are
delivered on time while it is open."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QProcess, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QFont, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError, StoreError
from services.exercises.clock import MAX_SPEED
from services.exercises.report import BANNER as BANNER_TEXT
from services.exercises.scenario import clock_text
from services.exercises.session import end_exercise, exercise_folder, refresh_outputs
from ui.exercise_tabs import (
    ActionsTab,
    HotwashTab,
    NotesTab,
    RatingsTab,
    SandboxTab,
    SheetTab,
    fill,
    make_table,
    selected_key,
)
from ui.printing import write_pdf

log = logging.getLogger(__name__)
BANNER = "background:#7a1f1f; color:white; font-weight:bold; padding:4px 8px;"


class FacilitatorWindow(QMainWindow):
    def __init__(self, sitrep, *, author: str, owns_store: bool) -> None:
        super().__init__()
        self.sitrep = sitrep
        self.author = author
        self.owns_store = owns_store
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("exercise-facilitator")
        self.folder = exercise_folder(sitrep)
        run = sitrep.exercises.require_run()
        self.setWindowTitle(f"EXERCISE — Facilitator: {run.title} — Sitrep")
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        self.banner = QLabel(f"EXERCISE — facilitator's view · {run.title} · players: Exercise ▸ Join, or "
                             f"sitrep --data-dir {self.folder}", central)  # fmt: skip
        self.banner.setStyleSheet(BANNER)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.banner)
        for row in self._clock_bar(central):
            layout.addLayout(row)
        split = QSplitter(Qt.Orientation.Horizontal, central)
        left = QWidget(split)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("<b>MSEL</b> (master scenario events list)", left))
        self.msel = make_table(("Inject", "When", "For", "Status", "Title"), "exercise-msel", 4)
        self.msel.itemSelectionChanged.connect(self._show_inject)
        lv.addWidget(self.msel, 3)
        self.detail = QLabel(left)
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QScrollArea(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.detail)
        scroll.setMinimumHeight(80)
        lv.addWidget(scroll, 2)
        self.tabs = QTabWidget(split)
        self.tabs.setObjectName("exercise-tabs")
        self.sheet, self.notes, self.ratings = SheetTab(self), NotesTab(self), RatingsTab(self)
        self.hotwash, self.actions_tab, self.sandbox = HotwashTab(self), ActionsTab(self), SandboxTab(self)
        for tab, title in ((self.sheet, "&Expected actions"), (self.notes, "&Notes"), (self.ratings, "&Ratings"),
                           (self.hotwash, "&Hot wash"), (self.actions_tab, "&Corrective actions"),
                           (self.sandbox, "&Would have sent")):  # fmt: skip
            self.tabs.addTab(tab, title)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([560, 800])
        layout.addWidget(split, 1)
        self.setCentralWidget(central)
        self.status = self.statusBar()
        self._state = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._fit()
        self.refresh()

    def _fit(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is None:
            self.resize(1300, 720)
            return
        self.resize(min(1500, screen.width() - 40), min(900, screen.height() - 40))
        self.move(screen.x() + 10, screen.y() + 10)

    def _clock_bar(self, parent: QWidget) -> tuple[QHBoxLayout, QHBoxLayout]:
        bar = QHBoxLayout()
        self.clock_label = QLabel("T+0:00", parent)
        self.clock_label.setObjectName("exercise-clock")
        font = QFont(self.clock_label.font())
        font.setPointSize(20)
        font.setBold(True)
        self.clock_label.setFont(font)
        bar.addWidget(self.clock_label)
        self.clock_state = QLabel(parent)
        self.clock_state.setMinimumWidth(150)
        bar.addWidget(self.clock_state, 1)
        self.start_button = self._button(parent, bar, "&Start", self.start, "Ctrl+Return")
        self.pause_button = self._button(parent, bar, "&Pause", self.pause_or_resume, "Ctrl+P")
        bar.addWidget(QLabel("Speed:", parent))
        self.speed = QDoubleSpinBox(parent)
        self.speed.setRange(0.1, MAX_SPEED)
        self.speed.setDecimals(1)
        self.speed.setSuffix(" ×")
        self.speed.setAccessibleName("Scenario clock speed")
        clock = self.sitrep.exercises.clock()
        self.speed.setValue(clock.speed if clock.started else self.sitrep.exercises.scenario().speed)
        bar.addWidget(self.speed)
        self._button(parent, bar, "Set speed", self.set_speed)
        top, bar = bar, QHBoxLayout()
        self._button(parent, bar, "Ne&xt inject", self.next_inject, "Ctrl+J")
        self._button(parent, bar, "&Deliver selected now", self.deliver_selected)
        self._button(parent, bar, "&Ad-hoc inject…", self.adhoc)
        bar.addStretch(1)
        self._button(parent, bar, "Player &console", self.player_console)
        self._button(parent, bar, "AAR/&IP…", self.write_report)
        self._button(parent, bar, "&End exercise…", self.end)
        return top, bar

    def _button(self, parent, bar, text: str, slot, shortcut: str | None = None) -> QPushButton:
        button = QPushButton(text, parent)
        button.clicked.connect(lambda _c=False: slot())
        if shortcut:
            action = QAction(text.replace("&", ""), self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _c=False: slot())
            self.addAction(action)
            button.setToolTip(shortcut)
        bar.addWidget(button)
        return button

    # -- acting ---------------------------------------------------------------------------------
    def ctx_message(self, text: str, error: bool = False) -> None:
        self.status.showMessage(text, 10000)
        if error:
            log.info("facilitator: %s", text)

    def act(self, fn, *args, **kw) -> bool:
        try:
            fn(*args, **kw)
        except StoreError as err:
            QMessageBox.critical(self, "Exercise store", err.message)
            return False
        except SitrepError as err:
            self.ctx_message(err.message, error=True)
            return False
        self.refresh()
        return True

    @property
    def svc(self):
        return self.sitrep.exercises

    def start(self) -> None:
        self.act(self.svc.start, by=self.author, speed=self.speed.value())

    def pause_or_resume(self) -> None:
        clock = self._state.clock if self._state else self.svc.clock()
        self.act(self.svc.pause if clock.running else self.svc.resume, by=self.author)

    def set_speed(self) -> None:
        if self.act(self.svc.set_speed, self.speed.value(), by=self.author):
            self.ctx_message(f"The scenario clock runs at ×{self.speed.value():g}.")

    def next_inject(self) -> None:
        try:
            delivered = self.svc.jump_to_next(by=self.author)
        except SitrepError as err:
            self.ctx_message(err.message, error=True)
            return
        self.ctx_message(f"Delivered {delivered}." if delivered else "Every timed inject has been delivered.")
        self.refresh()

    def deliver_selected(self) -> None:
        key = selected_key(self.msel)
        if key is None:
            self.ctx_message("Select an inject in the MSEL to deliver it now.")
            return
        if self.act(self.svc.deliver_now, key, by=self.author):
            self.ctx_message(f"Delivered {key}.")

    def adhoc(self) -> None:
        dialog = AdhocDialog(self.sitrep.catalog, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            to = (dialog.to.currentData(),)
            self.act(self.svc.adhoc, dialog.title.text(), dialog.content.toPlainText(), to=to,
                     channel=dialog.channel.text() or "facilitator", by=self.author)  # fmt: skip

    def player_console(self) -> None:
        if start_player_console(self.folder, self.author):
            self.ctx_message("Opening a player console on this exercise's store…")
        else:
            self.ctx_message(f"Could not start a console; run: sitrep --data-dir {self.folder}", error=True)

    def write_report(self) -> None:
        try:
            files, page = refresh_outputs(self.sitrep)
            write_pdf_report(page, files["pdf"], self.svc.scenario().title)
        except SitrepError as err:
            QMessageBox.warning(self, "After-action report", err.message)
            return
        self.ctx_message(f"AAR/IP written: {files['pdf']}")
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    def end(self) -> None:
        answer = QMessageBox.question(self, "End the exercise", "End play now? The scenario clock stops, expected "
                                      "actions still open count as missed, and the AAR/IP is written.")  # fmt: skip
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            files = end_exercise(self.sitrep, by=self.author)
            write_pdf_report(files["html"].read_text(encoding="utf-8"), files["pdf"], self.svc.scenario().title)
        except (SitrepError, OSError) as err:
            QMessageBox.warning(self, "End the exercise", getattr(err, "message", str(err)))
            return
        self.refresh()
        self.tabs.setCurrentWidget(self.ratings)
        self.ctx_message(f"Exercise ended. Rate the objectives and run the hot wash; the AAR/IP is in {self.folder}.")

    # -- showing --------------------------------------------------------------------------------
    def refresh(self) -> None:
        try:
            st = self.svc.state() if self.sitrep.read_only else self.svc.tick_state()[1]
        except SitrepError as err:
            self.ctx_message(err.message, error=True)
            return
        self._state = st
        clock = st.clock
        self.clock_label.setText(st.clock_text)
        if st.ended:
            state = "ended"
        elif not clock.started:
            state = "not started"
        else:
            state = f"running ×{clock.speed:g}" if clock.running else f"paused (×{clock.speed:g})"
        nxt = st.next_inject
        if nxt is not None and clock.running:
            wait = clock.wall_seconds_until(nxt.due_s or 0.0, st.now)
            state += f" · next {nxt.id} at {clock_text(nxt.due_s or 0.0)} (in {wait:.0f} s)"
        self.clock_state.setText(state)
        self.start_button.setEnabled(not clock.started)
        self.pause_button.setEnabled(clock.started and not st.ended)
        self.pause_button.setText("&Resume" if clock.started and not clock.running and not st.ended else "&Pause")
        roles = self.sitrep.catalog.roles
        rows = [(m.id, m.when, ", ".join(roles[r].short if r in roles else r for r in m.to),
                 m.status + (f" {clock_text(m.delivered_s)}" if m.delivered_s is not None else ""), m.title) for m in st.msel]  # fmt: skip
        fill(self.msel, rows, [m.id for m in st.msel], status_col=3)
        counts = st.counts()
        self.tabs.setTabText(0, f"&Expected: {counts.get('met', 0)} met · {counts.get('late', 0)} late · "
                                f"{counts.get('missed', 0)} missed")  # fmt: skip
        for tab in (self.sheet, self.notes, self.ratings, self.hotwash, self.actions_tab, self.sandbox):
            tab.update_state(st)
        self._show_inject()

    def _show_inject(self) -> None:
        key = selected_key(self.msel)
        st = self._state
        if st is None:
            return
        row = next((m for m in st.msel if m.id == key), None) or st.next_inject
        if row is None:
            self.detail.setText("")
            return
        focus = f"<br><i>Evaluator focus:</i> {_esc(row.evaluator_focus)}" if row.evaluator_focus else ""
        module = next((m for m in st.scenario.modules if m.id == row.module), None)
        questions = ""
        if module is not None and module.questions:
            items = "".join(f"<li>{_esc(q)}</li>" for q in module.questions)
            questions = f"<br><i>Discussion, {_esc(module.id)} {_esc(module.title)}:</i><ul style='margin:0'>{items}</ul>"
        self.detail.setText(f"<b>{_esc(row.id)} {_esc(row.when)} · {_esc(row.channel)}</b><br>{_esc(row.title)}<br>"
                            f"{_esc(row.content)}{focus}{questions}")  # fmt: skip

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._timer.stop()
        if self.owns_store:
            self.sitrep.close()
        super().closeEvent(event)


def _esc(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def start_player_console(folder, author: str) -> bool:
    """A second console, in its own process, on the exercise's store: the players' seat."""
    return QProcess.startDetached(sys.executable, ["-m", "app", "--data-dir", str(folder), "--as", author])[0]


def write_pdf_report(page: str, path, title: str) -> None:
    write_pdf(page, path, title=f"AAR/IP: {title} (EXERCISE)", landscape=True, banner=BANNER_TEXT)


class AdhocDialog(QDialog):
    def __init__(self, catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Ad-hoc inject")
        form = QFormLayout(self)
        self.title = QLineEdit(self)
        self.content = QPlainTextEdit(self)
        self.to = QComboBox(self)
        self.to.addItem("Everyone", "all")
        for role in catalog.roles.values():
            self.to.addItem(role.name, role.id)
        self.channel = QLineEdit("facilitator", self)
        form.addRow("&Title:", self.title)
        form.addRow("&What happens:", self.content)
        form.addRow("&For:", self.to)
        form.addRow("&Channel:", self.channel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Deliver now")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(520, 300)


