"""Benchmarks 2 and 4, in a child process: opening a long incident, and a live append, in the real panel.

Each runs in a fresh interpreter (see bench/child.py), so a QApplication, the SQLite caches and the
memory figures belong to that benchmark alone. The subject is ui/panels/timeline.py's TimelinePanel
over ui/item_models/timeline.py, on a store built by bench.fixtures; the floor is a bare QTableView over the
smallest QAbstractTableModel that shows the same number of rows.

"Painted" means: the view's viewport has received a Paint event after the action, and that event
has been handled (processEvents returned). Offscreen, that is a raster paint into the backing store.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
)
from PySide6.QtWidgets import QApplication, QHeaderView, QTableView, QWidget

from bench.measure import Target, interleave, result, rss_mb

WIDTH, HEIGHT = 1100, 760
PAINT_TIMEOUT_S = 10.0
COLUMNS = 6


class PaintWatch(QObject):
    """Counts Paint events reaching a widget (the view's viewport)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.paints = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


class PaintStamps(QObject):
    """The moment a paint of a widget that shows what `shown()` checks has finished (perf_counter).

    Qt sends nothing after a paint, so the filter has the paint done inside it and stamps its end. A
    paint may come from the event loop or at once from inside the action (a repaint): either way the
    stamp is when the row was painted, not when the measuring loop next looked.
    """

    def __init__(self, widget: QWidget, shown) -> None:
        super().__init__(widget)
        self.shown = shown
        self.shown_at: float | None = None
        self._inside = False
        widget.installEventFilter(self)

    def arm(self) -> None:
        self.shown_at = None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if self._inside or self.shown_at is not None or event.type() != QEvent.Type.Paint:
            return False
        self._inside = True
        try:
            QCoreApplication.sendEvent(obj, event)  # the filters after this one and the paint itself
        finally:
            self._inside = False
        if self.shown():
            self.shown_at = time.perf_counter()
        return True  # painted already


def wait_shown(app: QApplication, stamps: PaintStamps, started: float) -> float:
    """Milliseconds from `started` until the paint that showed it ended."""
    end = time.perf_counter() + PAINT_TIMEOUT_S
    while stamps.shown_at is None:
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("the view did not paint the new row")
    return (stamps.shown_at - started) * 1000


def wait_painted(
    app: QApplication, watch: PaintWatch, since: int, deadline_s: float = PAINT_TIMEOUT_S
) -> None:
    """Process events until the watched widget has painted (at least once more than `since`)."""
    end = time.perf_counter() + deadline_s
    while watch.paints <= since:
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("the view did not paint")


def show_and_settle(app: QApplication, widget: QWidget) -> None:
    widget.resize(WIDTH, HEIGHT)
    widget.show()
    end = time.perf_counter() + PAINT_TIMEOUT_S
    while widget.windowHandle() is None or not widget.windowHandle().isExposed():
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("the window was never exposed")
    settle(app)


def settle(app: QApplication, rounds: int = 3) -> None:
    for _ in range(rounds):
        app.processEvents()


class BareModel(QAbstractTableModel):
    """The floor: rows exist only as a count; a cell's text is made from its coordinates."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self.rows

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{index.row()}.{index.column()}"
        return None

    def append(self, count: int = 1) -> None:
        self.beginInsertRows(QModelIndex(), self.rows, self.rows + count - 1)
        self.rows += count
        self.endInsertRows()


def bare_view(like: QTableView | None = None) -> QTableView:
    """A bare QTableView; given the subject's view, with the same row height, so both paint as many rows."""
    view = QTableView()
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    if like is not None:
        view.verticalHeader().setDefaultSectionSize(like.verticalHeader().defaultSectionSize())
    view.horizontalHeader().setStretchLastSection(True)
    return view


def show_like(app: QApplication, view: QTableView, like: QTableView) -> None:
    """Show the floor's view with the subject view's viewport size (the panel's view is smaller than
    its window: filters above, the entry line below)."""
    show_and_settle(app, view)
    extra = view.size() - view.viewport().size()
    view.resize(like.viewport().size() + extra)
    settle(app)


def append_scrolled(view: QTableView, model: BareModel) -> None:
    """The least a table can do to show a row appended at its end: move the rows already painted up (a
    scroll copies their pixels) and paint the one it uncovers. A plain append makes QTableView lay out and
    repaint the whole viewport (its vertical header's sectionCountChanged), which is most of a frame."""
    header = view.verticalHeader()
    header.blockSignals(True)
    model.append(1)
    header.blockSignals(False)
    painted_at = header.offset()
    view.updateGeometries()
    header.setOffset(painted_at)
    view.scrollToBottom()


def last_visible_row(view: QTableView) -> int:
    """The row at the bottom edge of the viewport (-1 if none): where the live edge should be."""
    vp = view.viewport()
    row = view.indexAt(QPoint(2, vp.height() - 2)).row()
    return row if row >= 0 else view.model().rowCount() - 1 if view.model() else -1


class Console:
    """The real timeline panel over a store in `data_dir`: alone, in a UiContext like the console builds;
    or, with `whole_window`, in the console window itself (every panel, the theme), as `sitrep` opens it."""

    def __init__(self, data_dir: Path, *, whole_window: bool = False) -> None:
        from services.core import Sitrep
        from services.storage.paths import resolve_paths
        from ui.console import build_context, open_console_window
        from ui.panels.timeline import TimelinePanel
        from ui.theme import apply_theme

        self.paths = resolve_paths(data_dir)
        self.paths.create()
        self.sitrep = Sitrep.open(
            f"sqlite:///{self.paths.database}", backups_dir=self.paths.backups, config_dir=self.paths.config
        )
        # Stamps the moment a change is announced, just after its COMMIT: subscribed before the console's
        # notifier, so what the panels do for the change (inside timeline.log) is inside the measured time.
        self.announced_at: float | None = None
        self.sitrep.changes.subscribe(self._stamp)
        self.shown = None
        if whole_window:
            apply_theme(QApplication.instance())
            self.shown = open_console_window(self.sitrep, paths=self.paths, author="bench")
            self.ctx, self.window = self.shown.ctx, self.shown.window
            self.panel = self.window.panels["timeline"]
        else:
            self.ctx = build_context(self.sitrep, paths=self.paths, author="bench")
            self.panel = self.window = TimelinePanel(self.ctx)
        self.view = self.panel.view
        self.watch = PaintWatch(self.view.viewport())

    def _stamp(self, _change) -> None:
        if self.announced_at is None:
            self.announced_at = time.perf_counter()

    def open(self, app: QApplication, incident_id: str) -> None:
        """Shown, at the panel's usual size (the whole window: a small laptop's screen), on the incident."""
        show_and_settle(app, self.window)
        if self.shown is not None:
            self.window.resize(1366, 768)
            self.window.open_incident(incident_id)
        else:
            self.panel.set_incident(self.sitrep.incidents.get(incident_id))
        settle(app, 10)
        # At the live edge: the window's docks may have settled after the panel scrolled to its end.
        self.view.scrollToBottom()
        settle(app)

    def close(self) -> None:
        self.window.close()
        if self.shown is not None:
            self.shown.close()
        else:
            self.ctx.notifier.close()
        self.sitrep.close()


# -- benchmark 2: open a long incident -------------------------------------------------------------


def open_incident(args: dict[str, Any]) -> dict[str, Any]:
    """Time to open the incident until the panel has painted it; and the resident memory it costs."""
    app = QApplication.instance() or QApplication([])
    entries = int(args["entries"])
    rounds = int(args["rounds"])
    console = Console(Path(args["data_dir"]))
    show_and_settle(app, console.panel)
    floor_view = bare_view(like=console.view)
    floor_view.setModel(BareModel(0))  # the header takes its height now, so the viewport is sized right
    floor_watch = PaintWatch(floor_view.viewport())
    show_like(app, floor_view, console.view)
    incident_id = args["incident_id"]
    checks: dict[str, Any] = {}

    def subject() -> float:
        console.panel.set_incident(None)
        settle(app)
        before = console.watch.paints
        t = time.perf_counter()
        incident = console.sitrep.incidents.get(incident_id)
        console.panel.set_incident(incident)
        wait_painted(app, console.watch, before)
        elapsed = (time.perf_counter() - t) * 1000
        checks["subject_rows"] = console.panel.model.rowCount()
        checks["subject_last_visible_row"] = last_visible_row(console.view)
        return elapsed

    def floor() -> float:
        floor_view.setModel(None)
        settle(app)
        before = floor_watch.paints
        t = time.perf_counter()
        model = BareModel(entries)
        floor_view.setModel(model)
        floor_view.scrollToBottom()
        wait_painted(app, floor_watch, before)
        elapsed = (time.perf_counter() - t) * 1000
        floor_view._model = model  # keep it alive with the view
        checks["floor_rows"] = model.rowCount()
        checks["floor_last_visible_row"] = last_visible_row(floor_view)
        checks["viewport"] = [console.view.viewport().width(), console.view.viewport().height()]
        checks["floor_viewport"] = [floor_view.viewport().width(), floor_view.viewport().height()]
        return elapsed

    # The first open is measured alone, before anything else has touched the incident: that is the
    # memory the commander pays, and the cold(ish) time (the OS page cache is warm from the build).
    settle(app)
    rss_before = rss_mb()
    first_open = subject()
    settle(app)
    rss_after = rss_mb()
    floor_rss_before = rss_mb()
    first_floor = floor()
    settle(app)
    floor_rss_after = rss_mb()

    subject_rounds, floor_rounds = interleave(subject, floor, rounds)
    console.close()
    floor_view.close()
    extra_rss = rss_after - rss_before
    res = result(
        "open_incident",
        f"Open an incident of {entries:,} entries until painted",
        subject="incidents.get + TimelinePanel.set_incident + first paint (scrolled to the latest entry)",
        floor=f"bare QTableView.setModel(minimal model of {entries:,} rows) + scrollToBottom + paint",
        subject_rounds=subject_rounds,
        floor_rounds=floor_rounds,
        targets=[],
        extra={
            "entries": entries,
            "first_open_ms": first_open,
            "first_floor_ms": first_floor,
            "extra_rss_mb": extra_rss,
            "floor_extra_rss_mb": floor_rss_after - floor_rss_before,
            "rss_mb_after": rss_after,
            **checks,
        },
    )
    return with_targets(res, [Target("ms", res["subject_ms"], 150.0), Target("MB", extra_rss, 60.0)])


def with_targets(res: dict[str, Any], targets: list[Target]) -> dict[str, Any]:
    res["targets"] = [
        {"what": t.what, "value": t.value, "limit": t.limit, "at_most": t.at_most, "met": t.met}
        for t in targets
    ]
    res["target"] = ", ".join(t.words for t in targets)
    res["met"] = all(t.met for t in targets)
    return res


# -- benchmark 4: live append -------------------------------------------------------------------


def live_append(args: dict[str, Any]) -> dict[str, Any]:
    """From an entry's commit to the end of the paint that shows its row, in a timeline at the live edge."""
    app = QApplication.instance() or QApplication([])
    entries = int(args["entries"])
    rounds = int(args["rounds"])
    per_round = int(args["per_round"])
    mode = args.get("mode", "service")
    data_dir = Path(args["data_dir"])
    console = Console(data_dir, whole_window=mode == "console")
    incident_id = args["incident_id"]
    console.open(app, incident_id)
    view, model = console.view, console.panel.model

    other = None
    if mode == "other_connection":
        # What `sitrep log` in a terminal does: its own store, its own connections, no shared bus.
        from services.core import Sitrep

        other = Sitrep.open(f"sqlite:///{console.paths.database}")

    floor_db = sqlite3.connect(Path(args["floor_db"]))
    floor_db.execute("PRAGMA synchronous=FULL")
    floor_db.execute("PRAGMA journal_mode=WAL")
    floor_db.execute("CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, body TEXT)")
    floor_db.commit()
    floor_view = bare_view(like=view)
    floor_model = BareModel(entries)
    floor_view.setModel(floor_model)
    show_like(app, floor_view, view)
    floor_view.scrollToBottom()
    settle(app, 10)
    counter = [0]
    misses: list[str] = []
    rows_before = [0, 0]  # the subject's and the floor's, when the entry was committed
    subject_shown = PaintStamps(
        view.viewport(), lambda: model.rowCount() > rows_before[0] and last_visible_row(view) == model.rowCount() - 1
    )
    floor_shown = PaintStamps(
        floor_view.viewport(),
        lambda: floor_model.rows > rows_before[1] and last_visible_row(floor_view) == floor_model.rows - 1,
    )

    def subject_once() -> float:
        counter[0] += 1
        body = f"live entry {counter[0]}: error rate 4.{counter[0] % 10}%"
        settle(app)
        rows_before[0] = model.rowCount()
        subject_shown.arm()
        console.announced_at = None
        if other is None:
            entry = console.sitrep.timeline.log(incident_id, body, author="bench", kind="observation")
            t = console.announced_at  # committed: the change is announced right after COMMIT, inside log()
            if t is None:
                raise RuntimeError("timeline.log committed without announcing the change")
        else:
            entry = other.timeline.log(incident_id, body, author="cli", kind="observation", source="cli")
            t = time.perf_counter()  # committed: log() returns after COMMIT (the other Sitrep's bus is its own)
        elapsed = wait_shown(app, subject_shown, t)
        shown = model.entry(model.rowCount() - 1)
        if shown is None or shown.id != entry.id:
            misses.append(f"row {model.rowCount() - 1} is not entry #{entry.seq}")
        return elapsed

    def floor_once() -> float:
        counter[0] += 1
        settle(app)
        rows_before[1] = floor_model.rows
        floor_shown.arm()
        cur = floor_db.execute("INSERT INTO entries (body) VALUES (?)", (f"live entry {counter[0]}",))
        floor_db.commit()
        t = time.perf_counter()
        floor_db.execute("SELECT seq, body FROM entries WHERE seq = ?", (cur.lastrowid,)).fetchone()
        append_scrolled(floor_view, floor_model)
        return wait_shown(app, floor_shown, t)

    def subject() -> float:
        return statistics.median(subject_once() for _ in range(per_round))

    def floor() -> float:
        return statistics.median(floor_once() for _ in range(per_round))

    try:  # a failure must end the child, not leave the whole console's sync worker holding it open
        if args.get("warmup", True):
            subject_once()
            floor_once()
        subject_rounds, floor_rounds = interleave(subject, floor, rounds)
        poll_ms = console.ctx.notifier._timer.interval()
        viewport = [view.viewport().width(), view.viewport().height()]
    finally:
        if other is not None:
            other.close()
        console.close()
        floor_view.close()
        floor_db.close()
    title = {
        "service": "Live append: logged in this console, to row painted",
        "other_connection": "Live append: logged by another connection (CLI), to row painted",
        "console": "Live append: logged in the whole console window (every panel, 1366x768), to row painted",
    }[mode]
    subject_text = {
        "service": "timeline.log commits (timed from there) -> change bus -> model pulls -> row painted",
        "other_connection": "another Store commits -> ChangeNotifier notices -> model pulls -> row painted",
        "console": "as service, with every panel of the console hearing of the same commit",
    }[mode]
    res = result(
        f"live_append_{mode}",
        f"{title} ({entries:,} entries open)",
        subject=subject_text,
        floor="raw sqlite3 commit -> SELECT the row -> bare model insert -> scroll (pixels moved) -> new row painted",
        subject_rounds=subject_rounds,
        floor_rounds=floor_rounds,
        extra={
            "entries": entries,
            "appends_per_round": per_round,
            "statistic": "median per append within a round",
            "wrong_rows": misses,
            "change_poll_interval_ms": poll_ms,
            "viewport": viewport,
            "measured_to": "the end of the viewport paint after which the new row is the last visible row",
        },
    )
    return with_targets(res, [Target("ms", res["subject_ms"], 16.0)])
