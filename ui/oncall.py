"""'On call in PagerDuty' (or whichever on-call source is installed) inside the Assign and Hand over
dialogs: who PagerDuty pages now, to pick from.

The button asks on a pool thread (the GUI thread never waits on the network); the answer lists each
on-call person once, by escalation level, with their schedule, when they go off call, and whether
they are in the responder directory (and hold a role here already). Picking one fills the dialog's
responder; picking someone the directory lacks opens the responder form filled from PagerDuty.
When PagerDuty is not set up, the button says so instead of asking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError
from services.record.views import PersonView
from services.sync.oncall import OnCallReport, OnCallSuggestion, on_call_inputs
from ui.fields import fit_screen
from ui.sync_support import sync_bridge
from ui.theme import error_style
from ui.timefmt import duration_text, full_text, viewer_time, viewer_zone

COLUMNS = ("Level", "Name", "Schedule", "Until", "Directory")
COL_LEVEL, COL_NAME, COL_SCHEDULE, COL_UNTIL, COL_DIRECTORY = range(len(COLUMNS))
SuggestionRole = Qt.ItemDataRole.UserRole + 1
VISIBLE_ROWS = 5


class OnCallList(QTreeWidget):
    """Enter picks the current person and goes no further: the dialog's default button must not
    also fire (a half-filled handover would be submitted)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.itemActivated.emit(self.currentItem(), max(self.currentColumn(), 0))
            event.accept()
            return
        super().keyPressEvent(event)


