"""Charts panel: how long incidents take to notice, answer and fix, per service and severity, over time.

The figures are computed off the GUI thread (a serial worker) and the pyqtgraph charts are built the first
time the panel is shown, so pyqtgraph's import cost is never paid at start-up.

Longer than ~500 lines: four charts, their shared filters and exports drive one worker; the plots are in
ui/charts_plots.py and the item models in ui/item_models/metrics.py.
"""

from __future__ import annotations

import csv
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.analytics.metrics import (
    NO_PROBLEM,
    PERIODS,
    Figures,
    MetricDashboard,
    MetricFilter,
    Stats,
    format_share,
    format_value,
    parse_threshold,
    percentile_name,
    period_label,
    period_start,
)
from services.changes import Change, Topic
from services.errors import SitrepError
from ui.history_dialog import HistoryImportDialog
from ui.item_models.metrics import INCIDENT_ID_ROLE, SORT_ROLE, ExclusionsModel, FiguresModel
from ui.panels import PanelSpec
from ui.workers import SerialWorker

log = logging.getLogger(__name__)

PERIOD_PRESETS = (
    ("Last 3 months", 3),
    ("Last 6 months", 6),
    ("Last 12 months", 12),
    ("Last 2 years", 24),
    ("All time", None),
    ("Custom…", -1),
)
REFRESH_DELAY_MS = 800  # coalesce a burst of changes (an import, a sync) into one recomputation


