"""Incidents list: open incidents first, filtered by status, severity, service, problem and text; Enter opens
one. Sorting by the Problem column groups the incidents of one cause together ("Group … by problem").

Built to stay quick with a long imported history (10,000+ incidents): the rows are light summaries
read through Core (services.record.incident_index), filtering and sorting happen on those plain rows in
memory, a change to one incident re-reads only that incident, and a change made elsewhere (another
process) costs one aggregate query unless something in the incidents table really moved. Then the
whole list is re-read on a worker thread (60–150 ms at 10,000 incidents), not on the GUI thread.

Longer than ~500 lines: the list model and its filters are tuned together for 10,000+ rows (see above); kept
in one place so the performance reasoning stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QFont, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from models.enums import Status
from services.changes import Change, Topic
from services.errors import SitrepError
from services.record.incident_index import IncidentIndex, IncidentSummary, ListFingerprint
from services.record.views import IncidentView
from ui.fields import ErrorLabel, record_table
from ui.item_models.rows import RowsModel
from ui.operations import read_or_say
from ui.panels import PanelSpec
from ui.theme import error_color, warning_color
from ui.timefmt import viewer_and_utc, viewer_time
from ui.workers import SerialWorker

SummaryRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2
_Index = QModelIndex | QPersistentModelIndex

OPEN = "open"
CLOSED = "closed"  # resolved or closed
ANY_PROBLEM, NO_PROBLEM = "*problem", "*none"  # the problem filter's two choices that are no one problem


@dataclass(frozen=True)
class IncidentFilter:
    status: str = ""  # "", OPEN, CLOSED, or one Status value
    severity: str = ""
    service: str = ""
    text: str = ""

    def accepts(self, s: IncidentSummary) -> bool:
        if self.status == OPEN and not s.is_open:
            return False
        if self.status == CLOSED and s.is_open:
            return False
        if self.status not in ("", OPEN, CLOSED) and s.status.value != self.status:
            return False
        if self.severity and s.severity != self.severity:
            return False
        if self.service and self.service.lower() not in (sv.lower() for sv in s.services):
            return False
        needle = self.text.strip().lower()
        if needle:
            haystack = f"{s.key} {s.title} {' '.join(s.services)}".lower()
            return all(word in haystack for word in needle.split())
        return True


class IncidentListModel(RowsModel):
    # Title before status: in a narrow dock the key, severity and title are what must show.
    COLUMNS = ("Key", "Sev", "Title", "Status", "Declared", "Services", "Problem")
    COL_KEY, COL_SEV, COL_TITLE, COL_STATUS, COL_DECLARED, COL_SERVICES, COL_PROBLEM = range(7)

    def __init__(self, now, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now = now
        self._all: list[IncidentSummary] = []  # every incident, open first then newest
        self.rows: list[IncidentSummary] = []  # what the filter lets through, in the sort order
        self._filter = IncidentFilter()
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self.current_id: str | None = None  # the incident the console shows: drawn bold
        self.reviews: dict = {}  # incident id -> its post-incident review (ReviewView), shown with the status
        self.problems: dict = {}  # incident id -> its problem record (ProblemView): a column, a filter, a grouping
        self.problem_filter = ""  # "", ANY_PROBLEM, NO_PROBLEM, or a problem's key

    def set_reviews(self, reviews: dict) -> None:
        self.reviews = reviews
        if self.rows:
            self.dataChanged.emit(self.index(0, self.COL_STATUS), self.index(len(self.rows) - 1, self.COL_STATUS))

    def set_problems(self, problems: dict) -> None:
        """Each incident's problem. Filtering or sorting by problem re-arranges; else only the column repaints."""
        if problems == self.problems:
            return
        self.problems = problems
        if self.problem_filter or self._sort_column == self.COL_PROBLEM:
            self.beginResetModel()
            self.rows = self._arranged()
            self.endResetModel()
        elif self.rows:
            self.dataChanged.emit(self.index(0, self.COL_PROBLEM), self.index(len(self.rows) - 1, self.COL_PROBLEM))

    def set_problem_filter(self, value: str) -> None:
        if value != self.problem_filter:
            self.beginResetModel()
            self.problem_filter = value
            self.rows = self._arranged()
            self.endResetModel()

    def _accepts(self, s: IncidentSummary) -> bool:
        if not self._filter.accepts(s):
            return False
        wanted = self.problem_filter
        if not wanted:
            return True
        p = self.problems.get(s.id)
        if wanted == ANY_PROBLEM:
            return p is not None
        if wanted == NO_PROBLEM:
            return p is None
        return p is not None and p.key == wanted

    def review_text(self, s: IncidentSummary) -> str:
        """' · review Draft' or ' · review OVERDUE' after a resolved incident's status."""
        review = self.reviews.get(s.id)
        if review is None or review.status == "closed":
            return ""
        now = self._now()
        late = any(c.state(now) == "breached" for c in review.clocks())
        return f" · review {'OVERDUE' if late else review.status_label}"

    # -- contents ----------------------------------------------------------------------------
    def set_summaries(self, summaries: list[IncidentSummary]) -> None:
        self.beginResetModel()
        self._all = list(summaries)
        self.rows = self._arranged()
        self.endResetModel()

    def update_summaries(self, changed: list[IncidentSummary]) -> None:
        """Some incidents changed or appeared. Repaint in place when no line moves; else rearrange."""
        if not changed:
            return
        by_id = {s.id: s for s in changed}
        positions = {s.id: i for i, s in enumerate(self.rows) if s.id in by_id}
        in_place = len(positions) == len(by_id) and all(
            self._accepts(s) and self._same_place(positions[s.id], s) for s in changed
        )
        merged = self._merged(by_id)
        if in_place:
            self._all = merged
            for s in changed:
                row = positions[s.id]
                self.rows[row] = s
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))
            return
        self.beginResetModel()
        self._all = merged
        self.rows = self._arranged()
        self.endResetModel()

    def _merged(self, by_id: dict[str, IncidentSummary]) -> list[IncidentSummary]:
        """Every incident with these replaced or added, still open-first; sorts only when one moved."""
        pending = dict(by_id)
        merged = [pending.pop(s.id, s) for s in self._all]
        if pending:  # new incidents
            merged.extend(pending.values())
            merged.sort(key=IncidentSummary.order_key)
            return merged
        for i, s in enumerate(merged):
            if s.id in by_id:
                k = s.order_key()
                if (i > 0 and merged[i - 1].order_key() > k) or (
                    i + 1 < len(merged) and k > merged[i + 1].order_key()
                ):
                    merged.sort(key=IncidentSummary.order_key)
                    break
        return merged

    def _same_place(self, row: int, s: IncidentSummary) -> bool:
        key = self._sort_key()
        before = self.rows[row - 1] if row > 0 else None
        after = self.rows[row + 1] if row + 1 < len(self.rows) else None
        reverse = self._descending()
        k = key(s)
        ok_before = before is None or (key(before) >= k if reverse else key(before) <= k)
        ok_after = after is None or (k >= key(after) if reverse else k <= key(after))
        return ok_before and ok_after

    def set_filter(self, flt: IncidentFilter) -> None:
        if flt != self._filter:
            self.beginResetModel()
            self._filter = flt
            self.rows = self._arranged()
            self.endResetModel()

    @property
    def filter(self) -> IncidentFilter:
        return self._filter

    def set_current(self, incident_id: str | None) -> None:
        rows = [r for r in (self.row_of(self.current_id), self.row_of(incident_id)) if r is not None]
        self.current_id = incident_id
        for row in rows:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def _sort_key(self):
        col = self._sort_column
        if col == self.COL_KEY:
            return lambda s: s.number
        if col == self.COL_SEV:
            return lambda s: (_severity_rank(s.severity), s.number)
        if col == self.COL_STATUS:
            order = {st: i for i, st in enumerate(Status)}
            return lambda s: (order.get(s.status, 99), s.number)
        if col == self.COL_TITLE:
            return lambda s: (s.title.lower(), s.number)
        if col == self.COL_SERVICES:
            return lambda s: (", ".join(s.services).lower(), s.number)
        if col == self.COL_DECLARED:
            return lambda s: (s.declared_at.timestamp() if s.declared_at else 0.0, s.number)
        if col == self.COL_PROBLEM:  # grouped by problem, newest first within one (either direction: no problem last)
            def by_problem(s):
                p = self.problems.get(s.id)
                return (p is None if not self._descending() else p is not None, p.key if p else "", -s.number)
            return by_problem
        return IncidentSummary.order_key

    def _arranged(self) -> list[IncidentSummary]:
        rows = [s for s in self._all if self._accepts(s)] if self._has_filter() else list(self._all)
        if self._sort_column >= 0:
            rows.sort(key=self._sort_key(), reverse=self._descending())
        return rows

    def _descending(self) -> bool:
        return self._sort_column >= 0 and self._sort_order == Qt.SortOrder.DescendingOrder

    def _has_filter(self) -> bool:
        return self._filter != IncidentFilter() or bool(self.problem_filter)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Column -1 is the default order: open first, then the most recently declared."""
        self.layoutAboutToBeChanged.emit()
        old_ids = [s.id for s in self.rows]
        self._sort_column = column if 0 <= column < len(self.COLUMNS) else -1
        self._sort_order = order
        self.rows = self._arranged()
        new_pos = {s.id: i for i, s in enumerate(self.rows)}
        persistent = self.persistentIndexList()
        moved = []
        for idx in persistent:
            incident_id = old_ids[idx.row()] if 0 <= idx.row() < len(old_ids) else None
            row = new_pos.get(incident_id)
            moved.append(self.index(row, idx.column()) if row is not None else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    # -- lookup ------------------------------------------------------------------------------
    def summary(self, row: int) -> IncidentSummary | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, incident_id: str | None) -> int | None:
        if incident_id is None:
            return None
        for i, s in enumerate(self.rows):
            if s.id == incident_id:
                return i
        return None

    def total(self) -> int:
        return len(self._all)

    def fingerprint(self) -> ListFingerprint:
        """What the store's fingerprint is when this model holds exactly what is stored."""
        if not self._all:
            return ListFingerprint(0, None, None)
        return ListFingerprint(
            len(self._all), max(s.number for s in self._all), max(s.updated_at for s in self._all)
        )

    def open_total(self) -> int:
        return sum(1 for s in self._all if s.is_open)

    def services(self) -> list[str]:
        return sorted({sv for s in self._all for sv in s.services}, key=str.lower)

    # -- Qt model interface --------------------------------------------------------------------
    headers = COLUMNS

    def header_tip(self, section: int) -> str | None:
        if section == self.COL_DECLARED:
            return "When it was declared, in your time zone (hover a time for UTC)"
        return "Click to sort; click a third time for open-first order"

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        s = self.summary(index.row())
        if s is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_KEY:
                return s.key
            if col == self.COL_SEV:
                return s.severity
            if col == self.COL_STATUS:
                return s.status.label + self.review_text(s)
            if col == self.COL_TITLE:
                return f"[exercise] {s.title}" if s.is_exercise else s.title
            if col == self.COL_SERVICES:
                return ", ".join(s.services)
            if col == self.COL_DECLARED:
                return viewer_time(s.declared_at, self._now()) if s.declared_at else ""
            if col == self.COL_PROBLEM:
                p = self.problems.get(s.id)
                return p.key if p else ""
            return None
        if role == SummaryRole:
            return s
        if role == SortRole:
            return self._sort_value(s, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.COL_DECLARED and s.declared_at:
                return viewer_and_utc(s.declared_at)
            if col == self.COL_SEV:
                return f"{s.severity}{' · major incident' if s.is_major else ''}"
            if col == self.COL_TITLE:
                flags = [f for f, on in (("major incident", s.is_major), ("exercise", s.is_exercise)) if on]
                return s.title + (f"\n({', '.join(flags)})" if flags else "")
            if col == self.COL_SERVICES and s.services:
                return "\n".join(s.services)
            if col == self.COL_PROBLEM and s.id in self.problems:
                p = self.problems[s.id]
                return f"{p.key} · {p.status_label}\n{p.title}"
            return None
        if role == Qt.ItemDataRole.FontRole:
            bold = s.id == self.current_id or (col == self.COL_SEV and s.is_major)
            if bold:
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if not s.is_open:
                return QBrush(Qt.GlobalColor.gray)
            if col == self.COL_SEV and _severity_rank(s.severity) == 1:
                return QBrush(error_color())
            if col == self.COL_SEV and _severity_rank(s.severity) == 2:
                return QBrush(warning_color())
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole and col == self.COL_KEY:
            return f"{s.key}, {s.severity}, {s.status.label}: {s.title}"
        return None

    def _sort_value(self, s: IncidentSummary, col: int):
        if col == self.COL_KEY:
            return s.number
        if col == self.COL_DECLARED:
            return s.declared_at
        if col == self.COL_SEV:
            return _severity_rank(s.severity)
        return None


def _severity_rank(sev: str) -> int:
    digits = "".join(ch for ch in sev if ch.isdigit())
    return int(digits) if digits else 99


class _KeyForwarder(QObject):
    """Up/Down in the filter box move through the list, so typing then arrowing then Enter works."""

    def __init__(self, view: QTableView, parent: QObject) -> None:
        super().__init__(parent)
        self._view = view

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() in (
            Qt.Key.Key_Down,
            Qt.Key.Key_Up,
            Qt.Key.Key_PageDown,
            Qt.Key.Key_PageUp,
        ):
            self._view.setFocus(Qt.FocusReason.OtherFocusReason)
            if not self._view.currentIndex().isValid() and self._view.model().rowCount():
                self._view.setCurrentIndex(self._view.model().index(0, 0))
                return True
            QApplication.sendEvent(self._view, event)
            return True
        return False


class IncidentsPanel(QWidget):
    opened = Signal(str)  # incident id the commander chose to open

    def __init__(self, ctx, *, refresh_delay_ms: int = 100) -> None:
        super().__init__()
        self.ctx = ctx
        self.incident_index = IncidentIndex(ctx.sitrep.store)
        self.model = IncidentListModel(ctx.sitrep.now, self)
        # Whole-list re-reads after another process's write or an import; its own index (and cache),
        # since it reads on the worker's thread.
        self._reader = SerialWorker(self)
        self._reader_index = IncidentIndex(ctx.sitrep.store)
        self._reader.done.connect(self._reread_done)
        self._reader.failed.connect(self._reread_failed)
        self._reread_ticket: int | None = None
        self._reread_again = False
        self._pending_ids: set[str] = set()
        self._pending_full = False
        self._known_services: set[str] = set()
        self._build()
        self._register_commands()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(refresh_delay_ms)
        self._refresh_timer.timeout.connect(self.flush)
        self._minute = QTimer(self)
        self._minute.setInterval(60_000)
        self._minute.timeout.connect(self._repaint_times)
        self._minute.start()
        ctx.notifier.changed.connect(self._on_change)
        self._cursor_id: str | None = None
        self.model.modelAboutToBeReset.connect(self._before_reset)
        self.model.modelReset.connect(self._after_reset)
        self.model.layoutChanged.connect(self._update_count)
        self.reload()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.text_filter = QLineEdit(self)
        self.text_filter.setObjectName("incidents-filter")
        self.text_filter.setPlaceholderText("Filter: key, title or service (Ctrl+Shift+F)")
        self.text_filter.setAccessibleName("Filter incidents")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.textChanged.connect(lambda _t: self._debounce.start())
        self.text_filter.returnPressed.connect(self._enter_in_filter)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self._apply_filter)

        self.status_filter = QComboBox(self)
        self.status_filter.setObjectName("incidents-status")
        self.status_filter.setAccessibleName("Filter by status")
        self.status_filter.addItem("Any status", "")
        self.status_filter.addItem("Open", OPEN)
        self.status_filter.addItem("Resolved or closed", CLOSED)
        for st in Status:
            self.status_filter.addItem(st.label, st.value)
        self.severity_filter = QComboBox(self)
        self.severity_filter.setObjectName("incidents-severity")
        self.severity_filter.setAccessibleName("Filter by severity")
        self.severity_filter.addItem("Any sev.", "")
        for level in self.ctx.sitrep.catalog.severities.values():
            self.severity_filter.addItem(level.id, level.id)
            self.severity_filter.setItemData(
                self.severity_filter.count() - 1, f"{level.id}: {level.label}", Qt.ItemDataRole.ToolTipRole
            )
        self.service_filter = QComboBox(self)
        self.service_filter.setObjectName("incidents-service")
        self.service_filter.setAccessibleName("Filter by service")
        self.service_filter.addItem("Any service", "")
        self.problem_filter = QComboBox(self)
        self.problem_filter.setObjectName("incidents-problem")
        self.problem_filter.setAccessibleName("Filter by problem")
        self.problem_filter.addItem("Any problem", "")
        for combo in (self.status_filter, self.severity_filter, self.service_filter, self.problem_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
            combo.currentIndexChanged.connect(self._apply_filter)

        self.view = record_table(self, self.model, "incidents-view", "Incidents")
        hh = self.view.horizontalHeader()
        hh.setStretchLastSection(False)
        hh.setSortIndicatorClearable(True)
        hh.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        fm = self.fontMetrics()
        pad = fm.averageCharWidth() * 2 + 8
        m = IncidentListModel
        for col, sample in (
            (m.COL_KEY, "INC-00000"),
            (m.COL_SEV, "SEV1"),
            (m.COL_STATUS, "Investigating"),
            (m.COL_TITLE, "Checkout: payments failing"),
            (m.COL_SERVICES, "payments, checkout"),
            (m.COL_DECLARED, "2026-03-14 09:41"),
            (m.COL_PROBLEM, "PRB-0000"),
        ):
            self.view.setColumnWidth(col, fm.horizontalAdvance(sample) + pad)
        # The problem column, when there is one, sits after the severity: in a narrow dock it must show.
        hh.moveSection(hh.visualIndex(m.COL_PROBLEM), m.COL_TITLE)
        # The title takes whatever width the other columns leave (the whole title is in its
        # tooltip); below this it stops shrinking and the list scrolls sideways instead.
        self._title_min_width = self.view.columnWidth(m.COL_TITLE)
        hh.sectionResized.connect(self._other_column_resized)
        self.view.viewport().installEventFilter(self)
        self.view.setSortingEnabled(True)
        self.view.activated.connect(self._activated)
        self._forwarder = _KeyForwarder(self.view, self)
        self.text_filter.installEventFilter(self._forwarder)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("incidents-count")
        self.error = ErrorLabel(self, name="incidents-error")

        first = QHBoxLayout()  # the problem filter shares the text filter's line: the combos' line is full
        first.setSpacing(4)
        first.addWidget(self.text_filter, 3)
        first.addWidget(self.problem_filter, 2)
        lay.addLayout(first)
        combos = QHBoxLayout()
        combos.setSpacing(4)
        combos.addWidget(self.status_filter, 3)
        combos.addWidget(self.severity_filter, 2)
        combos.addWidget(self.service_filter, 3)
        lay.addLayout(combos)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.error)
        lay.addWidget(self.count_label)

    def _register_commands(self) -> None:
        if self.ctx.shell is None:  # standing alone: no menus or palette to list them in
            return
        add = self.ctx.shell.add_command
        find = QAction("Find an incident in the list", self)
        find.setShortcut(QKeySequence("Ctrl+Shift+F"))
        find.triggered.connect(self.focus_filter)
        add(find, "Incident")
        open_only = QAction("List open incidents only", self)
        open_only.triggered.connect(lambda: self.set_status_filter(OPEN))
        add(open_only, "View")
        by_problem = QAction("Group the incidents list by problem", self)
        by_problem.triggered.connect(self.group_by_problem)
        add(by_problem, "View")
        clear = QAction("Clear the incidents list filters", self)
        clear.triggered.connect(self.clear_filters)
        add(clear, "View")

    def focus_target(self) -> QWidget:
        return self.view

    def focus_filter(self) -> None:
        dock = self.parentWidget()
        if dock is not None:
            dock.show()
            dock.raise_()
        self.text_filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text_filter.selectAll()

    # -- reading -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Read every incident again (start-up, an import, a change made by another process)."""
        ok, summaries = read_or_say(self.ctx, self.incident_index.summaries, say=self.error.show_error)
        if not ok:
            return
        self.error.show_error(None)
        self.model.set_summaries(summaries)
        self._refill_services()
        self._reread_reviews()
        self._reread_problems()

    def _reread_problems(self) -> None:
        try:
            problems = self.ctx.sitrep.problems.by_incident()
        except SitrepError as err:
            self.error.show_error(err.message)
            return
        self.model.set_problems(problems)
        # The column and the filter appear once some incident has a problem: until then they are empty space.
        self.view.setColumnHidden(IncidentListModel.COL_PROBLEM, not problems)
        self.problem_filter.setVisible(bool(problems))
        chosen = self.problem_filter.currentData()
        self.problem_filter.blockSignals(True)
        self.problem_filter.clear()
        self.problem_filter.addItem("Any problem", "")
        self.problem_filter.addItem("Linked to a problem", ANY_PROBLEM)
        self.problem_filter.addItem("No problem", NO_PROBLEM)
        for p in sorted({p.key: p for p in problems.values()}.values(), key=lambda p: p.key):
            self.problem_filter.addItem(f"{p.key} {p.title}", p.key)
        self.problem_filter.setCurrentIndex(max(0, self.problem_filter.findData(chosen)))
        self.problem_filter.blockSignals(False)
        self._fit_title_column()

    def group_by_problem(self) -> None:
        """Incidents of one problem together (the ones without a problem last): a repeated cause shows."""
        if self.ctx.shell is not None:
            self.ctx.shell.show_panel("incidents")
        self.view.setColumnHidden(IncidentListModel.COL_PROBLEM, False)
        self.view.sortByColumn(IncidentListModel.COL_PROBLEM, Qt.SortOrder.AscendingOrder)
        self.focus_target().setFocus()

    def _reread_reviews(self) -> None:
        try:
            self.model.set_reviews(self.ctx.sitrep.reviews.all())
        except SitrepError as err:
            self.error.show_error(err.message)

    def _on_change(self, change: Change) -> None:
        if change.topic in {Topic.REVIEW, Topic.INCIDENT, Topic.EXTERNAL}:
            self._reread_reviews()
        if change.topic in {Topic.PROBLEMS, Topic.INCIDENT, Topic.EXTERNAL}:
            self._reread_problems()
        if change.topic in {Topic.INCIDENT, Topic.ROLES} and change.incident_id:
            # A role change shows nowhere in this list, but it stamps the incident's updated_at:
            # re-reading that one row keeps the model's fingerprint equal to the store's.
            self._pending_ids.add(change.incident_id)
        elif change.topic in {Topic.INCIDENT, Topic.EXTERNAL}:
            self._pending_full = True
        else:
            return  # timeline entries and people: nothing this list shows
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def flush(self) -> None:
        """Apply the changes noticed since the last refresh (normally on a short timer)."""
        self._refresh_timer.stop()
        ids, self._pending_ids = self._pending_ids, set()
        full, self._pending_full = self._pending_full, False
        try:
            changed = self.incident_index.summaries(ids) if ids else []
            if changed:
                new_service = any(sv not in self._known_services for s in changed for sv in s.services)
                self.model.update_summaries(changed)
                if new_service:
                    self._refill_services()
                self._update_count()
            # One aggregate query tells whether anything else moved (another process's write, an
            # import). The notice also comes for our own writes, seen from the watcher's side:
            # then the fingerprints agree and nothing is re-read.
            if full and self.incident_index.fingerprint() != self.model.fingerprint():
                self.reread_in_background()
        except SitrepError as err:
            self.error.show_error(err.message)

    def reread_in_background(self) -> None:
        """Read every incident again on the worker; the list keeps answering meanwhile."""
        if self._reread_ticket is not None:
            self._reread_again = True  # one more after the one in flight, which may predate this change
            return
        self._reread_again = False
        self._reread_ticket = self._reader.submit(self._reader_index.summaries)

    def _reread_done(self, ticket: int, summaries) -> None:
        if ticket != self._reread_ticket:
            return
        self._reread_ticket = None
        self.error.show_error(None)
        self.model.set_summaries(summaries)
        self._refill_services()
        # A row updated here while the read was in flight may be older in its result: the
        # fingerprints then differ, and the next flush reads again.
        if self._reread_again or self.incident_index.fingerprint() != self.model.fingerprint():
            self._pending_full = True
            self._refresh_timer.start()

    def _reread_failed(self, ticket: int, message: str) -> None:
        if ticket == self._reread_ticket:
            self._reread_ticket = None
            self.error.show_error(message)

    def _repaint_times(self) -> None:
        rows = self.model.rowCount()
        if rows:
            col = IncidentListModel.COL_DECLARED
            self.model.dataChanged.emit(self.model.index(0, col), self.model.index(rows - 1, col))

    # -- filtering ---------------------------------------------------------------------------
    def _refill_services(self) -> None:
        services = self.model.services()
        self._known_services = set(services)
        chosen = self.service_filter.currentData()
        self.service_filter.blockSignals(True)
        self.service_filter.clear()
        self.service_filter.addItem("Any service", "")
        for sv in services:
            self.service_filter.addItem(sv, sv)
        index = self.service_filter.findData(chosen) if chosen else 0
        self.service_filter.setCurrentIndex(max(index, 0))
        self.service_filter.blockSignals(False)
        if chosen and index < 0:
            self._apply_filter()

    def current_filter(self) -> IncidentFilter:
        return IncidentFilter(
            status=self.status_filter.currentData() or "",
            severity=self.severity_filter.currentData() or "",
            service=self.service_filter.currentData() or "",
            text=self.text_filter.text(),
        )

    def _apply_filter(self, *_args) -> None:
        self._debounce.stop()
        self.model.set_filter(self.current_filter())
        self.model.set_problem_filter(self.problem_filter.currentData() or "")
        self._update_count()

    def set_status_filter(self, value: str) -> None:
        self.status_filter.setCurrentIndex(max(0, self.status_filter.findData(value)))

    def clear_filters(self) -> None:
        for combo in (self.status_filter, self.severity_filter, self.service_filter, self.problem_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self.text_filter.blockSignals(True)
        self.text_filter.clear()
        self.text_filter.blockSignals(False)
        self._apply_filter()

    def _enter_in_filter(self) -> None:
        self._apply_filter()
        if self.model.rowCount() == 1:
            self.open_row(0)
        elif self.model.rowCount():
            self.view.setFocus()
            if not self.view.currentIndex().isValid():
                self.view.setCurrentIndex(self.model.index(0, 0))

    # -- opening -----------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        if obj is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_title_column()
        return super().eventFilter(obj, event)

    def _other_column_resized(self, column: int, _old: int, _new: int) -> None:
        if column != IncidentListModel.COL_TITLE:
            self._fit_title_column()

    def _fit_title_column(self) -> None:
        hh = self.view.horizontalHeader()
        title = IncidentListModel.COL_TITLE
        others = sum(hh.sectionSize(c) for c in range(hh.count()) if c != title and not hh.isSectionHidden(c))
        wanted = max(self._title_min_width, self.view.viewport().width() - others)
        if hh.sectionSize(title) != wanted:
            hh.resizeSection(title, wanted)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_row(index.row())

    def open_row(self, row: int) -> bool:
        s = self.model.summary(row)
        if s is None:
            return False
        self.ctx.open_incident(s.id)
        self.opened.emit(s.id)
        return True

    def set_incident(self, incident: IncidentView | None) -> None:
        """The console switched incidents: mark it, and show it in the list if it is there."""
        incident_id = incident.id if incident else None
        if incident is not None:
            self._pending_ids.add(incident.id)  # its status may have changed with the switch
            if not self._refresh_timer.isActive():
                self._refresh_timer.start()
        if incident_id != self.model.current_id:
            self.model.set_current(incident_id)
            self._follow_current = self.model.row_of(incident_id) is None
            self._select(incident_id)

    def _select(self, incident_id: str | None, *, scroll: bool = True) -> None:
        row = self.model.row_of(incident_id)
        if row is None:
            return
        self.view.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        if scroll:
            self.view.scrollTo(self.model.index(row, 0))

    def _before_reset(self) -> None:
        cursor = (
            self.model.summary(self.view.currentIndex().row()) if self.view.currentIndex().isValid() else None
        )
        self._cursor_id = cursor.id if cursor else None

    def _after_reset(self) -> None:
        """Keep the commander's place in the list across a refresh: their cursor, else the open incident.
        An incident switched to before the list had it is highlighted once it arrives: the highlight
        stays on the incident the console shows, not on the one shown before."""
        if self._follow_current and self.model.row_of(self.model.current_id) is not None:
            self._follow_current = False
            self._select(self.model.current_id)
        elif self.model.row_of(self._cursor_id) is not None:
            self._select(self._cursor_id, scroll=False)
        else:
            self._select(self.model.current_id)
        self._update_count()

    _follow_current = False  # the console switched to an incident the list has not read yet

    def shutdown(self) -> None:
        self._refresh_timer.stop()
        self._minute.stop()
        self._reader.shutdown()

    def _update_count(self, *args) -> None:
        total, open_total, shown = self.model.total(), self.model.open_total(), self.model.rowCount()
        text = f"{open_total:,} open · {total:,} in all"
        if shown != total:
            text = f"{shown:,} shown · " + text
        self.count_label.setText(text)


PANEL = PanelSpec(
    id="incidents",
    title="Incidents",
    factory=IncidentsPanel,
    area=Qt.DockWidgetArea.LeftDockWidgetArea,
    default_width=420,  # key, severity, a readable title and the status without scrolling
    shortcut="Alt+2",
)
