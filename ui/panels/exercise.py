"""The Exercise panel and menu.

In a real store it only adds the Exercise menu (run a tabletop exercise, open a running one as its
facilitator, join one as a player, the exercise history). In an exercise's own store it is the
players' view of the scenario: a red EXERCISE bar with the scenario clock, the newest inject in large
type with the roles it is for, and every inject delivered so far. A new inject raises the panel, says
so in the status bar and asks the window manager for attention. The scenario clock is also ticked
here, so injects arrive on time even when the facilitator works from the command line.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError
from services.exercises.scenario import clock_text
from ui.exercise_launch import ExerciseLauncher
from ui.panels import PanelSpec

log = logging.getLogger(__name__)

BANNER_STYLE = "background:#7a1f1f; color:white; font-weight:bold; padding:4px 8px;"
NOTICE_STYLE = "background:#fff4d6; color:#3a2a00; border:2px solid #b8860b; padding:8px;"


class ExercisePanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("exercise-panel")
        self.launcher = ExerciseLauncher(ctx, self)
        self._seen: set[str] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.banner = QLabel("EXERCISE", self)
        self.banner.setObjectName("exercise-banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        layout.addWidget(self.banner)
        split = QSplitter(Qt.Orientation.Vertical, self)
        self.notice = QLabel(self)
        self.notice.setObjectName("exercise-notice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.RichText)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        split.addWidget(self.notice)
        self.injects = QListWidget(self)
        self.injects.setObjectName("exercise-injects")
        self.injects.setAccessibleName("Injects delivered")
        self.injects.currentItemChanged.connect(self._show_selected)
        split.addWidget(self.injects)
        layout.addWidget(split, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        if ctx.sitrep.in_exercise:
            self._timer.start()
            QTimer.singleShot(0, self._first_show)
        else:
            self.banner.setText("No exercise in this store. Exercise ▸ Run a tabletop exercise… starts one in a store "
                                "of its own.")  # fmt: skip
            self.notice.hide()
            self.injects.hide()

    def _first_show(self) -> None:
        self.refresh()
        self._raise_panel()

    def _raise_panel(self) -> None:
        if self.ctx.shell is not None:
            self.ctx.shell.show_panel("exercise", focus=False)

    def refresh(self) -> None:
        svc = self.ctx.sitrep.exercises
        try:
            state = svc.state() if self.ctx.sitrep.read_only else svc.tick_state()[1]
        except SitrepError as err:
            self.banner.setText(f"EXERCISE — {err.message}")
            return
        clock = state.clock
        running = "ended" if state.ended else (f"clock running ×{clock.speed:g}" if clock.running else
                                               ("paused" if clock.started else "waiting for the facilitator"))  # fmt: skip
        self.banner.setText(f"EXERCISE — {state.scenario.title} · {state.clock_text} · {running} · nothing here is sent")
        delivered = sorted((r for r in state.msel if r.status == "delivered"), key=lambda r: (r.delivered_s or 0.0, r.id))
        ids = [r.id for r in delivered]
        if self._seen is not None and set(ids) - self._seen:
            newest = [r for r in delivered if r.id not in self._seen][-1]
            self._announce(newest)
        first = self._seen is None
        self._seen = set(ids)
        if [self.injects.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.injects.count())] != ids[::-1]:
            self.injects.blockSignals(True)
            self.injects.clear()
            for row in reversed(delivered):
                item = QListWidgetItem(f"{row.id} · {_at(row)} · for {self._roles(row.to)} · {row.title}")
                item.setData(Qt.ItemDataRole.UserRole, row.id)
                item.setData(Qt.ItemDataRole.UserRole + 1, row)
                self.injects.addItem(item)
            self.injects.blockSignals(False)
            if delivered:
                self.injects.setCurrentRow(0)
                self._show(delivered[-1], new=not first)
        if not delivered:
            self.notice.setText("No inject yet. The facilitator starts the scenario; each inject appears here and on "
                                "the incident's timeline.")  # fmt: skip

    def _mine(self, to) -> list[str]:
        """The roles among `to` that the person at the keyboard holds now (on any exercise incident)."""
        try:
            held = {h.role for _key, h in self.ctx.sitrep.roles.held_by(self.ctx.author) if h.ended_at is None}
        except SitrepError:
            return []
        return [r for r in to if r in held or (r == "all" and held)]

    def _roles(self, to) -> str:
        roles = self.ctx.sitrep.catalog.roles
        return ", ".join("everyone" if r == "all" else (roles[r].name if r in roles else r) for r in to)

    def _announce(self, row) -> None:
        self._raise_panel()
        mine = self._mine(row.to)
        who = f"FOR YOU ({self._roles(mine)})" if mine else f"for {self._roles(row.to)}"
        self.ctx.status_message(f"EXERCISE inject {row.id} {who}: {row.title}", timeout_ms=15000)
        window = self.window()
        if window is not None:
            QApplication.alert(window, 0)

    def _show_selected(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self._show(item.data(Qt.ItemDataRole.UserRole + 1), new=False)

    def _show(self, row, *, new: bool) -> None:
        esc = _escape
        head = "NEW INJECT" if new else "INJECT"
        mine = self._mine(row.to)
        yours = f"<br><span style='color:#b3261e'>FOR YOU, as {esc(self._roles(mine))}</span>" if mine else ""
        self.notice.setText(
            f"<p style='font-size:13pt'><b>{head} {esc(row.id)} · {esc(_at(row))} · for {esc(self._roles(row.to))}</b>{yours}<br>"
            f"via {esc(row.channel)}</p><p style='font-size:12pt'><b>{esc(row.title)}</b></p>"
            f"<p style='font-size:11pt'>{esc(row.content).replace(chr(10), '<br>')}</p>"
            "<p><i>EXERCISE: act as you would for real; messages go to the recording sandbox.</i></p>"
        )


def _at(row) -> str:
    return clock_text(row.delivered_s or 0.0)


def _escape(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _panel(ctx) -> QWidget:
    panel = ExercisePanel(ctx)
    for action in panel.launcher.actions():
        ctx.add_command(action, "Exercise")
    return panel


PANEL = PanelSpec(
    id="exercise",
    title="Exercise",
    factory=_panel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Alt+0",
    visible_by_default=False,
    readable_height=260,
)

