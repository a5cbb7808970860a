"""One timeline entry in full: what the table row elides (long text, rationale), both of its times, who
wrote it, what corrected it or what it corrects, and its place in the hash chain.

Opened with Enter or a double-click on a row; Up/Down (or the buttons) move through the timeline in the
order the table shows, so a reader can go through a long stretch without going back to the table.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from models.enums import EntryKind
from services.errors import SitrepError
from services.record.timeline import is_backdated
from services.record.views import EntryRow
from ui.timefmt import humanise_times


def _times(e: EntryRow) -> str:
    occurred, recorded = e.occurred_at.astimezone(), e.recorded_at.astimezone()
    rows = [("Happened", f"{occurred:%a %d %b %Y %H:%M:%S %Z}", e.occurred_at)]
    if is_backdated(e):
        late = e.recorded_at - e.occurred_at
        minutes = int(late.total_seconds() // 60)
        rows.append(("Logged", f"{recorded:%a %d %b %Y %H:%M:%S %Z} — backdated, written {minutes:,} min after",
                     e.recorded_at))  # fmt: skip
    else:
        rows.append(("Logged", f"{recorded:%a %d %b %Y %H:%M:%S %Z}", e.recorded_at))
    return "".join(
        f"<tr><td><b>{label}</b></td><td>{escape(text)} <span style='color:gray'>"
        f"({utc.strftime('%Y-%m-%d %H:%M:%S')} UTC)</span></td></tr>"
        for label, text, utc in rows
    )


class EntryDetailDialog(QDialog):
    """`rows` gives the entry at a table row (None past either end); `row` is the one to show first."""

    def __init__(self, ctx, rows, row: int, parent: QWidget | None = None, *, exercise: bool = False) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.exercise = exercise
        self._entry_at = rows
        self.row = row
        self.setObjectName("entry-detail")
        self.setWindowTitle("Timeline entry")
        self.text = QTextBrowser(self)
        self.text.setObjectName("entry-detail-text")
        self.text.setOpenLinks(False)
        self.text.setAccessibleName("The whole entry")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.earlier = QPushButton("◀ &Earlier", self)
        self.later = QPushButton("&Later ▶", self)
        buttons.addButton(self.earlier, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.later, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.earlier.clicked.connect(lambda: self.show_row(self.row - 1))
        self.later.clicked.connect(lambda: self.show_row(self.row + 1))
        for keys, step in (("Ctrl+Up", -1), ("Ctrl+Down", 1)):
            QShortcut(QKeySequence(keys), self, activated=lambda s=step: self.show_row(self.row + s))
        lay = QVBoxLayout(self)
        lay.addWidget(self.text, 1)
        lay.addWidget(buttons)
        char = self.fontMetrics().averageCharWidth()
        self.resize(char * 90, self.fontMetrics().height() * 28)
        self.show_row(row)

    @property
    def entry(self) -> EntryRow | None:
        return self._entry_at(self.row)

    def show_row(self, row: int) -> None:
        e = self._entry_at(row)
        if e is None:
            return
        self.row = row
        self.earlier.setEnabled(self._entry_at(row - 1) is not None)
        self.later.setEnabled(self._entry_at(row + 1) is not None)
        kind = EntryKind(e.kind).label if e.kind in EntryKind._value2member_map_ else e.kind
        self.setWindowTitle(f"Timeline entry #{e.seq} — {kind}")
        self.text.setHtml(self._html(e, kind))

    def _author(self, handle: str) -> str:
        try:
            person = self.ctx.sitrep.people.get(handle)
        except SitrepError:
            return escape(handle)
        return f"{escape(person.name)} (@{escape(person.handle)})"

    def _corrections(self, e: EntryRow) -> str:
        """What this entry corrects, and what corrected it (a correction is a later entry)."""
        lines = []
        data = e.data or {}
        if e.supersedes_id:
            lines.append(f"Corrects entry #{escape(str(data.get('corrects_seq', '?')))}"
                         + (f": {escape(data['correction_reason'])}" if data.get("correction_reason") else ""))  # fmt: skip
        try:
            later = [x for x in self.ctx.sitrep.timeline.entries(e.incident_id, after_seq=e.seq)
                     if x.supersedes_id == e.id]  # fmt: skip
        except SitrepError:
            later = []
        for x in later:
            reason = (x.data or {}).get("correction_reason")
            lines.append(f"<b>Corrected by entry #{x.seq}</b> ({escape(x.author)}): {escape(x.body)}"
                         + (f" — because {escape(reason)}" if reason else ""))  # fmt: skip
        return "".join(f"<p>{line}</p>" for line in lines)

    def _html(self, e: EntryRow, kind: str) -> str:
        body = escape(humanise_times(e.body)).replace("\n", "<br>")
        parts = [f"<p style='font-size:large'>{body}</p>"]
        if self.exercise:
            parts.insert(0, "<p style='color:#b26a00'><b>EXERCISE</b> — an entry of a tabletop exercise</p>")
        if e.rationale:
            parts.append(f"<p><b>Why:</b> {escape(e.rationale).replace(chr(10), '<br>')}</p>")
        parts.append(self._corrections(e))
        facts = [
            _times(e),
            f"<tr><td><b>Author</b></td><td>{self._author(e.author)}</td></tr>",
            f"<tr><td><b>Kind</b></td><td>{escape(kind)}</td></tr>",
            f"<tr><td><b>Source</b></td><td>{escape(e.source)}</td></tr>",
            f"<tr><td><b>Entry</b></td><td>#{e.seq} of the record</td></tr>",
        ]
        sent = (e.data or {}).get("sync")
        if isinstance(sent, list) and sent:
            facts.append(f"<tr><td><b>Sent to</b></td><td>{escape(', '.join(map(str, sent)))}</td></tr>")
        facts.append(f"<tr><td><b>Hash</b></td><td><tt>{e.hash}</tt></td></tr>")
        facts.append(f"<tr><td><b>Previous hash</b></td><td><tt>{e.prev_hash}</tt></td></tr>")
        parts.append("<table cellspacing=4>" + "".join(facts) + "</table>")
        return "".join(parts)


def open_entry_detail(ctx, rows, row: int, parent: QWidget, *, exercise: bool = False) -> EntryDetailDialog:
    dialog = EntryDetailDialog(ctx, rows, row, parent, exercise=exercise)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
