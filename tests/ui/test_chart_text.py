"""The metrics charts keep every title and axis label inside the chart, however small the dock makes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QRectF

from services.analytics.sample_history import generate, write_csv
from services.storage.paths import resolve_paths
from ui.console import build_context
from ui.panels.charts import ChartsPanel

# Roomy (a monitor), a tab beside the role board on a 1366×768 laptop, and the charts panel at its
# minimum width (what the old right-hand dock column gave it).
SIZES = [(1700, 950), (960, 520), (660, 470)]


@pytest.fixture
def ctx(sitrep, data_dir, tmp_path):
    history = generate(
        240, seed=7, start=datetime(2025, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert (
        len(sitrep.history.import_file(write_csv(history, tmp_path / "h.csv"), author="ana").created) == 240
    )
    context = build_context(sitrep, paths=resolve_paths(data_dir), author="ana")
    yield context
    context.notifier.close()


@pytest.fixture
def panel(qtbot, ctx):
    widget = ChartsPanel(ctx)
    qtbot.addWidget(widget)
    widget.period_box.setCurrentIndex(widget.period_box.findText("All time"))
    yield widget
    widget.shutdown()


def show_at(qtbot, panel: ChartsPanel, size: tuple[int, int]) -> None:
    panel.resize(*size)
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: all(c.widget.isVisible() for c in panel.charts.values()))


def ink(item) -> QRectF:
    """Where a pyqtgraph text item's letters are, in scene coordinates (its bounding box has a margin)."""
    margin = item.document().documentMargin()
    return item.mapRectToScene(item.boundingRect()).adjusted(margin, margin, -margin, -margin)


def texts_outside(chart) -> list[str]:
    view = chart.widget
    room = view.mapToScene(view.viewport().rect()).boundingRect().adjusted(-1, -1, 1, 1)
    items = [("title", chart.plot.titleLabel.item)]
    for side in ("left", "bottom", "right"):
        axis = chart.plot.getAxis(side)
        if axis.isVisible() and axis.label.isVisible():
            items.append((f"{side} axis label", axis.label))
            if side in ("left", "right"):  # a rotated label also stays within its own axis
                along = axis.mapRectToScene(axis.boundingRect())
                if ink(axis.label).height() > along.height() + 2:
                    items.append((f"{side} axis label longer than its axis", axis.label))
    return [
        f"{name}: {item.toPlainText()!r} at {ink(item)} outside {room}"
        for name, item in items
        if not room.contains(ink(item)) or "longer" in name
    ]


def assert_all_inside(qtbot, panel: ChartsPanel) -> None:
    """Once pyqtgraph has laid the charts out (a pass or two after the figures arrive)."""

    def problems() -> dict[str, list[str]]:
        return {name: found for name, chart in panel.charts.items() if (found := texts_outside(chart))}

    try:
        qtbot.waitUntil(lambda: not problems(), timeout=3000)
    except qtbot.TimeoutError:
        pytest.fail(f"{panel.metric_box.currentText()}: {problems()}")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_title_and_axis_label_is_inside_its_chart(qtbot, panel, size):
    show_at(qtbot, panel, size)
    assert_all_inside(qtbot, panel)


def test_on_a_big_screen_nothing_is_shortened(qtbot, panel):
    show_at(qtbot, panel, SIZES[0])
    assert_all_inside(qtbot, panel)
    dash = panel.dashboard
    assert panel.charts["trend"].shown_title() == f"{dash.metric.label}: median and p90 per month"
    assert panel.charts["trend"].value_axis.labelText == f"{dash.metric.short} (duration, log scale)"
    assert not any(c.shown_title().endswith("…") for c in panel.charts.values())


def test_when_narrow_long_words_give_way_and_every_metric_still_fits(qtbot, panel):
    show_at(qtbot, panel, SIZES[-1])
    assert_all_inside(qtbot, panel)
    scatter = panel.charts["scatter"]
    # The full title is longer than the chart is wide: a shorter wording is shown whole, not a cut one.
    title = scatter.shown_title()
    assert title.startswith(f"{panel.dashboard.metric.short} of each incident") and not title.endswith("…")
    assert scatter.value_axis.labelText != f"{panel.dashboard.metric.short} (duration, log scale)"
    for index in range(panel.metric_box.count()):
        if index != panel.metric_box.currentIndex():
            with qtbot.waitSignal(panel.updated, timeout=20_000):
                panel.metric_box.setCurrentIndex(index)
        assert_all_inside(qtbot, panel)
    panel.log_box.setChecked(False)  # linear: other wordings, same rule (redrawn at once)
    assert "log" not in scatter.value_axis.labelText
    assert {name: texts_outside(chart) for name, chart in panel.charts.items()} == {
        n: [] for n in panel.charts
    }


def test_the_trend_spans_whole_periods_even_with_one_incident(qtbot, sitrep, data_dir, tmp_path):
    one = generate(1, seed=3, start=datetime(2026, 2, 1, tzinfo=UTC), end=datetime(2026, 2, 20, tzinfo=UTC))
    assert len(sitrep.history.import_file(write_csv(one, tmp_path / "one.csv"), author="ana").created) == 1
    context = build_context(sitrep, paths=resolve_paths(data_dir), author="ana")
    panel = ChartsPanel(context)
    qtbot.addWidget(panel)
    try:
        panel.period_box.setCurrentIndex(panel.period_box.findText("All time"))
        show_at(qtbot, panel, SIZES[1])
        (x0, x1), _ = panel.charts["trend"].plot.vb.viewRange()
        # A month wide (the ticks read as days), not a second around the one point ("59.750").
        assert x1 - x0 >= 27 * 86400
    finally:
        panel.shutdown()
        context.notifier.close()
