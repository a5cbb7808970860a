"""The charts panel driven through its widgets: figures from the engine, filters, clicks, tooltips, exports."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip, QWidget

from services.analytics.metrics import MetricFilter
from services.analytics.sample_history import generate, write_csv
from services.storage.paths import resolve_paths
from ui.console import build_context
from ui.item_models.metrics import ExclusionsModel, FiguresModel
from ui.panels.charts import ChartsPanel

STATUSPAGE = Path(__file__).parent / "data" / "statuspage" / "incidents.json"
ROOT = Path(__file__).resolve().parent.parent


class RecordingShell:
    """The console window's side of ui.context.ConsoleShell, writing down what the panel asked for."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.messages: list[tuple[str, bool]] = []
        self.commands: list[QAction] = []
        self.window = QWidget()

    def show_status(self, text: str, error: bool, timeout_ms: int) -> None:
        self.messages.append((text, error))

    def add_command(self, action: QAction, menu: str | None = None, *, first: bool = False) -> QAction:
        self.commands.append(action)
        return action

    def command(self, name: str) -> QAction | None:
        return next((a for a in self.commands if a.objectName() == name), None)

    def add_status_widget(self, widget: QWidget) -> None:
        widget.setParent(self.window)

    def open_incident(self, incident_id: str) -> None:
        self.opened.append(incident_id)

    def show_panel(self, panel_id: str, *, focus: bool = True) -> bool:
        return False

    def dialog_parent(self) -> QWidget:
        return self.window


@pytest.fixture
def history(sitrep, tmp_path):
    csv_path = write_csv(
        generate(600, seed=4, start=datetime(2025, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC)),
        tmp_path / "h.csv",
    )
    assert len(sitrep.history.import_file(csv_path, author="ana").created) == 600
    return sitrep


@pytest.fixture
def ctx(history, data_dir):
    context = build_context(history, paths=resolve_paths(data_dir), author="ana")
    context.shell = RecordingShell()  # what the panel asks of the console window, kept for the asserts
    yield context
    context.notifier.close()


@pytest.fixture
def panel(qtbot, ctx):
    widget = ChartsPanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    assert widget.metric_box.currentData() == "time_to_resolve"  # what people come for opens first
    # These tests read time to detect (every sample incident has it).
    widget.metric_box.setCurrentIndex(widget.metric_box.findData("time_to_detect"))
    widget.period_box.setCurrentIndex(widget.period_box.findText("All time"))
    yield widget
    widget.shutdown()


def shown(qtbot, panel) -> ChartsPanel:
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        panel.show()
    qtbot.waitExposed(panel)
    return panel


def wait_update(qtbot, panel, action) -> None:
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        action()


def test_the_charts_draw_what_the_engine_computes(qtbot, panel, history):
    shown(qtbot, panel)
    dash = panel.dashboard
    assert dash.metric.id == "time_to_detect" and dash.period == "month"
    engine = history.metrics.table("time_to_detect", "month", MetricFilter())
    assert [g.group for g in dash.trend.groups] == [g.group for g in engine.groups]

    trend = panel.charts["trend"]
    _, y = trend.median.getData()
    medians = {g.group: g.stats.median for g in engine.groups}
    expected = [
        math.log10(medians[label]) if label in medians else math.nan for label, _s, _e in dash.periods
    ]
    np.testing.assert_allclose(y, expected)
    assert trend.bars.opts["height"].sum() == engine.overall.count

    service = panel.charts["service"]
    by_service = history.metrics.table("time_to_detect", "service", MetricFilter())
    busiest = sorted(by_service.groups, key=lambda g: (-g.stats.count, g.group))
    assert service.services == [g.group for g in busiest][: len(service.services)]
    assert [s.median for s in service.stats] == [g.stats.median for g in busiest][: len(service.stats)]

    severity = panel.charts["severity"]
    assert severity.severities == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    scatter = panel.charts["scatter"]
    assert len(scatter.points.data) == engine.overall.count

    text = panel.definition.text()
    assert "detected − impact started" in text and f"{engine.overall.count:,} incident(s) counted" in text
    assert panel.exclusions_model.rowCount() == len(engine.excluded) > 0
    assert panel.figures_model.rowCount() == 1 + 5 + len(by_service.groups)