class ChoiceButton(QToolButton):
    """A drop-down of checkable values; none checked means all."""

    changed = Signal()

    def __init__(self, noun: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.noun = noun
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setAccessibleName(f"Filter by {noun.lower()}")
        self._menu = QMenu(self)
        self.setMenu(self._menu)
        self._actions: dict[str, QAction] = {}
        self._labels: dict[str, str] = {}
        self.set_values([])

    def set_values(self, values: list[str], labels: dict[str, str] | None = None) -> None:
        chosen = set(self.selected())
        self._menu.clear()
        self._actions = {}
        self._labels = labels or {}
        for v in values:
            act = self._menu.addAction(self._labels.get(v, v))
            act.setCheckable(True)
            act.setChecked(v in chosen)
            act.toggled.connect(self._toggled)
            self._actions[v] = act
        self._menu.addSeparator()
        self._menu.addAction(f"All {self.noun.lower()}", self.clear)
        self._update_text()

    def selected(self) -> list[str]:
        return [v for v, a in getattr(self, "_actions", {}).items() if a.isChecked()]

    def set_selected(self, values: list[str]) -> None:
        for v, a in self._actions.items():
            a.blockSignals(True)
            a.setChecked(v in values)
            a.blockSignals(False)
        self._toggled()

    def clear(self) -> None:
        self.set_selected([])

    def _toggled(self) -> None:
        self._update_text()
        self.changed.emit()

    def _update_text(self) -> None:
        chosen = self.selected()
        if not chosen:
            text = f"{self.noun}: all"
        elif len(chosen) <= 2:
            text = f"{self.noun}: " + ", ".join(self._labels.get(v, v) for v in chosen)
        else:
            text = f"{self.noun}: {len(chosen)}"
        self.setText(text)


class ChartsPanel(QWidget):
    updated = Signal()  # new figures are on screen
    incident_requested = Signal(str)  # a dot or an exclusion was opened

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.worker = SerialWorker(self)
        self.worker.done.connect(self._computed)
        self.worker.failed.connect(self._failed)
        self.dashboard: MetricDashboard | None = None
        self.charts: dict = {}
        self._definitions_error: str | None = None
        self._service_stats: list[tuple[str, Stats]] = []
        self._severity_stats: list[tuple[str, Stats]] = []
        self._overall = Stats(0)
        self._stale = True
        self._pending: int | None = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._build()
        self._register_commands()
        ctx.notifier.changed.connect(self._on_change)

    # -- layout ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.metric_box = QComboBox(self)
        self.metric_box.setAccessibleName("Metric")
        try:
            definitions = list(self.ctx.sitrep.metrics.definitions.values())
        except SitrepError as err:  # a broken metrics.toml override: say so here, keep the console running
            definitions = []
            self._definitions_error = err.message
        for d in definitions:
            self.metric_box.addItem(f"{d.label} ({d.short})", d.id)
        # People come to the charts for time to resolve (MTTR) first.
        self.metric_box.setCurrentIndex(max(self.metric_box.findData("time_to_resolve"), 0))
        self.metric_box.setToolTip("Which figure to chart; the definition is shown under the filters")
        self.period_box = QComboBox(self)
        self.period_box.setAccessibleName("Period")
        for label, months in PERIOD_PRESETS:
            self.period_box.addItem(label, months)
        self.period_box.setCurrentIndex(3)
        self.since_edit = QDateEdit(self)
        self.until_edit = QDateEdit(self)
        for edit, name in ((self.since_edit, "From"), (self.until_edit, "To (inclusive)")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
            edit.setToolTip(name)
            edit.setVisible(False)
        today = QDate.currentDate()
        self.since_edit.setDate(today.addYears(-1))
        self.until_edit.setDate(today)
        self.granularity_box = QComboBox(self)
        self.granularity_box.setAccessibleName("Trend by")
        for p in PERIODS:
            self.granularity_box.addItem(f"by {p}", p)
        self.granularity_box.setCurrentIndex(PERIODS.index("month"))
        self.services_button = ChoiceButton("Services", self)
        self.severity_button = ChoiceButton("Severity", self)
        self.type_button = ChoiceButton("Type", self)
        self.percentile_box = QSpinBox(self)
        self.percentile_box.setRange(0, 99)
        self.percentile_box.setValue(95)
        self.percentile_box.setPrefix("p")
        self.percentile_box.setSpecialValueText("p –")
        self.percentile_box.setAccessibleName("Extra percentile")
        self.percentile_box.setToolTip("Another percentile to show beside the median and p90 (0: none)")
        self.share_edit = QLineEdit(self)
        self.share_edit.setPlaceholderText("≤ e.g. 15m")
        self.share_edit.setAccessibleName("Share within")
        self.share_edit.setToolTip(
            "The share of incidents at or under this duration (90s, 1m, 15min, 4h), as published tables give it"
        )
        chars = self.fontMetrics().averageCharWidth()
        self.share_edit.setMinimumWidth(chars * 10)
        self.share_edit.setMaximumWidth(chars * 18)
        self.percentile_box.setMaximumWidth(chars * 12)
        self.flagged_box = QCheckBox("Leave out flagged", self)
        self.flagged_box.setToolTip(
            "Leave out of every figure the imported incidents whose history has contradicting milestones "
            "(by default only the figures that use such a pair leave them out)"
        )
        self.drills_box = QCheckBox("Include drills", self)
        self.drills_box.setToolTip("Exercises and drills are left out of the figures unless this is ticked")
        self.log_box = QCheckBox("Log scale", self)
        self.log_box.setChecked(True)
        self.log_box.setToolTip(
            "Durations are skewed: a log scale shows the short and the long ones together"
        )
        self.png_button = QPushButton("Export PNG…", self)
        self.csv_button = QPushButton("Export CSV…", self)
        self.import_button = QPushButton("Import history…", self)
        # Two short rows rather than one long one: docked beside the other panels, the charts must not force
        # the window wider than the screen.
        for box in (self.metric_box, self.period_box, self.granularity_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.metric_box.setMinimumContentsLength(18)
        self.period_box.setMinimumContentsLength(10)
        self.granularity_box.setMinimumContentsLength(8)
        for w in (
            self.metric_box,
            self.granularity_box,
            self.period_box,
            self.since_edit,
            self.until_edit,
            self.percentile_box,
            self.share_edit,
        ):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.import_button)
        lay.addLayout(bar)
        bar2 = QHBoxLayout()
        for w in (
            self.services_button,
            self.severity_button,
            self.type_button,
            self.drills_box,
            self.flagged_box,
            self.log_box,
        ):
            bar2.addWidget(w)
        bar2.addStretch(1)
        bar2.addWidget(self.png_button)
        bar2.addWidget(self.csv_button)
        lay.addLayout(bar2)

        self.definition = QLabel(self)
        self.definition.setObjectName("metric-definition")
        self.definition.setWordWrap(True)
        self.definition.setTextFormat(Qt.TextFormat.RichText)
        self.definition.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.definition)

        self.tabs = QTabWidget(self)
        self.chart_area = QWidget(self)
        self.chart_grid = QGridLayout(self.chart_area)
        self.chart_grid.setContentsMargins(0, 0, 0, 0)
        self.chart_grid.setSpacing(6)
        self.placeholder = QLabel("The charts appear when the figures are ready.", self.chart_area)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chart_grid.addWidget(self.placeholder, 0, 0)
        self.tabs.addTab(self.chart_area, "Charts")

        figures = QSplitter(Qt.Orientation.Vertical, self)
        self.figures_model = FiguresModel(self)
        self.figures_proxy = QSortFilterProxyModel(self)
        self.figures_proxy.setSourceModel(self.figures_model)
        self.figures_proxy.setSortRole(SORT_ROLE)
        self.figures_view = QTableView(figures)
        self.figures_view.setModel(self.figures_proxy)
        self.figures_view.setSortingEnabled(True)
        self.figures_view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the model's order until a click
        self.figures_view.verticalHeader().hide()
        header = self.figures_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.figures_view.setAccessibleName("Figures per group")
        self.exclusions_model = ExclusionsModel(self)
        self.exclusions_view = QTableView(figures)
        self.exclusions_view.setModel(self.exclusions_model)
        self.exclusions_view.verticalHeader().hide()
        self.exclusions_view.horizontalHeader().setStretchLastSection(True)
        self.exclusions_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.exclusions_view.setAccessibleName("Incidents left out, with the reason")
        self.exclusions_view.doubleClicked.connect(self._open_exclusion)
        self.exclusions_label = QLabel(self)
        holder = QWidget(figures)
        hl = QVBoxLayout(holder)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.exclusions_label)
        hl.addWidget(self.exclusions_view)
        figures.addWidget(self.figures_view)
        figures.addWidget(holder)
        self.tabs.addTab(figures, "Figures")
        lay.addWidget(self.tabs, 1)

        # An organisation learns by closing its post-incident actions, not by writing reviews: shown here
        # beside the incident figures.
        self.learning_label = QLabel("", self)
        self.learning_label.setObjectName("charts-action-items")
        self.learning_label.setWordWrap(True)
        lay.addWidget(self.learning_label)
        status = QHBoxLayout()
        self.busy_label = QLabel("", self)
        self.busy_label.setObjectName("charts-status")
        status.addWidget(self.busy_label, 1)
        lay.addLayout(status)

        self.metric_box.currentIndexChanged.connect(self._filters_changed)
        self.period_box.currentIndexChanged.connect(self._period_changed)
        self.since_edit.dateChanged.connect(self._filters_changed)
        self.until_edit.dateChanged.connect(self._filters_changed)
        self.granularity_box.currentIndexChanged.connect(self._filters_changed)
        for b in (self.services_button, self.severity_button, self.type_button):
            b.changed.connect(self._filters_changed)
        self.drills_box.toggled.connect(self._filters_changed)
        self.flagged_box.toggled.connect(self._filters_changed)
        self.percentile_box.valueChanged.connect(self._filters_changed)
        self.share_edit.editingFinished.connect(self._filters_changed)
        self.log_box.toggled.connect(self._redraw)
        self.png_button.clicked.connect(self._ask_png)
        self.csv_button.clicked.connect(self._ask_csv)
        self.import_button.clicked.connect(self.open_import_dialog)

    def _register_commands(self) -> None:
        if self.ctx.shell is None:  # standing alone: no menus or palette to list them in
            return
        add = self.ctx.shell.add_command
        act = QAction("Import incident history…", self)
        act.triggered.connect(self.open_import_dialog)
        add(act, "File")
        act = QAction("Export chart as PNG…", self)
        act.triggered.connect(self._ask_png)
        add(act, "Tools")
        act = QAction("Export chart data as CSV…", self)
        act.triggered.connect(self._ask_csv)
        add(act, "Tools")

    # -- charts, built on first show ---------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.ensure_charts()
        if self._stale:
            self.refresh()

    def ensure_charts(self) -> None:
        if self.charts:
            return
        from ui import charts_plots as plots  # pyqtgraph is imported here, not at start-up

        self.placeholder.hide()
        self.charts = {
            "trend": plots.TrendChart(),
            "service": plots.ServiceChart(),
            "severity": plots.SeverityChart(),
            "scatter": plots.ScatterChart(self.open_incident),
        }
        for (name, chart), (row, col) in zip(
            self.charts.items(), ((0, 0), (0, 1), (1, 0), (1, 1)), strict=True
        ):
            chart.widget.setObjectName(f"chart-{name}")
            chart.widget.setMinimumSize(240, 150)
            self.chart_grid.addWidget(chart.widget, row, col)
        if self.dashboard is not None:
            self._redraw()

    # -- filters ----------------------------------------------------------------------------------------
    def current_filter(self) -> MetricFilter:
        months = self.period_box.currentData()
        since = until = None
        if months == -1:
            d0, d1 = self.since_edit.date().toPython(), self.until_edit.date().toPython()
            since = datetime.combine(d0, time(0), tzinfo=UTC)
            until = datetime.combine(d1, time(0), tzinfo=UTC) + timedelta(days=1)
        elif months:
            # Start on a period boundary, so the first bar of the trend is a whole week, month or quarter.
            gran = self.granularity_box.currentData()
            rough = self.ctx.sitrep.now() - timedelta(days=round(months * 30.44))
            since = period_start(gran, period_label(gran, rough))
        return MetricFilter(
            since=since,
            until=until,
            services=tuple(self.services_button.selected()),
            severities=tuple(self.severity_button.selected()),
            incident_types=tuple(self.type_button.selected()),
            include_exercises=self.drills_box.isChecked(),
            exclude_flagged=self.flagged_box.isChecked(),
        )

    def current_figures(self) -> Figures:
        """The extra percentile and threshold asked for; a threshold that cannot be read is said, not used."""
        pct = self.percentile_box.value()
        shares: tuple[tuple[str, float], ...] = ()
        text = self.share_edit.text().strip()
        self.share_edit.setToolTip(self.share_edit.toolTip().split("\n")[0])
        if text:
            try:
                shares = (parse_threshold(text),)
            except SitrepError as err:
                self.share_edit.setToolTip(self.share_edit.toolTip() + "\n" + err.message)
                self.ctx.status_message(err.message, error=True)
        return Figures(percentiles=(float(pct),) if pct else (), share_under=shares)

    def _period_changed(self) -> None:
        custom = self.period_box.currentData() == -1
        self.since_edit.setVisible(custom)
        self.until_edit.setVisible(custom)
        self._filters_changed()

    def _filters_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self._refresh_timer.start(50)

    def _on_change(self, change: Change) -> None:
        if change.topic == Topic.ACTIONS:
            self.show_action_items()
            return
        if change.topic not in {Topic.INCIDENT, Topic.EXTERNAL}:
            return
        self._stale = True
        if self.isVisible():
            self._refresh_timer.start(REFRESH_DELAY_MS)

    # -- computing -------------------------------------------------------------------------------------
    def show_action_items(self) -> None:
        st = self.ctx.sitrep.action_items.stats()
        if not st.total:
            self.learning_label.setText("Post-incident action items: none yet.")
            return
        rate = f"{st.completion_rate:.0%}" if st.completion_rate is not None else "-"
        age = f"{st.median_open_age_days:.1f} days" if st.median_open_age_days is not None else "-"
        to_done = f"{st.median_days_to_done:.1f} days" if st.median_days_to_done is not None else "-"
        self.learning_label.setText(
            f"Post-incident action items: <b>{rate}</b> completed ({st.done} of {st.total}), {st.open} open, "
            f"{st.overdue} overdue; median age of open items {age}, median time to done {to_done}."
        )

    def refresh(self) -> int:
        """Recompute the figures in the background; `updated` is emitted when they are drawn."""
        self._refresh_timer.stop()
        self.show_action_items()
        self._stale = False
        if self._definitions_error:
            self.definition.setText(f"The metric definitions cannot be used: {self._definitions_error}")
            return 0
        metrics = self.ctx.sitrep.metrics
        metric_id = self.metric_box.currentData()
        period = self.granularity_box.currentData()
        flt = self.current_filter()
        figures = self.current_figures()

        def work():
            dash = metrics.dashboard(metric_id, period, flt)
            known = metrics.known_values()
            shown = figures if dash.metric.kind != "impact" else Figures(percentiles=figures.percentiles)
            service_stats = [
                (name, Stats.of(values, shown)) for name, values in dash.by_service.groups.items()
            ]
            overall = Stats.of(metrics.samples(metric_id, "all", flt).overall, shown)
            severity = [
                (name, Stats.of(values, shown))
                for name, values in metrics.samples(metric_id, "severity", flt).groups.items()
            ]
            # Per problem record: repeated incidents of one cause, with their time to resolve.
            by_problem = [(name, Stats.of(values, shown))
                          for name, values in metrics.samples(metric_id, "problem", flt).groups.items()]  # fmt: skip
            return dash, known, service_stats, overall, severity, by_problem

        self._pending = self.worker.submit(work)
        self.busy_label.setText("Computing the figures…")
        return self._pending

    def _computed(self, ticket: int, result) -> None:
        if ticket != self._pending:  # an older request (a newer one is on its way), or not ours at all
            return
        self._pending = None
        dash, known, service_stats, overall, severity, by_problem = result
        self.dashboard = dash
        self._service_stats = service_stats
        self._overall, self._severity_stats = overall, severity
        self.services_button.set_values(known["services"])
        self.severity_button.set_values(known["severities"])
        self.type_button.set_values(
            known["incident_types"], {t: t.replace("_", " ") for t in known["incident_types"]}
        )
        self._show_definition(dash, overall)
        rows = [("All", "all incidents", overall)]
        rows += [("Severity", name, st) for name, st in severity]
        if any(name != NO_PROBLEM for name, _st in by_problem):  # a repeated cause, before the many services
            rows += [("Problem", name, st) for name, st in by_problem]
        rows += [("Service", name, st) for name, st in service_stats]
        self.figures_model.set_rows(dash.metric, rows)
        self.exclusions_model.set_rows(dash.overall.excluded)
        self.exclusions_view.resizeColumnToContents(0)
        n = len(dash.overall.excluded)
        self.exclusions_label.setText(
            f"{n:,} incident(s) left out of this figure, each with the reason (double-click to open):"
            if n else "No incident was left out of this figure."
        )  # fmt: skip
        self._redraw()
        self.busy_label.setText(f"Updated {datetime.now().strftime('%H:%M:%S')}.")
        self.updated.emit()

    def _failed(self, ticket: int, message: str) -> None:
        if ticket != self._pending:
            return
        self._pending = None
        self.busy_label.setText("The figures could not be computed.")
        self.ctx.status_message(message, error=True)

    def _show_definition(self, dash: MetricDashboard, st: Stats) -> None:
        m = dash.metric
        excluded = len(dash.overall.excluded)
        f = dash.filter
        scope = "drills counted" if f.include_exercises else "drills left out"
        if f.exclude_flagged:
            scope += "; incidents with contradicting milestones left out"
        if f.since or f.until:
            since = f.since.strftime("%Y-%m-%d") if f.since else "the start"
            until = (f.until - timedelta(seconds=1)).strftime("%Y-%m-%d") if f.until else "now"
            scope = f"{since} to {until}; " + scope
        self.definition.setText(
            f"<b>{m.label}</b> ({m.short}) = {m.formula}. {m.description} "
            f"<br/>{st.count:,} {counted_noun(m)} counted · median <b>{format_value(m, st.median)}</b> · "
            f"p90 <b>{format_value(m, st.p90)}</b> · mean {format_value(m, st.mean)} · "
            + "".join(f"{percentile_name(p)} <b>{format_value(m, v)}</b> · " for p, v in st.percentiles)
            + "".join(f"<b>{format_share(x)}</b> within {x.label} · " for x in st.shares)
            + f"{excluded:,} left out (listed under Figures) · {scope}; periods in UTC."
            + (
                "<br/>On each service, an incident on several services counts for each."
                if m.kind != "between"
                else ""
            )
        )

    def _redraw(self) -> None:
        if not self.charts or self.dashboard is None:
            return
        log_scale = self.log_box.isChecked()
        for chart in self.charts.values():
            chart.update(self.dashboard, log_scale)

    # -- opening incidents -----------------------------------------------------------------------------
    def open_incident(self, incident_id: str) -> None:
        self.incident_requested.emit(incident_id)
        self.ctx.open_incident(incident_id)

    def _open_exclusion(self, index) -> None:
        incident_id = self.exclusions_model.data(index, INCIDENT_ID_ROLE)
        if incident_id:
            self.open_incident(incident_id)

    # -- exports ---------------------------------------------------------------------------------------
    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export chart as PNG", "sitrep-metrics.png", "PNG image (*.png)"
        )
        if path:
            self.export_png(Path(path))

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export chart data as CSV", "sitrep-metrics.csv", "CSV (*.csv)"
        )
        if path:
            self.export_csv(Path(path))

    def export_png(self, path: Path) -> bool:
        """The charts as they are on screen (all four), as one PNG."""
        self.ensure_charts()
        image = self.chart_area.grab()
        if image.isNull() or not image.save(str(path), "PNG"):
            self.ctx.status_message(f"Could not write {path}.", error=True)
            return False
        self.ctx.status_message(f"Saved the charts to {path}.")
        return True

    def export_csv(self, path: Path) -> bool:
        """The numbers behind the charts, each row carrying the metric's definition."""
        dash = self.dashboard
        if dash is None:
            self.ctx.status_message("There are no figures yet to export.", error=True)
            return False
        m = dash.metric
        lead = [m.id, m.label, m.formula, m.unit]
        stats = ("count", "mean", "median", "p90", "min", "max", "q1", "q3")
        try:
            with path.open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                extra = [percentile_name(p) for p, _v in self._overall.percentiles]
                extra += [f"share_under_{x.label}" for x in self._overall.shares]
                w.writerow(["chart", "metric", "label", "formula", "unit", "group", *stats,
                            "incident", "when", "value", "severity", "reason", *extra])  # fmt: skip
                blank = [""] * len(stats)
                by_label = {g.group: g.stats for g in dash.trend.groups}
                for label, _start, _end in dash.periods:
                    st = by_label.get(label, Stats(0))
                    w.writerow(
                        [f"trend by {dash.period}", *lead, label, *_nums(st, stats), "", "", "", "", ""]
                    )
                for name, st in self._service_stats:
                    w.writerow(
                        ["per service", *lead, name, *_nums(st, stats), "", "", "", "", "", *_extra(st)]
                    )
                for name, st in self._severity_stats:
                    w.writerow(
                        ["per severity", *lead, name, *_nums(st, stats), "", "", "", "", "", *_extra(st)]
                    )
                w.writerow(
                    ["all", *lead, "all incidents", *_nums(self._overall, stats), "", "", "", "", "",
                     *_extra(self._overall)]
                )  # fmt: skip
                for p in dash.points:
                    w.writerow(["incident", *lead, p.service or "", *blank, p.key, p.at.isoformat(),
                                f"{p.value:.3f}", p.severity, ""])  # fmt: skip
                for x in dash.overall.excluded:
                    w.writerow(["left out", *lead, "", *blank, x.key, "", "", "", x.reason])
        except OSError as exc:
            self.ctx.status_message(f"Could not write {path}: {exc.strerror}.", error=True)
            return False
        self.ctx.status_message(f"Saved the figures to {path}.")
        return True

    # -- import ----------------------------------------------------------------------------------------
    def open_import_dialog(self) -> None:
        dialog = HistoryImportDialog(self.ctx, self.worker, self)
        try:
            dialog.exec()
        finally:
            dialog.deleteLater()

    def shutdown(self) -> None:
        self._refresh_timer.stop()
        self.worker.shutdown()


def counted_noun(metric) -> str:
    return "interval(s) between incidents" if metric.kind == "between" else "incident(s)"


def _extra(st: Stats) -> list[str]:
    out = ["" if v is None else f"{v:.3f}" for _p, v in st.percentiles]
    return out + ["" if x.share is None else f"{x.share:.4f}" for x in st.shares]


def _nums(st: Stats, names) -> list[str]:
    out = []
    for n in names:
        v = getattr(st, n)
        out.append("" if v is None else str(v) if isinstance(v, int) else f"{v:.3f}")
    return out


PANEL = PanelSpec(
    id="charts",
    title="Metrics",
    factory=ChartsPanel,
    area=Qt.DockWidgetArea.RightDockWidgetArea,
    shortcut="Alt+8",
    visible_by_default=False,
)
