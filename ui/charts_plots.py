"""The four metric charts, drawn with pyqtgraph. Imported only when the charts panel is first shown.

Each chart creates its plot items once and updates them with setData/setOpts (re-creating items leaks,
pyqtgraph issue 2348). Values are drawn on a log scale by default, because incident durations are heavily
skewed; the axes then carry durations ("30m", "4h") rather than powers of ten. Tooltips give exact values.

Longer than ~500 lines: four pyqtgraph charts with shared axis and tooltip handling, imported lazily as one
module.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from datetime import UTC

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QCursor, QFont, QFontMetrics
from PySide6.QtWidgets import QToolTip

from services.analytics.metrics import (
    MetricDashboard,
    Stats,
    format_minutes,
    format_user_minutes,
    format_value,
    quantile,
)

pg.setConfigOptions(antialias=True, background="w", foreground="#323130")

SEVERITY_COLOURS = {
    "SEV1": "#c50f1f",
    "SEV2": "#f7630c",
    "SEV3": "#c19c00",
    "SEV4": "#0078d4",
    "SEV5": "#8a8886",
}
OTHER_COLOUR = "#5c2e91"
MEDIAN_COLOUR = "#0f6cbd"
P90_COLOUR = "#c50f1f"
COUNT_COLOUR = (138, 136, 134, 70)
BOX_COLOUR = (15, 108, 189, 60)

# Nice tick positions, in minutes, for duration axes.
_DURATION_TICKS = [
    1 / 60, 5 / 60, 15 / 60, 30 / 60, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440, 2880, 5760, 10080,
    20160, 40320, 86400, 172800, 525600,
]  # fmt: skip
TITLE_POINTS = 11.0
MAX_SCATTER_POINTS = 20_000
MAX_STRIP_POINTS = 300  # per service


def severity_colour(severity: str) -> str:
    return SEVERITY_COLOURS.get(severity, OTHER_COLOUR)


class ValueAxis(pg.AxisItem):
    """A y axis that reads durations (or user-hours), on a linear or log10 scale."""

    def __init__(self, orientation: str = "left", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.kind = "duration"
        self.log = True

    def configure(self, kind: str, log: bool) -> None:
        self.kind, self.log = kind, log
        self.picture = None
        self.update()

    def _minutes(self, v: float) -> float:
        return 10**v if self.log else v

    def _label(self, minutes: float) -> str:
        if self.kind == "impact":
            return format_user_minutes(minutes, unit=False)
        whole = round(minutes)
        if whole >= 60 and abs(minutes - whole) < 1e-6:
            if whole % 10080 == 0:
                return f"{whole // 10080}w"
            if whole % 1440 == 0 and whole >= 2880:
                return f"{whole // 1440}d"
            if whole % 60 == 0:
                return f"{whole // 60}h"
        if 1 <= whole < 60 and abs(minutes - whole) < 1e-6:
            return f"{whole}m"
        return format_minutes(minutes)

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802 - Qt-style override
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = self._minutes(minVal), self._minutes(maxVal)
        if self.kind == "impact":
            if not self.log:
                return super().tickValues(minVal, maxVal, size)
            candidates = [60 * 10**k for k in range(-2, 12)]
        elif self.log:
            candidates = _DURATION_TICKS
        else:
            span = hi - lo
            step = next((s for s in _DURATION_TICKS if span / s <= 6), _DURATION_TICKS[-1])
            start = math.ceil(lo / step) * step
            values = [start + i * step for i in range(int((hi - start) / step) + 1)]
            return [(step, values)]
        inside = [c for c in candidates if lo <= c <= hi]
        keep = max(1, math.ceil(len(inside) / 8))
        inside = inside[::keep]
        return [(1.0, [math.log10(c) for c in inside])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - Qt-style override
        return [self._label(self._minutes(v)) for v in values]


def to_plot(values, log: bool, floor: float) -> np.ndarray:
    """Values as drawn: log10 of the value (zero drawn at `floor`, tooltips still say zero), or as they are."""
    arr = np.asarray(values, dtype=float)
    if not log:
        return arr
    return np.log10(np.maximum(arr, floor))


def _floor(dash: MetricDashboard) -> float:
    return 1.0 if dash.metric.kind == "impact" else 1 / 60  # one user-minute, one second


class _Chart:
    """A PlotWidget with a title, a value axis, and hover tooltips routed to `hover_text`.

    Titles and axis labels are fitted to the room the chart has: docked beside other panels a chart
    may be a few hundred pixels wide, and pyqtgraph would draw a long title or a rotated axis label
    past the plot's edge, where it is cut off. Each label offers shorter wordings, then is elided.
    """

    def __init__(self, title: str, bottom: pg.AxisItem | None = None, value_side: str = "left") -> None:
        self.value_side = value_side
        self.value_axis = ValueAxis(value_side)
        axes = {value_side: self.value_axis}
        if bottom is not None:
            axes["bottom"] = bottom
        self.widget = pg.PlotWidget(axisItems=axes)
        self.plot: pg.PlotItem = self.widget.getPlotItem()
        # Copies of the widget's font: a font with an empty family (QFont("", 8)) crashes pyqtgraph's
        # text measuring.
        self.title_font = QFont(self.widget.font())
        self.title_font.setPointSizeF(TITLE_POINTS)
        self.label_font = QFont(self.widget.font())
        self._title = title
        self._shown_title: str | None = None
        self._labels: dict[str, tuple[str, ...]] = {}  # axis side -> wordings, longest first
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)
        self.widget.setMouseTracking(True)
        self.log = True
        self.dash: MetricDashboard | None = None
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.vb.sigResized.connect(self.fit_text)
        self.fit_text()

    # -- text that fits ----------------------------------------------------------------------------
    def set_title(self, *wordings: str) -> None:
        """Wordings longest first: the longest that fits is shown, else the shortest elided."""
        self._title = wordings
        self.fit_text()

    def set_axis_label(self, side: str, *wordings: str) -> None:
        axis = self.plot.getAxis(side)
        axis.label.setFont(self.label_font)
        self._labels[side] = wordings
        self.fit_text()

    def _plot_area(self) -> tuple[int, int]:
        """The room the plot area has inside the widget, from the axes' breadths (which do not depend
        on how long their labels are; pyqtgraph widens a plot to fit a long label rather than the
        other way round, so the labels are measured against this, not against the axes)."""

        def breadth(sides: tuple[str, ...], of) -> float:
            return sum(of(self.plot.getAxis(s).geometry()) for s in sides if self.plot.getAxis(s).isVisible())

        width = self.widget.width() - breadth(("left", "right"), lambda g: g.width())
        title = 30 if self.plot.titleLabel.isVisible() else 0
        height = self.widget.height() - title - breadth(("top", "bottom"), lambda g: g.height())
        return int(width), int(height)

    def fit_text(self) -> None:
        width, height = self._plot_area()
        room = max(width - 24, 40)  # the label item adds its margins
        fm = QFontMetrics(self.title_font)
        wordings = (self._title,) if isinstance(self._title, str) else self._title
        title = next((w for w in wordings if fm.horizontalAdvance(w) <= room), None)
        if title is None:
            title = fm.elidedText(wordings[-1], Qt.TextElideMode.ElideRight, room)
        if title != self._shown_title:
            self._shown_title = title
            self.plot.setTitle(html.escape(title), size=f"{TITLE_POINTS:g}pt")
        metrics = QFontMetrics(self.label_font)
        for side, wordings in self._labels.items():
            axis = self.plot.getAxis(side)
            room = (height if side in ("left", "right") else width) - 12
            if room <= 0:  # not laid out yet: the resize that lays it out comes back here
                room = 10_000
            text = next((w for w in wordings if metrics.horizontalAdvance(w) <= room), None)
            if text is None:
                text = metrics.elidedText(wordings[-1], Qt.TextElideMode.ElideRight, room)
            if html.escape(text) != axis.labelText:
                axis.setLabel(html.escape(text))

    def shown_title(self) -> str:
        return self._shown_title or ""

    def _mouse_moved(self, scene_pos) -> None:
        if not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            QToolTip.hideText()
            return
        text = self.hover_text(self.plot.vb.mapSceneToView(scene_pos))
        if text:
            QToolTip.showText(QCursor.pos(), text, self.widget)
        else:
            QToolTip.hideText()

    def hover_text(self, point: QPointF) -> str | None:  # pragma: no cover - overridden
        return None

    def _value_labels(self, dash: MetricDashboard) -> tuple[str, ...]:
        unit = "user-hours" if dash.metric.kind == "impact" else "duration"
        short = dash.metric.short
        if self.log:
            return f"{short} ({unit}, log scale)", f"{short} ({unit}, log)", f"{short} (log)", short
        return f"{short} ({unit})", short

    def _configure_axis(self, dash: MetricDashboard) -> None:
        self.value_axis.configure("impact" if dash.metric.kind == "impact" else "duration", self.log)
        self.set_axis_label(self.value_side, *self._value_labels(dash))


def _room_for_legend(plot: pg.PlotItem, plotted) -> None:
    """Leave the top quarter of the value axis empty, where the legend sits, so it covers no data."""
    finite = [v for v in plotted if math.isfinite(v)]
    if not finite:
        plot.enableAutoRange(axis=pg.ViewBox.YAxis)
        return
    lo, hi = min(finite), max(finite)
    span = (hi - lo) or (abs(hi) or 1.0)
    plot.setYRange(lo - 0.05 * span, hi + 0.35 * span, padding=0)


class TrendChart(_Chart):
    """Median and p90 per period (lines), with the number of incidents per period as bars behind them."""

    def __init__(self) -> None:
        super().__init__("Trend", bottom=pg.DateAxisItem(orientation="bottom", utcOffset=0))
        self.set_axis_label("bottom", "period (UTC)", "period")
        self.counts_view = pg.ViewBox()
        self.plot.showAxis("right")
        self.plot.scene().addItem(self.counts_view)
        self.plot.getAxis("right").linkToView(self.counts_view)
        self.set_axis_label("right", "incidents")
        self.counts_view.setXLink(self.plot)
        self.counts_view.setZValue(-10)
        self.counts_view.setMouseEnabled(x=False, y=False)
        self.plot.vb.sigResized.connect(self._sync_views)
        self.plot.vb.sigResized.connect(lambda *_: self._thin_period_ticks())
        self.bars = pg.BarGraphItem(
            x=np.zeros(0), height=np.zeros(0), width=1.0, brush=COUNT_COLOUR, pen=None
        )
        self.counts_view.addItem(self.bars)
        self.legend = self.plot.addLegend(offset=(10, 2), colCount=3)
        self.median = self.plot.plot(
            [], [], pen=pg.mkPen(MEDIAN_COLOUR, width=2), symbol="o", symbolSize=5,
            symbolBrush=MEDIAN_COLOUR, symbolPen=None, name="median", connect="finite",
        )  # fmt: skip
        self.p90 = self.plot.plot(
            [], [], pen=pg.mkPen(P90_COLOUR, width=2, style=Qt.PenStyle.DashLine), symbol="t", symbolSize=5,
            symbolBrush=P90_COLOUR, symbolPen=None, name="p90", connect="finite",
        )  # fmt: skip
        self.legend.addItem(self.bars, "incidents")
        self.centres = np.zeros(0)
        self.rows: list[tuple[str, int, float | None, float | None]] = []

    def _sync_views(self) -> None:
        self.counts_view.setGeometry(self.plot.vb.sceneBoundingRect())
        self.counts_view.linkedViewChanged(self.plot.vb, self.counts_view.XAxis)

    def update(self, dash: MetricDashboard, log: bool) -> None:
        self.dash, self.log = dash, log
        self._configure_axis(dash)
        by_label = {g.group: g.stats for g in dash.trend.groups}
        centres, widths, counts, medians, p90s = [], [], [], [], []
        self.rows = []
        for label, start, end in dash.periods:
            st = by_label.get(label)
            a, b = start.timestamp(), end.timestamp()
            centres.append((a + b) / 2)
            widths.append((b - a) * 0.8)
            count = st.count if st else 0
            counts.append(count)
            medians.append(st.median if st and st.count else math.nan)
            p90s.append(st.p90 if st and st.count else math.nan)
            self.rows.append((label, count, medians[-1], p90s[-1]))
        self.centres = np.asarray(centres, dtype=float)
        floor = _floor(dash)
        self.bars.setOpts(x=self.centres, height=np.asarray(counts, dtype=float), width=np.asarray(widths))
        self.median.setData(self.centres, to_plot(medians, log, floor))
        self.p90.setData(self.centres, to_plot(p90s, log, floor))
        self.counts_view.enableAutoRange(axis=pg.ViewBox.YAxis)
        # The bars keep to the lower part, under the legend; counts are whole numbers, so are the ticks.
        most = max(counts or [1]) or 1
        self.counts_view.setYRange(0, most * 1.6, padding=0)
        step = max(1, math.ceil(most / 4))
        self.plot.getAxis("right").setTickSpacing(step, step)
        self._label_periods(dash)
        if dash.periods:
            # Whole periods, not just the points: one incident would otherwise zoom the axis to a
            # fraction of a second around it (ticks reading "59.750").
            self.plot.setXRange(dash.periods[0][1].timestamp(), dash.periods[-1][2].timestamp(), padding=0.01)
        else:
            self.plot.enableAutoRange(axis=pg.ViewBox.XAxis)
        finite = [v for v in (*to_plot(medians, log, floor), *to_plot(p90s, log, floor)) if math.isfinite(v)]
        if finite:  # head room above the lines for the legend
            lo, hi = min(finite), max(finite)
            span = (hi - lo) or 1.0
            self.plot.setYRange(lo - 0.05 * span, hi + 0.22 * span, padding=0)
        m, per = dash.metric, dash.period
        self.set_title(f"{m.label}: median and p90 per {per}", f"{m.short}: median and p90 per {per}",
                       f"{m.short} per {per}")  # fmt: skip
        self.set_axis_label("right", "intervals" if dash.metric.kind == "between" else "incidents")
        self._sync_views()

    def _label_periods(self, dash: MetricDashboard) -> None:
        """The time axis names the periods the chart groups by ("2026-03", "2026-W10"), not days; with
        more periods than fit, every k-th one."""
        self._period_ticks = [(c, label) for c, (label, _a, _b) in zip(self.centres, dash.periods, strict=True)]
        self._thin_period_ticks()

    _period_ticks: list = []

    def _thin_period_ticks(self) -> None:
        ticks = self._period_ticks
        if not ticks:
            self.plot.getAxis("bottom").setTicks(None)
            return
        widest = max(QFontMetrics(self.label_font).horizontalAdvance(label) for _c, label in ticks) + 16
        room = max(self.plot.vb.width(), 1.0)
        every = max(1, math.ceil(len(ticks) * widest / room))
        self.plot.getAxis("bottom").setTicks([ticks[::every], []])

    def row_at(self, x: float) -> int | None:
        if not len(self.centres):
            return None
        i = int(np.argmin(np.abs(self.centres - x)))
        half = (self.centres[1] - self.centres[0]) / 2 if len(self.centres) > 1 else 86400 * 16
        return i if abs(self.centres[i] - x) <= half else None

    def hover_text(self, point: QPointF) -> str | None:
        i = self.row_at(point.x())
        if i is None or self.dash is None:
            return None
        label, count, median, p90 = self.rows[i]
        m = self.dash.metric
        if not count:
            return f"{self.dash.period} {label}: no incidents counted"
        return (
            f"{self.dash.period} {label}: {count:,} incident(s)\n"
            f"median {format_value(m, median)} · p90 {format_value(m, p90)}"
        )


class ServiceChart(_Chart):
    """One horizontal box per service, busiest on top: the box is the middle half (25th to 75th percentile),
    the thick bar the median, the whiskers reach the 10th and 90th percentiles; dots are the incidents."""

    def __init__(self) -> None:
        super().__init__("Distribution per service", value_side="bottom")
        self.plot.invertY(True)
        axis = self.plot.getAxis("left")
        axis.setWidth(120)
        # A copy of the widget's font: QFont("", 8) crashes Qt's text measuring here.
        self._tick_font = QFont(self.widget.font())
        self._tick_font.setPointSizeF(max(self._tick_font.pointSizeF() - 1, 7.0))
        axis.setTickFont(self._tick_font)
        self._rows_shown = 0
        self.plot.vb.sigResized.connect(self._resized)
        self.boxes = pg.BarGraphItem(
            x0=np.zeros(0), width=np.zeros(0), y=np.zeros(0), height=0.6, brush=BOX_COLOUR,
            pen=pg.mkPen(MEDIAN_COLOUR),
        )  # fmt: skip
        self.plot.addItem(self.boxes)
        self.whiskers = self.plot.plot([], [], pen=pg.mkPen("#605e5c", width=1), connect="pairs")
        self.medians = self.plot.plot([], [], pen=pg.mkPen(MEDIAN_COLOUR, width=3), connect="pairs")
        self.strip = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(50, 49, 48, 60))
        self.plot.addItem(self.strip)
        self.services: list[str] = []
        self.stats: list = []

    def _rows_that_fit(self) -> int:
        """As many services as have room for a readable label (at least 4, at most 15)."""
        height = self.plot.vb.height()
        return 15 if height <= 0 else max(4, min(15, int(height // 17)))

    def _resized(self) -> None:
        if self.dash is not None and self._rows_that_fit() != self._rows_shown:
            self.update(self.dash, self.log)

    def update(self, dash: MetricDashboard, log: bool) -> None:
        max_services = self._rows_shown = self._rows_that_fit()
        self.dash, self.log = dash, log
        self._configure_axis(dash)
        groups = sorted(dash.by_service.groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:max_services]
        floor = _floor(dash)
        self.services = [g for g, _ in groups]
        self.stats = []
        ys, lows, highs, wx, wy, mx, my, strip_x, strip_y = [], [], [], [], [], [], [], [], []
        rng = np.random.default_rng(0)  # the same jitter every time: dots do not dance on refresh
        for i, (_name, values) in enumerate(groups):
            st = Stats.of(values)
            self.stats.append(st)
            q1, q3, lo, hi, med = to_plot(
                [st.q1, st.q3, quantile(values, 0.1), st.p90, st.median], log, floor
            )
            ys.append(i)
            lows.append(q1)
            highs.append(q3)
            wx += [lo, q1, q3, hi, lo, lo, hi, hi]
            wy += [i, i, i, i, i - 0.15, i + 0.15, i - 0.15, i + 0.15]
            mx += [med, med]
            my += [i - 0.32, i + 0.32]
            if len(values) > MAX_STRIP_POINTS:
                values = [values[k] for k in np.linspace(0, len(values) - 1, MAX_STRIP_POINTS).astype(int)]
            strip_x.append(to_plot(values, log, floor))
            strip_y.append(i + rng.uniform(-0.22, 0.22, len(values)))
        lows_a = np.asarray(lows, dtype=float)
        self.boxes.setOpts(
            x0=lows_a,
            width=np.asarray(highs, dtype=float) - lows_a,
            y=np.asarray(ys, dtype=float),
            height=0.6,
        )
        self.whiskers.setData(wx, wy)
        self.medians.setData(mx, my)
        if strip_x:
            self.strip.setData(x=np.concatenate(strip_x), y=np.concatenate(strip_y))
        else:
            self.strip.setData(x=[], y=[])
        # Long names would be dropped by the axis rather than drawn cut; elide them (the tooltip has them whole).
        metrics = QFontMetrics(self._tick_font)
        labels = [metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, 150) for name in self.services]
        axis = self.plot.getAxis("left")
        axis.setWidth(min(170, max([metrics.horizontalAdvance(t) for t in labels] + [40]) + 14))
        axis.setTicks([list(enumerate(labels))])
        self.plot.setYRange(-0.7, max(len(self.services), 1) - 0.3, padding=0)
        self.plot.enableAutoRange(axis=pg.ViewBox.XAxis)
        shown = "" if len(dash.by_service.groups) <= max_services else f" (the {max_services} busiest)"
        m = dash.metric
        self.set_title(f"{m.label} per service{shown}", f"{m.short} per service{shown}", f"{m.short} per service")

    def hover_text(self, point: QPointF) -> str | None:
        i = round(point.y())
        if self.dash is None or not 0 <= i < len(self.services) or abs(point.y() - i) > 0.4:
            return None
        st, m = self.stats[i], self.dash.metric
        f = lambda v: format_value(m, v)  # noqa: E731
        return (
            f"{self.services[i]}: {st.count:,} incident(s)\n"
            f"median {f(st.median)} · p90 {f(st.p90)} · mean {f(st.mean)}\n"
            f"middle half {f(st.q1)} – {f(st.q3)} · range {f(st.min)} – {f(st.max)}"
        )


class SeverityChart(_Chart):
    """Median and p90 side by side for each severity."""

    def __init__(self) -> None:
        super().__init__("Per severity")
        self.median_bars = pg.BarGraphItem(
            x=np.zeros(0), height=np.zeros(0), width=0.38, brush=MEDIAN_COLOUR, pen=None
        )
        self.p90_bars = pg.BarGraphItem(
            x=np.zeros(0), height=np.zeros(0), width=0.38, brush=P90_COLOUR, pen=None
        )
        self.plot.addItem(self.median_bars)
        self.plot.addItem(self.p90_bars)
        legend = self.plot.addLegend(offset=(10, 5))
        legend.addItem(self.median_bars, "median")
        legend.addItem(self.p90_bars, "p90")
        self.severities: list[str] = []
        self.stats: list = []
        self.plot.vb.sigResized.connect(self._label_ticks)

    def _label_ticks(self) -> None:
        # With room, each severity says how many incidents it holds; when narrow, just its name.
        width = self.plot.vb.width()
        roomy = not self.severities or width <= 0 or width / len(self.severities) >= 95
        self.plot.getAxis("bottom").setTicks(
            [
                [
                    (i, f"{sev} (n={st.count:,})" if roomy else sev)
                    for i, (sev, st) in enumerate(zip(self.severities, self.stats, strict=True))
                ]
            ]  # fmt: skip
        )

    def update(self, dash: MetricDashboard, log: bool) -> None:
        self.dash, self.log = dash, log
        self._configure_axis(dash)
        groups = [g for g in dash.by_severity.groups if g.stats.count]
        self.severities = [g.group for g in groups]
        self.stats = [g.stats for g in groups]
        floor = _floor(dash)
        x = np.arange(len(groups), dtype=float)
        med = to_plot([s.median for s in self.stats], log, floor)
        p90 = to_plot([s.p90 for s in self.stats], log, floor)
        # On a log scale bars start at the floor of the axis, not at zero (log of zero is -inf).
        base = np.full(len(groups), min([*med, *p90]) - 0.3 if log and len(groups) else 0.0)
        self.median_bars.setOpts(x=x - 0.2, y0=base, height=med - base, width=0.38)
        self.p90_bars.setOpts(x=x + 0.2, y0=base, height=p90 - base, width=0.38)
        self._label_ticks()
        self.plot.setXRange(-0.7, max(len(groups), 1) - 0.3, padding=0)
        _room_for_legend(self.plot, [*base, *med, *p90])
        self.set_title(f"{dash.metric.label} per severity", f"{dash.metric.short} per severity")

    def hover_text(self, point: QPointF) -> str | None:
        i = round(point.x())
        if self.dash is None or not 0 <= i < len(self.severities) or abs(point.x() - i) > 0.45:
            return None
        st, m = self.stats[i], self.dash.metric
        return (
            f"{self.severities[i]}: {st.count:,} incident(s)\n"
            f"median {format_value(m, st.median)} · p90 {format_value(m, st.p90)} · mean {format_value(m, st.mean)}"
        )


class ScatterChart(_Chart):
    """Every counted incident: when it happened against its value, coloured by severity. Click to open."""

    def __init__(self, on_open: Callable[[str], None]) -> None:
        super().__init__("Incidents", bottom=pg.DateAxisItem(orientation="bottom", utcOffset=0))
        self.set_axis_label("bottom", "when it happened (UTC)", "when (UTC)")
        self.points = pg.ScatterPlotItem(size=7, pen=pg.mkPen(255, 255, 255, 160, width=0.5), hoverable=False)
        self.plot.addItem(self.points)
        self.points.sigClicked.connect(self._clicked)
        self.legend = self.plot.addLegend(offset=(10, 5), colCount=len(SEVERITY_COLOURS))
        self._legend_samples = []
        for sev, colour in SEVERITY_COLOURS.items():
            sample = pg.ScatterPlotItem(size=8, pen=None, brush=pg.mkBrush(QColor(colour)))
            self._legend_samples.append(sample)
            self.legend.addItem(sample, sev)
        self._on_open = on_open
        self.shown: list = []
        self.sampled = False
        self._legend_columns = len(SEVERITY_COLOURS)
        self.plot.vb.sigResized.connect(self._fit_legend)

    def _fit_legend(self, *_args) -> None:
        """As many legend columns as fit across the plot: five in a row would run past a narrow chart."""
        room = self.plot.vb.width()
        if room > 0:
            columns = max(1, min(len(SEVERITY_COLOURS), int(room // 62)))
            if columns != self._legend_columns:
                self._legend_columns = columns
                self.legend.setColumnCount(columns)

    def update(self, dash: MetricDashboard, log: bool) -> None:
        self.dash, self.log = dash, log
        self._configure_axis(dash)
        pts = dash.points
        self.sampled = len(pts) > MAX_SCATTER_POINTS
        if self.sampled:  # an even sample keeps the shape; the figures are computed from all of them
            pts = [pts[k] for k in np.linspace(0, len(pts) - 1, MAX_SCATTER_POINTS).astype(int)]
        self.shown = pts
        floor = _floor(dash)
        brushes = {sev: pg.mkBrush(QColor(severity_colour(sev))) for sev in {p.severity for p in pts}}
        self.points.setData(
            x=np.fromiter((p.at.timestamp() for p in pts), dtype=float, count=len(pts)),
            y=to_plot([p.value for p in pts], log, floor),
            brush=[brushes[p.severity] for p in pts],
            data=list(range(len(pts))),
        )
        self.plot.autoRange()  # now, not at the next paint: a click right after an update lands where it looks
        _room_for_legend(self.plot, to_plot([p.value for p in pts], log, floor))
        note = f" (an even sample of {MAX_SCATTER_POINTS:,} of {len(dash.points):,})" if self.sampled else ""
        # The title names the chart; how to use it is the tooltip (a long title is cut at a laptop's width).
        m = dash.metric
        self.set_title(f"{m.label} of each incident{note} — click a dot to open it",
                       f"{m.short} of each incident{note} — click to open", f"{m.short} of each incident{note}")  # fmt: skip

    def point_at(self, point: QPointF):
        spots = self.points.pointsAt(point)
        if len(spots) == 0:
            return None
        return self.shown[spots[0].data()]

    def _clicked(self, _item, spots, _ev=None) -> None:
        if len(spots):
            self._on_open(self.shown[spots[0].data()].incident_id)

    def hover_text(self, point: QPointF) -> str | None:
        p = self.point_at(point)
        if p is None or self.dash is None:
            return None
        when = p.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        extra = f" · {p.service}" if p.service else ""
        return (
            f"{p.key} {p.severity}{extra}: {p.title}\n"
            f"{when} · {self.dash.metric.short} {format_value(self.dash.metric, p.value)}\n(click to open)"
        )
