"""The facilitator window's tabs: the live expected-actions sheet, evaluator notes, P/S/M/U ratings, the
hot wash, corrective actions, and what the recording sandbox kept ("would have sent …"). Each tab is
handed the folded ExerciseState on every refresh and writes through the ExerciseService."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError
from services.exercises.sandbox import would_have_sent
from services.exercises.scenario import clock_text
from services.exercises.service import ACTION_ELEMENTS, HOTWASH_KINDS, RATINGS

STATUS_COLOURS = {"met": "#1e7b34", "late": "#a05a00", "missed": "#b3261e", "not yet due": "#3b5ba5",
                  "to mark": "#6b4fa0", "waiting": "#6e6e78", "not applicable": "#6e6e78",
                  "delivered": "#1e7b34", "due": "#a05a00", "pending": "#6e6e78"}  # fmt: skip


def fill(table: QTableWidget, rows: list[tuple], keys: list[str] | None = None, status_col: int | None = None) -> None:
    """Put rows into a table, touching only cells that changed, so selection and scrolling survive the
    once-a-second refresh. `keys` (one per row) are kept in column 0's UserRole."""
    if table.rowCount() != len(rows):
        table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            text = str(value)
            item = table.item(r, c)
            if item is None:
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                table.setItem(r, c, item)
            elif item.text() != text:
                item.setText(text)
            if c == status_col:
                item.setForeground(QColor(STATUS_COLOURS.get(text.split(" (")[0], "#1b1b1f")))
        if keys is not None:
            table.item(r, 0).setData(Qt.ItemDataRole.UserRole, keys[r])


def make_table(headers: tuple[str, ...], name: str, stretch: int, widths: dict[int, int] | None = None) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    for column, width in (widths or {}).items():  # long texts that wrap instead of widening the table
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(column, width)
    return table


def selected_key(table: QTableWidget) -> str | None:
    rows = table.selectionModel().selectedRows()
    if not rows:
        return None
    item = table.item(rows[0].row(), 0)
    return None if item is None else item.data(Qt.ItemDataRole.UserRole)


class _Tab(QWidget):
    def __init__(self, window) -> None:
        super().__init__()
        self.window_ = window

    @property
    def svc(self):
        return self.window_.sitrep.exercises

    def act(self, fn, *args, **kw) -> bool:
        return self.window_.act(fn, *args, **kw)


class SheetTab(_Tab):
    HEADERS = ("Expected action", "Inject", "Within", "Result", "At", "Delay", "By", "Shown by")

    def __init__(self, window) -> None:
        super().__init__(window)
        layout = QVBoxLayout(self)
        self.table = make_table(self.HEADERS, "exercise-sheet", 7, {0: 300})
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.note = QLineEdit(self)
        self.note.setPlaceholderText("Why (optional), for a mark by hand")
        self.note.setAccessibleName("Mark note")
        row.addWidget(self.note, 1)
        for label, status in (("&Met", "met"), ("&Late", "late"), ("M&issed", "missed"), ("N/A", "not applicable"),
                              ("Clear mark", "clear")):  # fmt: skip
            button = QPushButton(label, self)
            button.setObjectName(f"mark-{status.replace(' ', '-')}")
            button.clicked.connect(lambda _c=False, s=status: self._mark(s))
            row.addWidget(button)
        layout.addLayout(row)

    def _mark(self, status: str) -> None:
        key = selected_key(self.table)
        if key is None:
            self.window_.ctx_message("Select an expected action to mark.")
            return
        if self.act(self.svc.mark, key, status, by=self.window_.author, note=self.note.text()):
            self.note.clear()

    def update_state(self, st) -> None:
        rows, keys = [], []
        for r in st.sheet:
            e = r.expectation
            result = r.status + (f" (by {r.marked_by})" if r.marked_by else "")
            rows.append((f"{e.text}", e.inject_id, f"{e.within_min:g} min" if e.within_min is not None else "—", result,
                         clock_text(r.met_s) if r.met_s is not None else "", r.delay_text,
                         r.evidence.who if r.evidence else "", r.evidence.what if r.evidence else (r.note or "")))  # fmt: skip
            keys.append(e.id)
        fill(self.table, rows, keys, status_col=3)


class NotesTab(_Tab):
    def __init__(self, window) -> None:
        super().__init__(window)
        layout = QVBoxLayout(self)
        self.table = make_table(("Scenario time", "Evaluator", "About", "Note"), "exercise-notes", 3)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.about = QComboBox(self)
        self.about.setAccessibleName("About which expected action")
        row.addWidget(self.about)
        self.text = QLineEdit(self)
        self.text.setObjectName("exercise-note-text")
        self.text.setPlaceholderText("A private evaluator note, stamped with scenario time (Enter to add)")
        self.text.returnPressed.connect(self._add)
        row.addWidget(self.text, 1)
        add = QPushButton("Add &note", self)
        add.clicked.connect(self._add)
        row.addWidget(add)
        layout.addLayout(row)

    def _add(self) -> None:
        about = self.about.currentData()
        if self.act(self.svc.note, self.text.text(), by=self.window_.author, expectation=about):
            self.text.clear()

    def update_state(self, st) -> None:
        if self.about.count() == 0:
            self.about.addItem("(general)", None)
            for e in st.scenario.expectations:
                self.about.addItem(f"{e.id}", e.id)
        fill(self.table, [(n.scenario_text, n.author, n.data.get("expectation") or "", n.data["text"]) for n in st.notes])