def test_plot_items_are_made_once_and_updated(qtbot, panel):
    shown(qtbot, panel)
    items = {name: (c.widget, getattr(c, "median", None), getattr(c, "boxes", None), getattr(c, "points", None))
             for name, c in panel.charts.items()}  # fmt: skip
    before = panel.charts["trend"].median.getData()[1].copy()
    wait_update(
        qtbot, panel, lambda: panel.metric_box.setCurrentIndex(panel.metric_box.findData("time_to_resolve"))
    )
    after = {name: (c.widget, getattr(c, "median", None), getattr(c, "boxes", None), getattr(c, "points", None))
             for name, c in panel.charts.items()}  # fmt: skip
    assert after == items
    assert not np.allclose(panel.charts["trend"].median.getData()[1], before, equal_nan=True)
    assert panel.dashboard.metric.id == "time_to_resolve"
    assert "resolved − impact started" in panel.definition.text()


def test_filters_choose_the_incidents(qtbot, panel, history):
    shown(qtbot, panel)
    assert panel.severity_button.text() == "Severity: all"
    wait_update(qtbot, panel, lambda: panel.severity_button.set_selected(["SEV1", "SEV2"]))
    assert panel.dashboard.filter.severities == ("SEV1", "SEV2")
    assert {p.severity for p in panel.dashboard.points} == {"SEV1", "SEV2"}
    assert panel.severity_button.text() == "Severity: SEV1, SEV2"
    assert panel.charts["severity"].severities == ["SEV1", "SEV2"]

    service = panel.services_button._actions and next(iter(panel.services_button._actions))
    wait_update(qtbot, panel, lambda: panel.services_button.set_selected([service]))
    assert panel.charts["service"].services == [service]
    wait_update(qtbot, panel, lambda: panel.type_button.set_selected(["change_failure"]))
    assert {p.incident_type for p in panel.dashboard.points} == {"change_failure"}
    expected = history.metrics.table(
        "time_to_detect",
        "all",
        MetricFilter(services=(service,), severities=("SEV1", "SEV2"), incident_types=("change_failure",)),
    )
    assert panel.dashboard.overall.overall == expected.overall

    for b in (panel.services_button, panel.severity_button):
        wait_update(qtbot, panel, b.clear)
    without = panel.dashboard.overall.overall.count
    wait_update(qtbot, panel, lambda: panel.drills_box.setChecked(True))
    assert panel.dashboard.filter.include_exercises
    assert panel.dashboard.overall.overall.count > without

    wait_update(qtbot, panel, lambda: panel.period_box.setCurrentIndex(panel.period_box.findText("Custom…")))
    assert panel.since_edit.isVisible() and panel.until_edit.isVisible()
    panel.since_edit.setDate(datetime(2025, 6, 1).date())
    wait_update(qtbot, panel, lambda: panel.until_edit.setDate(datetime(2025, 6, 30).date()))
    f = panel.dashboard.filter
    assert (f.since, f.until) == (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
    assert all(f.since <= p.at < f.until for p in panel.dashboard.points)


def test_a_preset_period_starts_on_a_period_boundary(qtbot, panel):
    panel.period_box.setCurrentIndex(panel.period_box.findText("Last 12 months"))
    shown(qtbot, panel)
    since = panel.dashboard.filter.since
    assert (since.day, since.hour, since.minute) == (1, 0, 0)
    assert panel.dashboard.periods[0][1] == since


def test_clicking_a_dot_opens_that_incident(qtbot, panel, ctx):
    shown(qtbot, panel)
    scatter = panel.charts["scatter"]
    qtbot.wait(50)  # let the layout settle: the dot's position on screen depends on it
    target = scatter.shown[len(scatter.shown) // 2]
    widget_point = scatter.widget.mapFromScene(scatter.plot.vb.mapViewToScene(_view_point(scatter, target)))
    with qtbot.waitSignal(panel.incident_requested, timeout=5000) as signal:
        QTest.mouseClick(
            scatter.widget.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point
        )
    opened = signal.args[0]
    # The dot under the cursor is the target or one drawn exactly on top of it.
    clicked = next(p for p in scatter.shown if p.incident_id == opened)
    assert abs(clicked.at - target.at) < timedelta(days=3)
    assert ctx.shell.opened == [opened]


def _view_point(scatter, point):
    from PySide6.QtCore import QPointF

    y = math.log10(max(point.value, 1 / 60)) if scatter.log else point.value
    return QPointF(point.at.timestamp(), y)


def test_double_clicking_an_exclusion_opens_it(qtbot, panel, ctx):
    shown(qtbot, panel)
    panel.tabs.setCurrentIndex(1)
    view = panel.exclusions_view
    qtbot.waitUntil(view.isVisible)
    index = panel.exclusions_model.index(0, 0)
    rect = view.visualRect(index)
    with qtbot.waitSignal(panel.incident_requested, timeout=5000) as signal:
        QTest.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
        )
        QTest.mouseDClick(
            view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
        )
    assert signal.args[0] == panel.exclusions_model.exclusion(0).incident_id


# Showing a tooltip raises its window, which the offscreen platform cannot do and says so.
@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_hovering_shows_exact_values(qtbot, panel):
    shown(qtbot, panel)
    dash = panel.dashboard
    trend = panel.charts["trend"]
    label, count, median, p90 = next(r for r in trend.rows if r[1])
    i = [r[0] for r in trend.rows].index(label)
    from PySide6.QtCore import QPointF

    text = trend.hover_text(QPointF(trend.centres[i], 0))
    st = next(g.stats for g in dash.trend.groups if g.group == label)
    from services.analytics.metrics import format_value

    assert text == (f"month {label}: {st.count:,} incident(s)\nmedian {format_value(dash.metric, st.median)} · "
                    f"p90 {format_value(dash.metric, st.p90)}")  # fmt: skip
    service = panel.charts["service"]
    assert service.hover_text(QPointF(0, 0)).startswith(
        f"{service.services[0]}: {service.stats[0].count:,} incident(s)"
    )
    assert service.hover_text(QPointF(0, 0.5)) is None
    severity = panel.charts["severity"]
    assert severity.hover_text(QPointF(0.1, 0)).startswith("SEV1: ")
    scatter = panel.charts["scatter"]
    p = scatter.shown[0]
    assert scatter.hover_text(_view_point(scatter, p)).startswith(f"{p.key} {p.severity}")
    # And through the mouse: moving over a bar shows the tooltip.
    scene = trend.plot.vb.mapViewToScene(QPointF(trend.centres[i], trend.plot.vb.viewRange()[1][0] + 0.01))
    QTest.mouseMove(trend.widget.viewport(), trend.widget.mapFromScene(scene))
    qtbot.waitUntil(lambda: QToolTip.text() == text, timeout=3000)


def test_the_log_scale_can_be_switched_off(qtbot, panel):
    shown(qtbot, panel)
    panel.log_box.setChecked(False)  # redraws from the figures already there, no recomputation
    trend = panel.charts["trend"]
    _, y = trend.median.getData()
    medians = {g.group: g.stats.median for g in panel.dashboard.trend.groups}
    expected = [medians.get(label, math.nan) for label, _s, _e in panel.dashboard.periods]
    np.testing.assert_allclose(y, expected)
    assert "log" not in trend.plot.getAxis("left").labelText


def test_exports_write_the_picture_and_the_numbers(qtbot, panel, tmp_path):
    shown(qtbot, panel)
    png = tmp_path / "charts.png"
    assert panel.export_png(png)
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 600 and image.height() > 400
    out = tmp_path / "charts.csv"
    assert panel.export_csv(out)
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    dash = panel.dashboard
    assert sum(r["chart"] == "trend by month" for r in rows) == len(dash.periods)
    assert sum(r["chart"] == "incident" for r in rows) == len(dash.points)
    assert sum(r["chart"] == "left out" for r in rows) == len(dash.overall.excluded)
    assert all(r["formula"] == "detected − impact started" for r in rows)
    overall = next(r for r in rows if r["chart"] == "all")
    assert float(overall["median"]) == pytest.approx(dash.overall.overall.median, abs=5e-4)
    assert not panel.export_csv(tmp_path / "missing-folder" / "x.csv")
    assert "Could not write" in panel.ctx.shell.messages[-1][0]


def test_the_figures_are_computed_off_the_gui_thread(qtbot, panel, history, monkeypatch):
    threads = []
    real = history.metrics.dashboard

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(history.metrics, "dashboard", spy)
    shown(qtbot, panel)
    assert threads and threading.get_ident() not in threads


def test_a_new_incident_refreshes_the_open_panel(qtbot, panel, history, clock):
    shown(qtbot, panel)
    before = panel.dashboard.overall.overall.count
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        history.incidents.declare("Checkout: card declines", "SEV1", author="ana", services=["checkout"],
                                  impact_started_at=clock() - timedelta(minutes=30),
                                  detected_at=clock() - timedelta(minutes=10))  # fmt: skip
    assert panel.dashboard.overall.overall.count == before + 1


def test_errors_reach_the_status_bar_not_a_traceback(qtbot, panel, history, monkeypatch):
    from services.errors import StoreError

    def broken(*args, **kwargs):
        raise StoreError("The database is busy in another program (locked). Nothing was saved; try again.")

    monkeypatch.setattr(history.metrics, "dashboard", broken)
    panel.show()
    qtbot.waitUntil(lambda: bool(panel.ctx.shell.messages), timeout=10_000)
    assert panel.ctx.shell.messages[-1] == (
        "The database is busy in another program (locked). Nothing was saved; try again.",
        True,
    )
    assert panel.busy_label.text() == "The figures could not be computed."


def test_an_empty_store_draws_empty_charts(qtbot, sitrep, data_dir):
    context = build_context(sitrep, paths=resolve_paths(data_dir), author="ana")
    widget = ChartsPanel(context)
    qtbot.addWidget(widget)
    try:
        shown(qtbot, widget)
        assert widget.dashboard.overall.overall.count == 0
        assert len(widget.charts["scatter"].points.data) == 0
        assert widget.charts["service"].services == []
        assert widget.export_png(data_dir / "empty.png")
    finally:
        widget.shutdown()
        context.notifier.close()


def test_the_item_models_pass_the_model_tester(qtbot, qtmodeltester, panel):
    shown(qtbot, panel)
    qtmodeltester.check(panel.figures_model)
    qtmodeltester.check(panel.exclusions_model)
    qtmodeltester.check(FiguresModel())
    qtmodeltester.check(ExclusionsModel())
    col = FiguresModel.HEADERS.index("Median")
    panel.figures_view.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    proxy = panel.figures_proxy
    values = [proxy.data(proxy.index(r, col), Qt.ItemDataRole.UserRole + 1) for r in range(proxy.rowCount())]
    assert values == sorted(values, reverse=True)


def test_the_import_dialog_imports_with_a_progress_bar(qtbot, panel, history):
    from ui.history_dialog import HistoryImportDialog

    dialog = HistoryImportDialog(panel.ctx, panel.worker, panel)
    qtbot.addWidget(dialog)
    dialog.file_edit.setText(str(STATUSPAGE))
    with qtbot.waitSignal(panel.worker.done, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert dialog.report is not None and len(dialog.report.created) == 50
    assert dialog.progress.value() == dialog.progress.maximum() == 50
    text = dialog.result.toPlainText()
    assert text.startswith("Imported 50 incident(s) from incidents.json (statuspage)")
    assert "refused:                      0" in text and "Outcome: imported with warnings." in text
    assert "Imported with milestones that contradict each other (flagged):" in text
    # Again: nothing new, and the dialog says so.
    with qtbot.waitSignal(panel.worker.done, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert "already imported, unchanged:  50" in dialog.result.toPlainText()
    dialog.file_edit.setText(str(STATUSPAGE.parent / "nope.json"))
    with qtbot.waitSignal(panel.worker.failed, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert "no such file" in dialog.result.toPlainText()


def test_the_import_dialog_takes_a_default_severity_and_value_maps(qtbot, panel, tmp_path):
    from ui.history_dialog import HistoryImportDialog

    path = tmp_path / "pm.csv"
    path.write_text("title,impact_started,resolved,prio\nA,2026-01-05 10:00,2026-01-05 11:00,\n"
                    "B,2026-01-06 10:00,2026-01-06 11:00,0\n", encoding="utf-8")  # fmt: skip
    dialog = HistoryImportDialog(panel.ctx, panel.worker, panel)
    qtbot.addWidget(dialog)
    dialog.file_edit.setText(str(path))
    dialog.pairs_edit.setText("severity=prio")
    dialog.values_edit.setText("severity=0:SEV5")
    dialog.severity_box.setCurrentIndex(dialog.severity_box.findData("SEV3"))
    with qtbot.waitSignal(panel.worker.done, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    keys = dialog.report.created
    assert [panel.ctx.sitrep.incidents.get(k).severity for k in keys] == ["SEV3", "SEV5"]
    assert "Outcome: all imported." in dialog.result.toPlainText()


def test_the_panel_is_in_the_console_and_hidden_until_asked(qtbot, ctx):
    from ui.main_window import MainWindow
    from ui.panels import PANEL_MODULES

    assert "ui.panels.charts" in PANEL_MODULES
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    try:
        assert "charts" in window.docks and not window.docks["charts"].isVisible()
        assert any(a.text() == "Import incident history…" for a in window.commands)
    finally:
        window.panels["charts"].shutdown()


def test_pyqtgraph_is_imported_only_when_the_panel_is_shown(tmp_path):
    script = f"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, {str(ROOT)!r})
from PySide6.QtWidgets import QApplication
from services.storage.paths import resolve_paths
from services.core import Sitrep
from ui.console import build_context
from ui.panels.charts import ChartsPanel
app = QApplication([])
paths = resolve_paths({str(tmp_path)!r}); paths.create()
s = Sitrep.open(f"sqlite:///{{paths.database}}")
ctx = build_context(s, paths=paths, author="x")
panel = ChartsPanel(ctx)
print("before", "pyqtgraph" in sys.modules)
panel.show(); app.processEvents()
print("after", "pyqtgraph" in sys.modules)
panel.shutdown(); ctx.notifier.close(); s.close()
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "before False" in out.stdout and "after True" in out.stdout


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # the window raises itself to show it
def test_in_the_console_a_click_on_an_old_incident_selects_it(qtbot, ctx):
    """The history is longer than the switcher's recent list; the oldest dot must still open."""
    from ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    panel = window.panels["charts"]
    try:
        panel.period_box.setCurrentIndex(panel.period_box.findText("All time"))
        with qtbot.waitSignal(panel.updated, timeout=20_000):
            window.show()
            window.docks["charts"].show()
        oldest = panel.dashboard.points[0]
        panel.open_incident(oldest.incident_id)
        assert ctx.selection.current is not None and ctx.selection.current.id == oldest.incident_id
        assert window.switcher.currentData() == oldest.incident_id
    finally:
        panel.shutdown()


def test_the_figures_carry_the_percentile_and_share_asked_for(qtbot, panel, history):
    shown(qtbot, panel)
    assert panel.metric_box.currentData() == "time_to_detect"
    model = panel.figures_model
    assert model.HEADERS[-1] == "p95"  # the default extra percentile
    panel.share_edit.setText("1m")
    wait_update(qtbot, panel, panel.share_edit.editingFinished.emit)
    assert model.HEADERS[-2:] == ("p95", "≤ 1m")
    values = sorted(history.metrics.samples("time_to_detect", "all", panel.current_filter()).overall)
    within = sum(1 for v in values if v <= 1.0) / len(values)
    assert model.data(model.index(0, len(model.HEADERS) - 1)) == f"{within * 100:.0f} %"
    assert f"{within * 100:.0f} %</b> within 1m" in panel.definition.text()
    assert "counts for each" in panel.definition.text()
