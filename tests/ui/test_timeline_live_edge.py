"""The live timeline at its edge: a new entry is painted on its own (the rows above are moved, not painted
again), and what the commander sees is the same as a full repaint would show; away from the edge, in a
burst, with filters, corrections and another process's entries, the panel behaves as it always did."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QRect
from PySide6.QtGui import QGuiApplication, QImage, QRegion

from services.core import Sitrep
from services.storage.paths import resolve_paths
from ui.console import build_context
from ui.item_models.timeline import FRAME_S, TimelineFilter, TimelineModel
from ui.panels.timeline import TimelinePanel

ENTRIES = 120  # more than a viewport holds, so the view scrolls


class Paints(QObject):
    """The regions a widget was asked to paint."""

    def __init__(self, widget) -> None:
        super().__init__(widget)
        self.regions: list[QRegion] = []
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.regions.append(QRegion(event.region()))
        return False

    def painted(self) -> QRect:
        union = QRegion()
        for region in self.regions:
            union = union.united(region)
        return union.boundingRect()


def open_panel(qtbot, sitrep: Sitrep, data_dir: Path, entries: int, height: int = 520) -> TimelinePanel:
    ctx = build_context(sitrep, paths=resolve_paths(data_dir), author="ana")
    incident = sitrep.incidents.declare("Checkout failing", "SEV2", author="ana")
    for n in range(entries):
        kind = ("observation", "action", "decision", "assumption")[n % 4]
        sitrep.timeline.log(incident.id, f"entry {n}: p99 latency {900 + n} ms", author="ana", kind=kind,
                            rationale="because it was" if kind == "decision" else None)  # fmt: skip
    widget = TimelinePanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(900, height)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_incident(sitrep.incidents.get(incident.id))
    qtbot.waitUntil(lambda: last_visible_row(widget) == widget.model.rowCount() - 1)
    return widget


@pytest.fixture
def panel(qtbot, sitrep: Sitrep, data_dir: Path):
    widget = open_panel(qtbot, sitrep, data_dir, ENTRIES)
    yield widget
    widget.ctx.notifier.close()


def last_visible_row(panel: TimelinePanel) -> int:
    """The row at the bottom of the view; in a view not yet full, the last row if it is in sight."""
    view, vp = panel.view, panel.view.viewport()
    row = view.indexAt(QPoint(2, vp.height() - 2)).row()
    if row >= 0:
        return row
    last = panel.model.rowCount() - 1
    rect = view.visualRect(panel.model.index(last, 0))
    return last if rect.isValid() and rect.top() >= 0 and rect.bottom() < vp.height() else -1


def shown_seqs(model: TimelineModel) -> list[int]:
    return [model.entry(row).seq for row in range(model.rowCount())]


def on_screen(view) -> QImage:
    """The viewport as it is in the window's backing store (offscreen: what was last painted there)."""
    window = view.window()
    image = QGuiApplication.primaryScreen().grabWindow(window.winId()).toImage()
    return image.copy(QRect(view.viewport().mapTo(window, QPoint(0, 0)), view.viewport().size()))


def log(panel: TimelinePanel, body: str, **kw):
    return panel.ctx.sitrep.timeline.log(panel.incident.id, body, author=kw.pop("author", "bo"), **kw)


def test_at_the_live_edge_a_new_entry_is_painted_alone_and_shown_last(qtbot, panel):
    paints = Paints(panel.view.viewport())
    entry = log(panel, "payments-api 4.11 back in service")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 2 and bool(paints.regions))
    qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)
    assert panel.model.entry(panel.model.rowCount() - 1).id == entry.id
    viewport = panel.view.viewport()
    painted = paints.painted()
    # The new row, at the bottom: not the rows above, which were moved.
    row_height = panel.view.verticalHeader().defaultSectionSize()
    assert painted.bottom() == viewport.height() - 1
    assert painted.height() <= 2 * row_height < viewport.height()
    assert not panel.view.verticalHeader().signalsBlocked()
    assert panel.count_label.text() == f"{ENTRIES + 2:,} entries"


def test_the_new_row_is_painted_before_other_panels_hear_of_the_commit(qtbot, panel):
    seen = []
    paints = Paints(panel.view.viewport())
    # A panel built after the timeline, refreshing on the same notice (as the checklists and comms do).
    panel.ctx.notifier.changed.connect(
        lambda change: seen.append((panel.model.rowCount(), len(paints.regions), panel.count_label.text()))
    )
    qtbot.wait(2 * int(FRAME_S * 1000))  # the last live change is more than a frame old
    log(panel, "rollback complete")
    assert seen == [(ENTRIES + 2, 1, f"{ENTRIES + 2:,} entries")]
    assert last_visible_row(panel) == ENTRIES + 1