class OnCallSection(QWidget):
    """The button, a line saying what the list is (or why there is none), and the list itself."""

    picked = Signal(str)  # a handle in the directory
    add_requested = Signal(object)  # an OnCallSuggestion whose person is not in the directory

    def __init__(self, ctx, incident_id: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident_id = incident_id
        self.report: OnCallReport | None = None
        self.fetching = False
        self._waiting_focus: set[QWidget | None] = set()
        self.added: dict[str, PersonView] = {}  # e-mail (lower case) -> added from here since the answer
        self.setObjectName("oncall-section")
        # The installed on-call source (PagerDuty among the built-ins) names itself in every line here.
        sources = ctx.sitrep.sync.on_call_sources()
        self.source = ctx.sitrep.sync.adapter_class(sources[0]).label if sources else "the on-call service"

        self.fetch_button = QPushButton(f"On call in &{self.source}", self)
        self.fetch_button.setObjectName("oncall-fetch")
        self.fetch_button.setAutoDefault(False)  # Enter is the dialog's own action
        self.fetch_button.clicked.connect(self.fetch)
        self.status = QLabel(self)
        self.status.setObjectName("oncall-status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.list = OnCallList(self)
        self.list.setObjectName("oncall-list")
        self.list.setAccessibleName(f"On call in {self.source}")
        self.list.setHeaderLabels(COLUMNS)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAllColumnsShowFocus(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.list.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.list.itemActivated.connect(lambda item, _col: self.pick(item))
        self.list.currentItemChanged.connect(lambda *_: self._update_pick_button())
        self.list.hide()

        self.pick_button = QPushButton("Pic&k", self)
        self.pick_button.setObjectName("oncall-pick")
        self.pick_button.setAutoDefault(False)
        self.pick_button.clicked.connect(lambda: self.pick(self.list.currentItem()))
        self.pick_button.hide()

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.fetch_button)
        top.addWidget(self.status, 1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addStretch(1)
        bottom.addWidget(self.pick_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.list)
        lay.addLayout(bottom)

        self.problem = ctx.sitrep.sync.on_call_problem()
        if self.problem:
            self.fetch_button.setToolTip(self.problem)
            self.status.setText(f"{self.source} is not set up for on-call (Tools ▸ Backends…).")
        else:
            self.fetch_button.setToolTip(f"Ask {self.source} who is on call now for this incident's services")

    # -- asking ----------------------------------------------------------------------------------
    def fetch(self) -> None:
        """Ask PagerDuty on a pool thread; the answer (or why there is none) lands in this section."""
        if self.fetching:
            return
        sync = self.ctx.sitrep.sync
        self.problem = sync.on_call_problem()
        if self.problem:
            self._say(self.problem, error=True)
            self._refit_window()
            return
        try:  # local reads: the directory and the incident's holders, as they are now
            inputs = on_call_inputs(self.ctx.sitrep, self.incident_id)
        except SitrepError as err:
            self._say(err.message, error=True)
            return
        self.fetching = True
        # Where the focus is when the answer comes decides whether the list takes it: still where it
        # was when asked (or where disabling the button pushed it), the person is waiting for the
        # list; anywhere else, they moved on and typing is not interrupted.
        self._waiting_focus = {self.window().focusWidget()}
        self.fetch_button.setEnabled(False)
        self._waiting_focus.add(self.window().focusWidget())
        self._say(f"Asking {self.source} who is on call…")
        sync_bridge(self.ctx).tasks.run(
            lambda: sync.on_call_suggestions(**inputs), self._answered, self._failed, owner=self
        )

    def _answered(self, report: OnCallReport) -> None:
        self.fetching = False
        self.fetch_button.setEnabled(True)
        self.report = report
        self.added.clear()
        now = self.ctx.sitrep.now()
        as_of = viewer_time(report.as_of, now)
        if report.from_cache:
            self._say(f"{report.problem} Last known on-call, as of {as_of}:", error=True)
        elif not report.suggestions:
            self._say(f"Nobody is on call in {self.source} for {report.scope_text() or 'this service'}.")
        else:
            text = f"As of {as_of}: {report.scope_text()}"
            self._say(
                text + (f". Not read: {report.problem}" if report.problem else ""), error=bool(report.problem)
            )
        self.status.setToolTip(f"Read from {self.source} at {full_text(report.as_of)}")
        self._fill(report)
        if self.window().focusWidget() in self._waiting_focus:
            (self.list if report.suggestions else self.fetch_button).setFocus()

    def _failed(self, message: str) -> None:
        self.fetching = False
        self.fetch_button.setEnabled(True)
        self._say(message, error=True)
        self._refit_window()
        if self.window().focusWidget() in self._waiting_focus:
            self.fetch_button.setFocus()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(error_style(self.status) if error else "")

    # -- the list --------------------------------------------------------------------------------
    def _fill(self, report: OnCallReport) -> None:
        self.list.clear()
        now = self.ctx.sitrep.now()
        for sug in report.suggestions:
            item = QTreeWidgetItem(self.list)
            item.setData(0, SuggestionRole, sug)
            self._describe(item, sug, now)
        shown = bool(report.suggestions)
        self.list.setVisible(shown)
        self.pick_button.setVisible(shown)
        if shown:
            self._fit_list(len(report.suggestions))
            self.list.setCurrentItem(self.list.topLevelItem(0))
        self._update_pick_button()
        self._refit_window()

    def _refit_window(self) -> None:
        """Widen the dialog for the list, then make it as tall as its contents at that width (a status
        line that wrapped in the narrow dialog takes one line now), within the screen."""
        window = self.window()
        lay = window.layout() if isinstance(window, QDialog) else None
        if lay is None or not window.isVisible():
            return
        self.layout().activate()  # this section's new minimum first: the dialog's layout asks it
        lay.activate()
        width = max(window.width(), lay.totalMinimumSize().width())
        window.resize(width, window.height())
        lay.activate()  # the minimum height follows the new width: wrapped lines unwrap
        height = lay.totalHeightForWidth(width) if lay.hasHeightForWidth() else -1
        height = max(height, lay.totalMinimumSize().height())
        size = fit_screen(window, width, height)
        window.resize(size)

    def _fit_list(self, count: int) -> None:
        """Every column readable without scrolling sideways (the dialog widens, within the screen) and
        up to VISIBLE_ROWS rows high; more scroll."""
        header = self.list.header()
        columns = sum(
            max(self.list.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(len(COLUMNS))
        )
        frame = 2 * self.list.frameWidth()
        scroll = self.list.verticalScrollBar().sizeHint().width() if count > VISIBLE_ROWS else 0
        screen = self.screen().availableGeometry().width() if self.screen() else 1280
        self.list.setMinimumWidth(min(columns + frame + scroll + 4, int(screen * 0.7)))
        rows = min(count, VISIBLE_ROWS)
        self.list.setFixedHeight(frame + header.sizeHint().height() + self.list.sizeHintForRow(0) * rows + 2)

    def _describe(self, item: QTreeWidgetItem, sug: OnCallSuggestion, now) -> None:
        person = self.person_of(sug)
        item.setText(COL_LEVEL, sug.level_text)
        item.setText(COL_NAME, sug.name)
        where = f" · for {', '.join(sug.for_services)}" if sug.for_services else ""
        item.setText(COL_SCHEDULE, sug.schedule_text + where)
        if sug.until is None:
            item.setText(COL_UNTIL, "no end")
        else:
            left = "off call by now" if sug.until <= now else f"{duration_text(sug.until - now)} left"
            item.setText(COL_UNTIL, f"{until_text(sug.until, now)} ({left})")
            item.setToolTip(COL_UNTIL, full_text(sug.until))
        if person is None:
            item.setText(COL_DIRECTORY, "not in the directory")
            item.setToolTip(COL_DIRECTORY, f"{sug.email or 'no e-mail in ' + self.source}: pick to add them first")
        else:
            holds = f" · holds {', '.join(sug.holds)}" if sug.holds else ""
            item.setText(COL_DIRECTORY, f"@{person.handle}{holds}")
            item.setToolTip(COL_DIRECTORY, person.email or "")
        tip = [
            f"{sug.name} <{sug.email}>" if sug.email else sug.name,
            f"{sug.level_text} on {sug.escalation_policy}",
        ]
        tip += [f"also {a}" for a in sug.also]
        for col in (COL_LEVEL, COL_NAME, COL_SCHEDULE):
            item.setToolTip(col, "\n".join(tip))

    def person_of(self, sug: OnCallSuggestion) -> PersonView | None:
        return sug.person or self.added.get((sug.email or "").lower())

    def _update_pick_button(self) -> None:
        item = self.list.currentItem()
        sug = item.data(0, SuggestionRole) if item is not None else None
        self.pick_button.setEnabled(sug is not None)
        self.pick_button.setText(
            "Pic&k" if sug is None or self.person_of(sug) else "Add to directory and pic&k…"
        )

    def suggestions(self) -> list[OnCallSuggestion]:
        return [
            self.list.topLevelItem(i).data(0, SuggestionRole) for i in range(self.list.topLevelItemCount())
        ]

    def select(self, name: str) -> None:
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            if item.text(COL_NAME) == name:
                self.list.setCurrentItem(item)
                return
        raise LookupError(name)

    def pick(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        sug: OnCallSuggestion = item.data(0, SuggestionRole)
        person = self.person_of(sug)
        if person is not None:
            self.picked.emit(person.handle)
        else:
            self.add_requested.emit(sug)

    def person_added(self, sug: OnCallSuggestion, person: PersonView) -> None:
        """The dialog added them from PagerDuty's details: the list says so from now on."""
        self.added[(sug.email or person.email or "").lower()] = person
        now = self.ctx.sitrep.now()
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            if item.data(0, SuggestionRole) is sug:
                self._describe(item, sug, now)
        self._update_pick_button()


def until_text(until: datetime, now: datetime) -> str:
    """When a shift ends, on the viewer's clock: '22:20' today, 'Sat 10:20' this week, else the date."""
    local, today = until.astimezone(viewer_zone()), now.astimezone(viewer_zone()).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if timedelta(0) < local.date() - today < timedelta(days=6):
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