class RatingsTab(_Tab):
    def __init__(self, window) -> None:
        super().__init__(window)
        layout = QVBoxLayout(self)
        self.table = make_table(("Objective", "Capability", "Rating", "Notes", "By"), "exercise-ratings", 3, {0: 330})
        layout.addWidget(self.table, 1)
        form = QHBoxLayout()
        self.rating = QComboBox(self)
        self.rating.setAccessibleName("Rating")
        for k, v in RATINGS.items():
            self.rating.addItem(f"{k}: {v}", k)
        form.addWidget(self.rating)
        self.notes = QLineEdit(self)
        self.notes.setPlaceholderText("Why this rating (strengths, challenges)")
        form.addWidget(self.notes, 1)
        rate = QPushButton("&Rate selected objective", self)
        rate.clicked.connect(self._rate)
        form.addWidget(rate)
        layout.addLayout(form)

    def _rate(self) -> None:
        key = selected_key(self.table)
        if key is None:
            self.window_.ctx_message("Select an objective to rate.")
            return
        if self.act(self.svc.rate, key, self.rating.currentData(), by=self.window_.author, notes=self.notes.text()):
            self.notes.clear()

    def update_state(self, st) -> None:
        rows = []
        for o in st.scenario.objectives:
            rating, notes, by = st.ratings.get(o.id, ("", "", ""))
            rows.append((f"{o.id}: {o.text}", o.capability, rating or "not rated", notes, by))
        fill(self.table, rows, [o.id for o in st.scenario.objectives])


class HotwashTab(_Tab):
    def __init__(self, window) -> None:
        super().__init__(window)
        layout = QVBoxLayout(self)
        self.table = make_table(("Kind", "Finding", "From", "Recorded by"), "exercise-hotwash", 1)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.kind = QComboBox(self)
        self.kind.setAccessibleName("Kind of finding")
        for k, v in HOTWASH_KINDS.items():
            self.kind.addItem(v, k)
        row.addWidget(self.kind)
        self.text = QLineEdit(self)
        self.text.setPlaceholderText("A strength, an area for improvement, or a participant's feedback")
        self.text.returnPressed.connect(self._add)
        row.addWidget(self.text, 1)
        self.who = QLineEdit(self)
        self.who.setPlaceholderText("From (optional)")
        self.who.setMaximumWidth(160)
        row.addWidget(self.who)
        add = QPushButton("&Add finding", self)
        add.clicked.connect(self._add)
        row.addWidget(add)
        layout.addLayout(row)

    def _add(self) -> None:
        if self.act(self.svc.hotwash, self.kind.currentData(), self.text.text(), by=self.window_.author, who=self.who.text()):
            self.text.clear()

    def update_state(self, st) -> None:
        fill(self.table, [(HOTWASH_KINDS[h.data["kind"]], h.data["text"], h.data.get("who", ""), h.author) for h in st.hotwash])


class ActionsTab(_Tab):
    def __init__(self, window) -> None:
        super().__init__(window)
        layout = QVBoxLayout(self)
        self.table = make_table(("Id", "Issue", "Corrective action", "Owner", "Due", "Element", "Status"),
                                "exercise-actions", 2, {1: 220})  # fmt: skip
        layout.addWidget(self.table, 1)
        form = QFormLayout()
        self.issue = QLineEdit(self)
        self.action = QPlainTextEdit(self)
        self.action.setMaximumHeight(48)
        self.owner = QLineEdit(self)
        self.due = QDateEdit(self)
        self.due.setCalendarPopup(True)
        self.element = QComboBox(self)
        self.element.addItems(ACTION_ELEMENTS)
        self.objective = QComboBox(self)
        form.addRow("&Issue:", self.issue)
        form.addRow("Corrective &action:", self.action)
        row = QHBoxLayout()
        row.addWidget(self.owner, 1)
        row.addWidget(self.due)
        row.addWidget(self.element)
        row.addWidget(self.objective)
        add = QPushButton("Add corrective a&ction", self)
        add.clicked.connect(self._add)
        row.addWidget(add)
        done = QPushButton("Mark &done", self)
        done.clicked.connect(self._done)
        row.addWidget(done)
        form.addRow("&Owner, due, element:", row)
        layout.addLayout(form)

    def _add(self) -> None:
        d = self.due.date()
        due = datetime(d.year(), d.month(), d.day(), tzinfo=UTC)
        if self.act(self.svc.add_action, self.issue.text(), self.action.toPlainText(), owner=self.owner.text(), due=due,
                    by=self.window_.author, objective=self.objective.currentData() or "", element=self.element.currentText()):  # fmt: skip
            self.issue.clear()
            self.action.clear()

    def _done(self) -> None:
        key = selected_key(self.table)
        if key is not None:
            self.act(self.svc.update_action, key, "done", by=self.window_.author)

    def update_state(self, st) -> None:
        if self.objective.count() == 0:
            self.objective.addItem("(no objective)", "")
            for o in st.scenario.objectives:
                self.objective.addItem(o.id, o.id)
            self.due.setDate(self.due.date().currentDate().addDays(30))
        fill(self.table, [(a.id, a.issue, a.action, a.owner, a.due, a.element, a.status) for a in st.actions],
             [a.id for a in st.actions])  # fmt: skip


class SandboxTab(_Tab):
    def __init__(self, window) -> None:
        super().__init__(window)
        layout = QVBoxLayout(self)
        self.table = make_table(("Queued", "Backend", "Recorded", "Would have sent"), "exercise-sandbox", 3)
        layout.addWidget(self.table, 1)

    def update_state(self, st) -> None:
        try:
            items = self.window_.sitrep.sync.items(limit=300)
        except SitrepError:
            return
        fill(self.table, [(clock_text(st.clock.at(i.created_at)), i.backend, "recorded" if i.state == "sent" else i.state,
                           would_have_sent(i)) for i in items])  # fmt: skip