def test_what_is_on_screen_after_live_appends_is_what_a_full_repaint_paints(qtbot, panel):
    panel.view.selectRow(panel.model.rowCount() - 3)  # a selected row moves up with the rest
    assert_live_appends_look_like_full_repaints(qtbot, panel, 5)


def test_a_timeline_filling_its_view_live_looks_like_a_full_repaint_at_every_entry(qtbot, sitrep, data_dir):
    widget = open_panel(qtbot, sitrep, data_dir, 3, height=300)  # room for a dozen rows
    try:
        assert_live_appends_look_like_full_repaints(qtbot, widget, 14)
        assert widget.view.verticalScrollBar().maximum() > 0  # it did fill, and scrolled
    finally:
        widget.ctx.notifier.close()


def assert_live_appends_look_like_full_repaints(qtbot, panel: TimelinePanel, appends: int) -> None:
    if QGuiApplication.platformName() != "offscreen":
        pytest.skip("reads what was painted from the offscreen platform's backing store")
    for n in range(appends):
        expected_rows = panel.model.rowCount() + 1
        log(panel, f"live {n}: error rate {4 + n}.{n}%", kind="decision" if n % 3 == 2 else "observation",
            rationale="the graph says so" if n % 3 == 2 else None)  # fmt: skip
        qtbot.waitUntil(lambda expected_rows=expected_rows: panel.model.rowCount() == expected_rows)
        qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)
        qtbot.wait(1)  # let the paint that was asked for happen
        moved = on_screen(panel.view)
        panel.view.viewport().repaint()
        assert on_screen(panel.view) == moved, f"append {n} left the screen unlike a full repaint"


def test_a_commander_reading_further_up_is_not_moved_and_the_count_still_grows(qtbot, panel):
    bar = panel.view.verticalScrollBar()
    bar.setValue(0)
    qtbot.waitUntil(lambda: panel.view.rowAt(0) == 0)
    log(panel, "db failover finished")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 2)
    qtbot.wait(20)
    assert bar.value() == 0 and panel.view.rowAt(0) == 0
    assert panel.count_label.text() == f"{ENTRIES + 2:,} entries"
    # Ctrl+End's "Jump to the latest entry" brings the new one into view.
    panel.view.scrollToBottom()
    qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)


def test_a_commander_reading_a_little_above_the_end_is_not_pulled_down(qtbot, panel):
    # Ten rows up (the view scrolls by rows here): reading the entries just before the latest ones.
    bar = panel.view.verticalScrollBar()
    bar.setValue(bar.maximum() - 10)
    reading = panel.view.rowAt(0)
    log(panel, "pool at 85%")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 2)
    qtbot.wait(20)
    assert panel.view.rowAt(0) == reading
    assert last_visible_row(panel) < panel.model.rowCount() - 1
    # One row short of the end (the last row half shown) still counts as at the end: it follows.
    bar.setValue(bar.maximum() - 1)
    log(panel, "pool at 70%")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 3)
    qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)


def test_entries_arriving_below_a_reader_further_up_are_said_and_one_click_away(qtbot, panel):
    assert panel.new_below.isHidden()
    log(panel, "at the end: followed, nothing to say")
    qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)
    assert panel.new_below.isHidden()
    bar = panel.view.verticalScrollBar()
    bar.setValue(bar.maximum() - 10)
    reading = panel.view.rowAt(0)
    log(panel, "pool at 85%")
    log(panel, "pool at 90%")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 4)
    qtbot.waitUntil(lambda: panel.new_below.isVisible())
    assert panel.new_below.text().startswith("↓ 2 new entries below")
    assert panel.view.rowAt(0) == reading
    panel.new_below.click()
    qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)
    assert panel.new_below.isHidden()
    # Scrolling back down by hand says the same: caught up.
    bar.setValue(bar.maximum() - 10)
    log(panel, "pool at 95%")
    qtbot.waitUntil(lambda: panel.new_below.isVisible() and "↓ 1 new entry below" in panel.new_below.text())
    bar.setValue(bar.maximum())
    assert panel.new_below.isHidden()


