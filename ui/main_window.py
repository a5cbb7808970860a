"""The console window: incident switcher, dockable panels, menus, command palette, status bar.

Longer than ~500 lines: the window, its dock placement rules for small and large screens and ConsoleShell
(what panels may ask of it) belong together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QToolBar,
    QWidget,
)

from models.enums import Status
from services.changes import Change, Topic
from services.record.views import IncidentView
from ui.context import UiContext
from ui.dialogs.people import open_people_dialog
from ui.identity import KeyboardPerson
from ui.operations import run_action
from ui.palette import CommandPalette
from ui.panels import PanelSpec, load_panels

log = logging.getLogger(__name__)
LAYOUT_VERSION = 1
MIN_MAIN_COLUMN = 760  # px the timeline needs to show an entry's text beside its time, kind and author
PLACED_BY_USER_KEY = "window/placed_by_user"  # panels the user moved: the placement rule leaves them be
SPLIT_HANDLE = 6


class PanelScroll(QScrollArea):
    """A panel inside its dock. A dock smaller than the panel's minimum size scrolls it, where the
    panel alone would push the window past the bottom or the side of a small screen.

    The panel is sized here rather than by QScrollArea's widgetResizable, which gives a panel with
    wrapped text its preferred height (and so a scroll bar) even when the dock has room for it.
    """

    def __init__(self, panel: QWidget, panel_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"panel-scroll-{panel_id}")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWidget(panel)
        panel.installEventFilter(self)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # QScrollArea caps its hint at a few dozen lines; a dock should ask for what its panel asks.
        return self.widget().sizeHint()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            QTimer.singleShot(0, self, self.fit_panel)  # its minimum may have changed; dropped if self is deleted first
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_panel()

    def fit_panel(self) -> None:
        panel = self.widget()
        if panel is None:
            return
        least = panel.minimumSizeHint().expandedTo(panel.minimumSize())
        room = self.maximumViewportSize()  # the viewport without scroll bars
        width, height = max(room.width(), least.width()), max(room.height(), least.height())
        # A scroll bar in one direction takes room from the other.
        if width > room.width():
            height = max(room.height() - self.horizontalScrollBar().sizeHint().height(), least.height())
        if height > room.height():
            width = max(room.width() - self.verticalScrollBar().sizeHint().width(), least.width())
        if panel.size() != QSize(width, height):
            panel.resize(width, height)


@dataclass
class ColumnPlan:
    widths: dict  # dock -> width in px, for the docks that keep a column
    tabbed: list = field(default_factory=list)  # docks that become tabs of `tab_into`
    tab_into: object = None


def plan_columns(window_width: int, columns: list[tuple], min_main: int, gap: int = 8) -> ColumnPlan:
    """How the side columns share the window's width on first run.

    `columns` is (dock, fixed width or None, is on the right). Columns with a fixed width keep it;
    the others (the timeline) share the rest. When that rest would be narrower than `min_main`
    (a laptop screen), the fixed-width left columns become tabs beside the first right column.
    """

    def share_of(kept: list[tuple]) -> int:
        flexible = [c for c in kept if not c[1]]
        spare = window_width - sum(c[1] for c in kept if c[1]) - gap * len(kept)
        return spare // len(flexible) if flexible else 0

    kept, plan = list(columns), ColumnPlan({})
    has_flexible = any(not c[1] for c in columns)
    if has_flexible and share_of(kept) < min_main:
        right = [c for c in kept if c[2]]
        left_fixed = [c for c in kept if c[1] and not c[2]]
        if right and left_fixed:
            plan.tab_into = right[0][0]
            plan.tabbed = [c[0] for c in left_fixed]
            kept = [c for c in kept if c not in left_fixed]
    share = max(share_of(kept), 200)
    plan.widths = {dock: (width or share) for dock, width, _ in kept}
    return plan


class MainWindow(QMainWindow):
    def __init__(self, ctx: UiContext, panels: list[PanelSpec] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle("Sitrep")
        self.setObjectName("sitrep-main")
        self.setDockNestingEnabled(True)
        # Every panel is a dock. An empty central area would sit between them as a grey gap once a
        # dock (the header) is shorter than its share, so the centre is an empty zero-width widget.
        central = QWidget(self)
        central.setObjectName("central-spacer")
        central.setMaximumWidth(0)
        self.setCentralWidget(central)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )
        self.commands: list[QAction] = []
        self.menus: dict[str, QMenu] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}
        self.specs: dict[str, PanelSpec] = {}
        self._placed_by_user: set[str] = set()
        self._arranging = 0  # >0 while the window itself moves docks (restoring, placing, resetting)
        ctx.shell = self  # before the panels: they add their commands as they are built

        for name in ("&File", "&Incident", "&View", "&Tools", "&Help"):
            self.menus[name.replace("&", "")] = self.menuBar().addMenu(name)
        self._build_toolbar()
        self._build_status_bar()
        self._build_panels(panels if panels is not None else load_panels())
        self._build_commands()
        self.keyboard_person = KeyboardPerson(self)
        ctx.notifier.changed.connect(self._on_change)
        ctx.selection.changed.connect(self._on_selection)
        self._fit_to_screen(1400, 880)
        self._restore_layout()
        self.reload_incidents(select=ctx.settings.value("last_incident", "", str) or None)

    def _fit_to_screen(self, width: int, height: int) -> None:
        """The first-run size: most of a big screen, all of a small one (maximized when the wanted
        size does not fit a 1366×768 laptop). A saved geometry replaces it."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            width = max(width, int(avail.width() * 0.85))
            height = max(height, int(avail.height() * 0.85))
            maximize = width > avail.width() or height > avail.height()
            width, height = min(width, avail.width()), min(height, avail.height())
            self.resize(width, height)  # first: a resize after maximizing would take the maximizing back
            if maximize:
                # The window frame is not part of availableGeometry: maximizing is the only size
                # that is sure to keep the status bar and the entry line on screen.
                self.setWindowState(Qt.WindowState.WindowMaximized)
            return
        self.resize(width, height)

    # -- building ----------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QToolBar("Incident", self)
        bar.setObjectName("toolbar-incident")
        bar.setMovable(False)
        label = QLabel(" &Incident: ", self)
        self.switcher = QComboBox(self)
        self.switcher.setObjectName("incident-switcher")
        self.switcher.setMinimumContentsLength(48)
        self.switcher.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.switcher.setAccessibleName("Current incident")
        self.switcher.setToolTip("The incident the console shows (Ctrl+I)")
        label.setBuddy(self.switcher)
        self.switcher.currentIndexChanged.connect(self._switcher_changed)
        bar.addWidget(label)
        bar.addWidget(self.switcher)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def _build_status_bar(self) -> None:
        self.statusBar().setObjectName("status-bar")
        self._status_label = QLabel(self)
        self._status_label.setObjectName("status-message")
        self.statusBar().addWidget(self._status_label, 1)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.timeout.connect(lambda: self._status_label.clear())

    # -- ConsoleShell (ui/context.py): what panels may ask of the window -------------------------
    def show_status(self, text: str, error: bool, timeout_ms: int) -> None:
        self._status_label.setText(text)
        self._status_label.setStyleSheet("color: #d13438; font-weight: 600;" if error else "")
        self._status_label.setToolTip(text)
        self._status_timer.start(max(timeout_ms, 2000) if not error else max(timeout_ms, 12000))

    def _build_panels(self, specs: list[PanelSpec]) -> None:
        view = self.menus["View"]
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        main_spec = next(
            (s for s in specs if s.visible_by_default and s.area in (left, right) and not s.default_width),
            None,
        )
        first_in_area: dict[Qt.DockWidgetArea, QDockWidget] = {}
        last_left: QDockWidget | None = None
        for spec in specs:
            widget = spec.factory(self.ctx)
            for item_view in widget.findChildren(QAbstractItemView):
                # Console-wide: Tab moves between controls and arrows move within a list, so Tab
                # never walks cell by cell through a 100,000-row timeline and stays there.
                item_view.setTabKeyNavigation(False)
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(f"panel-{spec.id}")
            dock.setWidget(PanelScroll(widget, spec.id, dock) if spec.scrolls else widget)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            )
            if not spec.title_bar:
                # An empty widget in place of the title line; without it, a floating dock could not be
                # moved or closed, so it does not float.
                dock.setTitleBarWidget(QWidget(dock))
                dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.specs[spec.id] = spec
            self.docks[spec.id] = dock
            self.panels[spec.id] = widget
            area = spec.area
            if spec.on_demand:
                # Hidden until asked for; `open_panel` finds its place then, from what is open.
                self.addDockWidget(area, dock)
                dock.hide()
            elif area == left and last_left is not None:
                self.splitDockWidget(last_left, dock, Qt.Orientation.Horizontal)
            elif area in first_in_area:
                self.tabifyDockWidget(first_in_area[area], dock)
            elif area == bottom and main_spec is not None and main_spec.id in self.docks:
                self.splitDockWidget(self.docks[main_spec.id], dock, Qt.Orientation.Vertical)
            else:
                self.addDockWidget(area, dock)
            if not spec.on_demand:
                first_in_area.setdefault(area, dock)
                if area == left:
                    last_left = dock
            view.addAction(self._show_action(spec, dock))
            if spec.shortcut:
                focus = QAction(f"Go to {spec.title}", self)
                focus.setShortcut(QKeySequence(spec.shortcut))
                focus.triggered.connect(lambda _=False, d=dock: self.focus_panel(d))
                self.add_command(focus, "View")
            # The user moving or floating a panel makes its place theirs; our own moves are not theirs.
            dock.dockLocationChanged.connect(lambda _area, i=spec.id: self._moved_by_user(i))
            dock.topLevelChanged.connect(lambda _floating, i=spec.id: self._moved_by_user(i))
            dock.toggleViewAction().toggled.connect(lambda shown, d=dock: self._dock_toggled(d, shown))
        self._main_panel = main_spec.id if main_spec is not None else None
        for dock in first_in_area.values():
            dock.raise_()
        side = (left, right)
        self._column_widths = [(self.docks[s.id], s.default_width) for s in specs if s.area in side]

    def _show_action(self, spec: PanelSpec, dock: QDockWidget) -> QAction:
        """The View menu's "Show …": opening goes through `open_panel`, so it lands in its place."""
        action = QAction(f"Show {spec.title}", self)
        action.setCheckable(True)
        action.setChecked(not dock.isHidden())
        dock.toggleViewAction().toggled.connect(action.setChecked)
        action.triggered.connect(lambda shown, d=dock: self.open_panel(d) if shown else d.close())
        return action

    def _build_commands(self) -> None:
        pal = QAction("Command palette…", self)
        pal.setShortcut(QKeySequence("Ctrl+K"))
        pal.triggered.connect(self.open_palette)
        self.add_command(pal, "Tools", first=True)

        switch = QAction("Switch incident…", self)
        switch.setShortcut(QKeySequence("Ctrl+I"))
        switch.triggered.connect(lambda: (self.switcher.setFocus(), self.switcher.showPopup()))
        self.add_command(switch, "Incident", first=True)

        verify = QAction("Verify the record (hash chains)", self)
        verify.setShortcut(QKeySequence("Ctrl+Shift+R"))
        verify.triggered.connect(self.verify_record)
        self.add_command(verify, "Tools")

        # The window owns the directory: it is needed with or without the role board shown.
        directory = QAction("Responder directory…", self)
        directory.setShortcut(QKeySequence("Ctrl+Shift+P"))
        directory.triggered.connect(self.open_directory)
        self.add_command(directory, "Tools")

        reset = QAction("Reset panel layout", self)
        reset.setShortcut(QKeySequence("Ctrl+Shift+L"))
        reset.triggered.connect(self.reset_layout)
        self.menus["View"].addSeparator()
        self.add_command(reset, "View")

        keys = QAction("Keyboard shortcuts", self)
        keys.setShortcut(QKeySequence("F1"))
        keys.triggered.connect(self.show_shortcuts)
        self.add_command(keys, "Help")

        quit_ = QAction("Quit", self)
        quit_.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_.triggered.connect(self.close)
        self.menus["File"].addSeparator()
        self.add_command(quit_, "File")

    def add_status_widget(self, widget: QWidget) -> None:
        self.statusBar().addPermanentWidget(widget)

    def dialog_parent(self) -> QWidget:
        return self

    def show_panel(self, panel_id: str, *, focus: bool = True) -> bool:
        dock = self.docks.get(panel_id)
        if dock is None:
            return False
        if focus:
            self.focus_panel(dock)
        else:
            self.open_panel(dock)
        return True

    def command(self, name: str) -> QAction | None:
        return next((a for a in self.commands if a.objectName() == name), None)

    def add_command(self, action: QAction, menu: str | None = None, *, first: bool = False) -> QAction:
        """Put an action in a menu (if given), make its shortcut window-wide, and list it in the palette."""
        if action.parent() is None:
            action.setParent(self)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if action not in self.actions():
            self.addAction(action)
        if menu:
            target = self.menus.get(menu) or self.menus.setdefault(menu, self.menuBar().addMenu(menu))
            if first and target.actions():
                target.insertAction(target.actions()[0], action)
            else:
                target.addAction(action)
        if action not in self.commands:
            self.commands.append(action)
        return action

    # -- incidents ---------------------------------------------------------------------------
    def reload_incidents(self, select: str | None = None) -> None:
        ok, incidents = run_action(self.ctx, self, self.ctx.sitrep.incidents.list, limit=300)
        if not ok:
            return
        current = select or (self.ctx.selection.current.id if self.ctx.selection.current else None)
        if current and all(inc.id != current for inc in incidents):
            # An older incident outside the switcher's window (opened from the list or a chart): show it too.
            found, extra = run_action(self.ctx, self, self.ctx.sitrep.incidents.get, current)
            if found:
                incidents.append(extra)
        self.switcher.blockSignals(True)
        self.switcher.clear()
        for inc in incidents:
            status = inc.status.label if inc.status is not Status.DECLARED else "Declared"
            major = " · MAJOR" if inc.is_major else ""
            drill = " · exercise" if inc.is_exercise else ""
            self.switcher.addItem(f"{inc.key}  {inc.severity}{major}  [{status}]{drill}  {inc.title}", inc.id)
        index = self.switcher.findData(current) if current else -1
        if index < 0 and incidents:
            index = 0
        self.switcher.setCurrentIndex(index)
        self.switcher.blockSignals(False)
        by_id = {i.id: i for i in incidents}
        chosen = by_id.get(self.switcher.currentData()) if index >= 0 else None
        if chosen is None:
            self.ctx.selection.set(None)
        elif self.ctx.selection.current is not None and self.ctx.selection.current.id == chosen.id:
            if chosen != self.ctx.selection.current:
                self.ctx.selection.refresh(chosen)
        else:
            self.ctx.selection.set(chosen)

    def open_incident(self, incident_id: str) -> None:
        self.reload_incidents(select=incident_id)
        self.raise_()
        self.activateWindow()

    def _switcher_changed(self, index: int) -> None:
        incident_id = self.switcher.itemData(index) if index >= 0 else None
        if incident_id is None:
            self.ctx.selection.set(None)
            return
        ok, inc = run_action(self.ctx, self, self.ctx.sitrep.incidents.get, incident_id)
        if ok:
            self.ctx.selection.set(inc)

    def _on_selection(self, incident: IncidentView | None) -> None:
        title = "Sitrep"
        if incident is not None:
            title = f"{incident.key} {incident.severity} {incident.status.label}: {incident.title} — Sitrep"
            self.ctx.settings.setValue("last_incident", incident.id)
        if self.ctx.sitrep.read_only:
            title += " (read-only)"
        if self.ctx.sitrep.in_exercise:  # a screenshot of an exercise must never pass for a real incident
            title = f"EXERCISE — {title}"
        self.setWindowTitle(title)
        for widget in self.panels.values():
            setter: Callable | None = getattr(widget, "set_incident", None)
            if setter is not None:
                setter(incident)

    def _on_change(self, change: Change) -> None:
        if change.topic in {Topic.INCIDENT, Topic.EXTERNAL, Topic.ROLES} and not self._reload_pending:
            self._reload_pending = True
            QTimer.singleShot(0, self._deferred_reload)

    _reload_pending = False

    def _deferred_reload(self) -> None:
        self._reload_pending = False
        self.reload_incidents()

    # -- actions -----------------------------------------------------------------------------
    def focus_panel(self, dock: QDockWidget) -> None:
        self.open_panel(dock)
        widget = self.panels.get(self._panel_id(dock)) or dock.widget()
        target = getattr(widget, "focus_target", None)
        (target() if callable(target) else widget).setFocus(Qt.FocusReason.ShortcutFocusReason)

    def palette_actions(self) -> list[QAction]:
        """Every action a person can reach: the commands, whatever else sits in a menu (submenus too),
        and the actions panels keep on their own widgets."""
        found = list(self.commands)

        def walk(menu: QMenu) -> None:
            for action in menu.actions():
                if action.menu() is not None:
                    walk(action.menu())
                elif not action.isSeparator():
                    found.append(action)

        for action in self.menuBar().actions():
            if action.menu() is not None:
                walk(action.menu())
        for panel in self.panels.values():
            for widget in (panel, *panel.findChildren(QWidget)):
                found.extend(a for a in widget.actions() if a.menu() is None and not a.isSeparator())
        return [a for a in dict.fromkeys(found) if a.text()]

    def open_palette(self) -> None:
        palette = CommandPalette(self.palette_actions(), self)
        palette.exec()

    def open_directory(self) -> QWidget:
        return open_people_dialog(self.ctx, self)

    def verify_record(self) -> None:
        ok, report = run_action(self.ctx, self, self.ctx.sitrep.integrity.verify)
        if not ok:
            return
        if report.ok:
            QMessageBox.information(
                self,
                "Record verified",
                f"Every chain holds: {report.entries:,} timeline entries in {report.incidents:,} incident(s).",
            )
        else:
            QMessageBox.critical(
                self,
                "The record has been altered",
                "These timelines no longer match what was written:\n\n"
                + "\n".join(str(b) for b in report.breaks),
            )

    def show_shortcuts(self) -> None:
        lines = []
        for a in self.commands:
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                lines.append(f"{keys:<16} {a.text().replace('&', '')}")
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText("Every action is also in the command palette (Ctrl+K).")
        box.setDetailedText("\n".join(sorted(lines)))
        box.setInformativeText("\n".join(sorted(lines)[:40]))
        box.exec()

    # -- layout ------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = self.ctx.settings
        geometry = s.value("window/geometry")
        state = s.value("window/state")
        self._default_state = self.saveState(LAYOUT_VERSION)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        with self._window_arranging():
            self._layout_restored = isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION)
            for panel_id, dock in self.docks.items():
                if not self.specs[panel_id].title_bar and dock.isFloating():  # floated by an older version
                    dock.setFloating(False)
        # Layouts saved before this key existed have none: every panel then follows the placement rule.
        placed = s.value(PLACED_BY_USER_KEY, "", str) or ""
        self._placed_by_user = {i for i in placed.split() if i in self.docks}

    @contextmanager
    def _window_arranging(self):
        self._arranging += 1
        try:
            yield
        finally:
            self._arranging -= 1

    def _panel_id(self, dock: QDockWidget) -> str:
        return dock.objectName().removeprefix("panel-")

    def _moved_by_user(self, panel_id: str) -> None:
        if not self._arranging:
            self._placed_by_user.add(panel_id)

    def _dock_toggled(self, dock: QDockWidget, shown: bool) -> None:
        # A panel shown some other way than `open_panel` (its own code, a test): place it once the
        # show has finished, not inside it.
        if shown and not self._arranging and self.specs[self._panel_id(dock)].on_demand:
            QTimer.singleShot(0, lambda: self._place_after_show(dock))

    def _place_after_show(self, dock: QDockWidget) -> None:
        if shiboken6.isValid(dock) and not dock.isHidden():
            self.open_panel(dock)

    def open_panel(self, dock: QDockWidget) -> None:
        """Show a panel where it reads best (see PanelSpec), and bring it to the front of its tabs."""
        spec = self.specs[self._panel_id(dock)]
        with self._window_arranging():
            if spec.on_demand and not dock.isFloating() and spec.id not in self._placed_by_user:
                self._place_on_demand(dock)
            dock.show()
            dock.raise_()

    def _is_open(self, dock: QDockWidget) -> bool:
        # Open means shown, even behind another tab (isVisible is False there).
        return not dock.isHidden() and dock.toggleViewAction().isChecked()

    def _place_on_demand(self, dock: QDockWidget) -> None:
        panel_id = self._panel_id(dock)
        partner = next(
            (
                d
                for i, d in self.docks.items()
                if i != panel_id
                and self.specs[i].on_demand
                and i not in self._placed_by_user
                and self._is_open(d)
                and not d.isFloating()
            ),
            None,
        )
        if partner is not None:
            if dock not in self.tabifiedDockWidgets(partner):
                self.tabifyDockWidget(partner, dock)
            return
        main = self.docks.get(self._main_panel) if self._main_panel else None
        if main is None or not self._is_open(main) or main.isFloating():
            self.addDockWidget(self.specs[panel_id].area, dock)
            return
        # One above the other only when an even split leaves each its readable height; on a laptop
        # that is never so, and a tab gives the opened panel the whole column (the timeline is Alt+1).
        column = main.height()
        need = max(self._readable_height(main), self._readable_height(dock))
        if column >= 2 * need + SPLIT_HANDLE:
            self.splitDockWidget(main, dock, Qt.Orientation.Vertical)
            half = (column - SPLIT_HANDLE) // 2
            self.resizeDocks([main, dock], [half, column - SPLIT_HANDLE - half], Qt.Orientation.Vertical)
        else:
            self.tabifyDockWidget(main, dock)

    def _readable_height(self, dock: QDockWidget) -> int:
        """A panel's readable height in its dock, title bar included."""
        panel_id = self._panel_id(dock)
        spec, panel = self.specs[panel_id], self.panels[panel_id]
        title = dock.style().pixelMetric(dock.style().PixelMetric.PM_TitleBarHeight, None, dock)
        return (spec.readable_height or panel.minimumSizeHint().height()) + title + 8

    def reset_layout(self) -> None:
        self._placed_by_user.clear()
        with self._window_arranging():
            self.restoreState(self._default_state, LAYOUT_VERSION)
            for dock in self.docks.values():
                dock.setFloating(False)
            self._apply_default_widths()

    def _apply_default_widths(self) -> None:
        """Side panels get their stated widths; panels without one (the timeline) share the rest.

        Only meaningful once the window has its real size, so it runs on first show, not at build.
        """
        columns = [(d, w) for d, w in self._column_widths if d.isVisible() and not d.isFloating()]
        if not columns:
            return
        right = Qt.DockWidgetArea.RightDockWidgetArea
        plan = plan_columns(
            self.width(), [(d, w, self.dockWidgetArea(d) == right) for d, w in columns], MIN_MAIN_COLUMN
        )
        with self._window_arranging():
            if plan.tab_into is not None:
                for dock in plan.tabbed:
                    self.tabifyDockWidget(plan.tab_into, dock)
                plan.tab_into.raise_()
            self.resizeDocks(list(plan.widths), list(plan.widths.values()), Qt.Orientation.Horizontal)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._layout_restored and not self._widths_applied:
            self._widths_applied = True
            QTimer.singleShot(0, self._apply_default_widths)

    _widths_applied = False

    def save_layout(self) -> None:
        self.ctx.settings.setValue("window/geometry", self.saveGeometry())
        self.ctx.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.ctx.settings.setValue(PLACED_BY_USER_KEY, " ".join(sorted(self._placed_by_user)))
        self.ctx.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        for widget in self.panels.values():
            closer = getattr(widget, "shutdown", None)
            if callable(closer):
                closer()
        super().closeEvent(event)
