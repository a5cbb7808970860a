"""The Exercise menu's commands: run a tabletop exercise (pick a scenario, start it in a store of its
own, open the facilitator's window), open a running one, join one as a player (a second console on
the exercise's store, in its own process), and the exercise history."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError
from services.exercises.clock import MAX_SPEED
from services.exercises.scenario import load_scenarios
from services.exercises.session import open_exercise
from services.exercises.workspace import Workspace, build_vocabulary, create_exercise
from ui.exercise_facilitator import FacilitatorWindow, start_player_console
from ui.operations import run_action

log = logging.getLogger(__name__)


class ExerciseLauncher(QObject):
    def __init__(self, ctx, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.parent_widget = parent
        self.windows: list[FacilitatorWindow] = []
        self._actions: list[QAction] = []
        real = not ctx.sitrep.in_exercise
        if real:
            self._add("Run a tabletop exercise…", self.run_exercise, "Ctrl+Shift+X")
            self._add("Open a running exercise as facilitator…", self.open_running)
            self._add("Join a running exercise as a player…", self.join_running)
            self._add("Exercise history…", self.show_history)
        else:
            self._add("Facilitator's view of this exercise", self.open_here, "Ctrl+Shift+X")

    def _add(self, text: str, slot, shortcut: str | None = None) -> None:
        action = QAction(text, self.parent_widget)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self._actions.append(action)

    def actions(self) -> list[QAction]:
        return list(self._actions)

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.ctx.paths.data, self.ctx.paths.config)

    # -- commands -------------------------------------------------------------------------------
    def run_exercise(self) -> None:
        s = self.ctx.sitrep
        ok, vocab = run_action(self.ctx, self.parent_widget, build_vocabulary, s.catalog, s.comms)
        if not ok:
            return
        shelf = load_scenarios(self.ctx.paths.config, vocab)
        dialog = ScenarioPicker(shelf, self.parent_widget)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.chosen is None:
            return
        scenario = dialog.chosen
        ok, folder = run_action(self.ctx, self.parent_widget, create_exercise, s, scenario, facilitator=self.ctx.author,
                                data_dir=self.ctx.paths.data, config_dir=self.ctx.paths.config)  # fmt: skip
        if not ok:
            return
        window = self._open_window(folder, owned=True)
        if window is not None:
            window.speed.setValue(dialog.speed.value())
            self.ctx.status_message(f"Exercise '{scenario.title}' is ready in its own store; start the clock when the "
                                    "players are.")  # fmt: skip

    def open_running(self) -> None:
        folder = self._pick_running("Open an exercise as facilitator")
        if folder is not None:
            self._open_window(folder, owned=True)

    def join_running(self) -> None:
        folder = self._pick_running("Join an exercise as a player")
        if folder is not None:
            start_player_console(folder, self.ctx.author)
            self.ctx.status_message(f"Opening a player console on {folder.name}…")

    def open_here(self) -> None:
        window = FacilitatorWindow(self.ctx.sitrep, author=self.ctx.author, owns_store=False)
        self._keep(window)

    def show_history(self) -> None:
        HistoryDialog(self.workspace.history(), self.parent_widget).exec()

    # -- helpers --------------------------------------------------------------------------------
    def _open_window(self, folder: Path, *, owned: bool) -> FacilitatorWindow | None:
        try:
            sitrep = open_exercise(folder)
        except SitrepError as err:
            QMessageBox.warning(self.parent_widget, "Exercise", err.message)
            return None
        window = FacilitatorWindow(sitrep, author=self.ctx.author, owns_store=owned)
        self._keep(window)
        return window

    def _keep(self, window: FacilitatorWindow) -> None:
        self.windows.append(window)
        window.destroyed.connect(lambda *_: self.windows.remove(window) if window in self.windows else None)
        window.show()
        window.raise_()
        window.activateWindow()

    def _pick_running(self, title: str) -> Path | None:
        running = [f for f in self.workspace.folders() if not f.ended_at]
        if not running:
            QMessageBox.information(self.parent_widget, title, "No exercise is running. Exercise ▸ Run a tabletop "
                                    "exercise… starts one.")  # fmt: skip
            return None
        dialog = QDialog(self.parent_widget)
        dialog.setWindowTitle(title)
        layout = QVBoxLayout(dialog)
        pick = QListWidget(dialog)
        for f in reversed(running):
            item = QListWidgetItem(f"{f.title}  ({f.name})")
            item.setData(Qt.ItemDataRole.UserRole, str(f.path))
            pick.addItem(item)
        pick.setCurrentRow(0)
        layout.addWidget(pick)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel, dialog)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        pick.itemDoubleClicked.connect(lambda *_: dialog.accept())
        layout.addWidget(buttons)
        if dialog.exec() != QDialog.DialogCode.Accepted or pick.currentItem() is None:
            return None
        return Path(pick.currentItem().data(Qt.ItemDataRole.UserRole))


class ScenarioPicker(QDialog):
    def __init__(self, shelf, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run a tabletop exercise")
        self.setObjectName("scenario-picker")
        self.chosen = None
        self.shelf = shelf
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Scenario (shipped ones, then those in your config folder's scenarios/):", self))
        self.list = QListWidget(self)
        self.list.setObjectName("scenario-list")
        for sc in shelf.scenarios.values():
            item = QListWidgetItem(f"{sc.title} — {sc.type}, {sc.duration_min:g} min, {len(sc.injects)} injects")
            item.setData(Qt.ItemDataRole.UserRole, sc.id)
            self.list.addItem(item)
        for path, problems in shelf.broken.items():
            item = QListWidgetItem(f"(cannot be used) {Path(path).name}: {problems[0]}")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            item.setToolTip("\n".join(map(str, problems)))
            self.list.addItem(item)
        layout.addWidget(self.list, 1)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setMinimumHeight(90)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.summary)
        form = QFormLayout()
        self.speed = QDoubleSpinBox(self)
        self.speed.setRange(0.1, MAX_SPEED)
        self.speed.setDecimals(1)
        self.speed.setSuffix(" × real time")
        self.speed.setAccessibleName("Scenario clock speed")
        form.addRow("Clock &speed:", self.speed)
        layout.addLayout(form)
        layout.addWidget(QLabel("The exercise gets a store of its own: nothing in it touches real incidents, and every "
                                "backend records instead of sending.", self))  # fmt: skip
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Prepare exercise")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.list.currentItemChanged.connect(self._selected)
        self.list.setCurrentRow(0)
        self.resize(640, 460)

    def _scenario(self):
        item = self.list.currentItem()
        return None if item is None else self.shelf.scenarios.get(item.data(Qt.ItemDataRole.UserRole))

    def _selected(self, *_):
        sc = self._scenario()
        if sc is None:
            return
        self.summary.setText(f"<b>{sc.title}</b> ({sc.scenario_min:g} scenario minutes in {sc.duration_min:g})<br>"
                             f"{sc.summary}<br><i>Objectives:</i> " + " ".join(f"({o.id}) {o.text}" for o in sc.objectives))  # fmt: skip
        self.speed.setValue(sc.speed)

    def _accept(self) -> None:
        self.chosen = self._scenario()
        if self.chosen is not None:
            self.accept()


class HistoryDialog(QDialog):
    COLUMNS = (("Ended", "ended_at"), ("Exercise", "title"), ("To declare", "minutes_to_declare"),
               ("To all roles", "minutes_to_roles"), ("To first message", "minutes_to_first_message"),
               ("Met", "expected_met"), ("Late", "expected_late"), ("Missed", "expected_missed"),
               ("Actions open", "actions_open"))  # fmt: skip

    def __init__(self, rows: list[dict], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Exercise history (scenario minutes)")
        layout = QVBoxLayout(self)
        table = QTableWidget(len(rows), len(self.COLUMNS), self)
        table.setObjectName("exercise-history")
        table.setHorizontalHeaderLabels([c[0] for c in self.COLUMNS])
        for r, row in enumerate(rows):
            for c, (_label, key) in enumerate(self.COLUMNS):
                value = row.get(key)
                text = "—" if value is None else (str(value)[:16].replace("T", " ") if key == "ended_at" else str(value))
                table.setItem(r, c, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        layout.addWidget(QLabel("Ended exercises, oldest first. Real incident metrics never include these.", self))
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 360)