def test_a_burst_of_a_thousand_entries_is_taken_in_a_few_inserts_and_paints(qtbot, panel):
    inserts = []
    panel.model.rowsInserted.connect(lambda _p, first, last: inserts.append(last - first + 1))
    paints = Paints(panel.view.viewport())
    started = time.monotonic()
    for n in range(1000):  # no event loop turn in between, as a history import's bus notices arrive
        last = log(panel, f"burst {n}")
    frames = (time.monotonic() - started) / FRAME_S
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 1001)
    qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)
    qtbot.wait(20)
    # The first entry at once; then at most one more per frame while the burst lasts; the rest together.
    assert sum(inserts) == 1000 and inserts[0] == 1 and len(inserts) <= 2 + frames
    assert 1 <= len(paints.regions) <= len(inserts) + 1
    assert panel.model.entry(panel.model.rowCount() - 1).id == last.id
    assert not panel.view.verticalHeader().signalsBlocked()


def test_live_rows_match_a_fresh_read_in_time_order_with_a_filter_and_a_correction(qtbot, panel):
    model = panel.model
    assert model.order == ("occurred", False)  # rows held as a list of sequence numbers, not a range
    logged = [log(panel, f"live {n}", kind="action" if n % 2 else "observation") for n in range(6)]
    qtbot.waitUntil(lambda: model.rowCount() == ENTRIES + 7)
    fresh = TimelineModel(panel.ctx.sitrep)
    fresh.set_incident(panel.incident.id)
    assert shown_seqs(model) == shown_seqs(fresh)
    assert all(model.row_of_seq(e.seq) == model.rowCount() - 6 + i for i, e in enumerate(logged))

    # A correction of an entry that itself arrived live: the original is found and struck through.
    model.row_of_seq(1)  # the row index exists before the appends below, and must be kept up to date
    more = [log(panel, f"more {n}") for n in range(3)]
    qtbot.waitUntil(lambda: model.rowCount() == ENTRIES + 10)
    changed = []
    model.dataChanged.connect(lambda top, _bottom, *_: changed.append(top.row()))
    panel.ctx.sitrep.timeline.correct(more[1].id, "more 1 (corrected)", author="ana", reason="typo")
    qtbot.waitUntil(lambda: model.rowCount() == ENTRIES + 11)
    original_row = model.row_of_seq(more[1].seq)
    assert model.entry(original_row).id == more[1].id and original_row in changed
    assert model.is_superseded(model.entry(original_row))

    # A filter: only the kinds asked for arrive, as a fresh read shows them.
    model.set_filter(TimelineFilter(kinds=frozenset({"action"})))
    before = model.rowCount()
    log(panel, "filtered out")
    wanted = log(panel, "kept", kind="action")
    qtbot.waitUntil(lambda: model.rowCount() == before + 1)
    fresh.set_filter(TimelineFilter(kinds=frozenset({"action"})))
    assert shown_seqs(model) == shown_seqs(fresh) and shown_seqs(model)[-1] == wanted.seq


def test_the_model_stays_well_behaved_through_live_appends(qtbot, panel, qtmodeltester):
    qtmodeltester.check(panel.model)
    for n in range(3):
        log(panel, f"checked {n}")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 4)
    qtmodeltester.check(panel.model)


def test_a_hidden_timeline_takes_its_rows_and_shows_the_latest_when_shown(qtbot, panel):
    panel.hide()
    entry = log(panel, "logged while the panel was closed")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ENTRIES + 2)
    assert not panel.view.verticalHeader().signalsBlocked()
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: last_visible_row(panel) == panel.model.rowCount() - 1)
    assert panel.model.entry(last_visible_row(panel)).id == entry.id


def test_an_entry_logged_by_another_process_is_painted_at_the_live_edge(qtbot, live_sitrep, data_dir):
    ctx = build_context(live_sitrep, paths=resolve_paths(data_dir), author="ana")
    incident = live_sitrep.incidents.declare("Checkout failing", "SEV2", author="ana")
    for n in range(60):
        live_sitrep.timeline.log(incident.id, f"entry {n}", author="ana")
    widget = TimelinePanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(900, 420)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_incident(live_sitrep.incidents.get(incident.id))
    qtbot.waitUntil(lambda: last_visible_row(widget) == widget.model.rowCount() - 1)
    other = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")  # `sitrep log` in a terminal
    try:
        entry = other.timeline.log(incident.id, "from the terminal", author="cli", source="cli")
        qtbot.waitUntil(lambda: widget.model.rowCount() == 62, timeout=5000)
        qtbot.waitUntil(lambda: last_visible_row(widget) == 61)
        assert widget.model.entry(61).id == entry.id
        assert not widget.view.verticalHeader().signalsBlocked()
    finally:
        other.close()
        ctx.notifier.close()
