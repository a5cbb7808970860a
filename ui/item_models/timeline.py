"""The live timeline as a Qt table model that pages from the store.

Opening an incident costs one count query, whatever its length: rows are fetched a page at a
time when the view asks for them, and only a bounded number of pages is kept. A new entry is appended
as soon as its change is announced; the rest of a burst (changes less than a frame apart) in one batch
at the next event-loop turn (a Qt view repaints once per batch, not per row).
"""

from __future__ import annotations

import textwrap
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont

from models.enums import EntryKind
from models.types import iso
from services.changes import Change, Topic
from services.core import Sitrep
from services.record.timeline import is_backdated
from services.record.views import EntryRow
from ui.theme import is_dark
from ui.timefmt import humanise_times

PAGE = 256
FRAME_S = 1 / 60  # a screen's frame: live changes closer together than this are pulled together
MAX_PAGES = 64  # at most 16,384 rows held in memory, however long the incident

COLUMNS = ("#", "Time", "Kind", "Author", "Entry", "Source")
COL_SEQ, COL_TIME, COL_KIND, COL_AUTHOR, COL_BODY, COL_SOURCE = range(len(COLUMNS))

EntryRole = Qt.ItemDataRole.UserRole + 1  # the EntryRow itself
SortRole = Qt.ItemDataRole.UserRole + 2  # a native value (seq, datetime) rather than display text

# Roles as plain ints, looked up once: a repaint calls data() about a thousand times, mostly for roles
# this model does not answer, and each enum attribute access costs about a microsecond.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)
_ENTRY = int(EntryRole)
_SORT = int(SortRole)
_ANSWERED = frozenset({_DISPLAY, _TOOLTIP, _FOREGROUND, _FONT, _ENTRY, _SORT})

# Plain strings: an Enum member's .value is a descriptor call, and data() runs for every cell and role.
_DECISION_KIND = EntryKind.DECISION.value
_BREACH_KIND = EntryKind.CLOCK_BREACH.value
_SYSTEM_KINDS = {
    EntryKind.STATUS_CHANGE.value,
    EntryKind.SEVERITY_CHANGE.value,
    EntryKind.ROLE_CHANGE.value,
    EntryKind.MILESTONE_CHANGE.value,
    EntryKind.MAJOR_CHANGE.value,
    EntryKind.IMPACT_CHANGE.value,
    EntryKind.SYSTEM.value,
}
# (on a light window, on a dark one): each pair reads at 4.5:1 or better on its background.
_BREACH = (QColor("#c42b1c"), QColor("#ff8a80"))
_DECISION = (QColor("#1f5fa6"), QColor("#8ab4f8"))
_SYSTEM = (QColor(96, 96, 112), QColor(160, 160, 172))
_CORRECTED = (QColor(128, 128, 128), QColor(128, 128, 134))


# What may have appended entries to the open timeline (status, severity and role changes log theirs).
_PULLED_ON = frozenset({Topic.TIMELINE, Topic.INCIDENT, Topic.ROLES, Topic.EXTERNAL})

_ORDER_OF_COLUMN = {COL_SEQ: "logged", COL_TIME: "occurred", COL_KIND: "kind", COL_AUTHOR: "author"}
_HEADER_TIPS = {
    COL_SEQ: "The order entries were logged in (the record's hash chain). Click to sort by it.",
    COL_TIME: "When it happened, in your time zone; \"↶ 23:27\": logged later, at 23:27. Click to sort.",
    COL_KIND: "Click to group by kind",
    COL_AUTHOR: "Click to group by author",
}


def _wrapped(text: str, width: int = 100) -> str:
    """A tooltip of readable lines (Qt shows plain text on one line however long)."""
    return "\n".join(textwrap.fill(p, width) if p else "" for p in text.split("\n"))


@dataclass(frozen=True)
class TimelineFilter:
    kinds: frozenset[str] = frozenset()
    author: str = ""
    text: str = ""
    hide_superseded: bool = False

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.author.strip() or self.text.strip() or self.hide_superseded)

    def accepts(self, e: EntryRow) -> bool:
        """The same rule as TimelineService.matching_seqs, for entries that arrive live."""
        if self.kinds and e.kind not in self.kinds:
            return False
        if self.author.strip() and self.author.strip().lower() not in e.author.lower():
            return False
        needle = self.text.strip().lower()
        return not needle or needle in e.body.lower() or needle in (e.rationale or "").lower()


def local_time_text(value: datetime) -> str:
    local = value.astimezone()
    return local.strftime("%a %H:%M:%S")


class TimelineModel(QAbstractTableModel):
    def __init__(self, sitrep: Sitrep, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sitrep = sitrep
        self._incident_id: str | None = None
        self._filter = TimelineFilter()
        # People read by time of occurrence; the chain's own order ("logged") is one click away.
        self._order, self._descending = "occurred", False
        self._rows_by_seq: dict[int, int] | None = None
        self._seqs: Sequence[int] = range(0)
        self._last_seq = 0
        self._pages: OrderedDict[int, list[EntryRow]] = OrderedDict()
        self._superseded: set[str] = set()
        # Display strings per entry id, made once: a repaint asks for every visible cell again, and the
        # body's time humanising (a regex) and the time-zone conversion are the costly part of data().
        self._texts: dict[str, tuple[str, str, str]] = {}
        self._hot_no, self._hot_page = -1, []
        self._fonts: dict[tuple[bool, bool], QFont] = {}
        self._brushes: dict[tuple[int, bool], QBrush] = {}
        self._pulled_at = 0.0  # time.monotonic() of the last look for new entries
        self._pull_timer = QTimer(self)
        self._pull_timer.setSingleShot(True)
        self._pull_timer.setInterval(0)
        self._pull_timer.timeout.connect(self.pull_new)

    # -- what is shown ---------------------------------------------------------------------
    @property
    def incident_id(self) -> str | None:
        return self._incident_id

    @property
    def filter(self) -> TimelineFilter:
        return self._filter

    def set_incident(self, incident_id: str | None) -> None:
        self._incident_id = incident_id
        self._reload()

    def set_filter(self, flt: TimelineFilter) -> None:
        if flt != self._filter:
            self._filter = flt
            self._reload()

    @property
    def order(self) -> tuple[str, bool]:
        return self._order, self._descending

    def set_order(self, order: str, descending: bool = False) -> None:
        if (order, descending) != (self._order, self._descending):
            self._order, self._descending = order, descending
            self._reload()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """A header click: the store orders the whole timeline (the model holds only pages of it)."""
        by = _ORDER_OF_COLUMN.get(column)
        if by is not None:
            self.set_order(by, order == Qt.SortOrder.DescendingOrder)

    @property
    def in_chain_order(self) -> bool:
        """Rows are 1..n in the order logged, so a new entry always goes at the end."""
        return self._order == "logged" and not self._descending

    def _reload(self) -> None:
        self.beginResetModel()
        self._pages.clear()
        self._texts.clear()
        self._hot_no, self._hot_page = -1, []
        self._rows_by_seq = None
        if self._incident_id is None:
            self._seqs, self._last_seq, self._superseded = range(0), 0, set()
        else:
            tl = self._sitrep.timeline
            self._last_seq = tl.last_seq(self._incident_id)
            self._superseded = tl.superseded_ids(self._incident_id)
            f = self._filter
            if f.active or not self.in_chain_order:
                self._seqs = tl.matching_seqs(
                    self._incident_id,
                    kinds=f.kinds or None,
                    author=f.author.strip() or None,
                    text=f.text.strip() or None,
                    hide_superseded=f.hide_superseded,
                    order=self._order,
                    descending=self._descending,
                )
            else:
                # Sequence numbers are 1..n with no gaps (verify checks it), so no query is needed.
                self._seqs = range(1, self._last_seq + 1)
        self.endResetModel()

    # -- live updates ----------------------------------------------------------------------
    def on_change(self, change: Change) -> None:
        if self._incident_id is None:
            return
        if change.incident_id not in (None, self._incident_id):
            return
        if change.topic not in _PULLED_ON or self._pull_timer.isActive():
            return
        if time.monotonic() - self._pulled_at >= FRAME_S:
            # The first change in a frame is taken at once, while its commit is still being announced: the
            # row is in (and painted, at the live edge) before the other panels refresh for the same commit.
            self.pull_new()
        else:
            self._pull_timer.start()  # the rest of a burst: one pull at the next turn of the event loop

    def pull_new(self) -> int:
        """Append entries committed since the last look. Returns how many rows were added."""
        if self._incident_id is None:
            return 0
        self._pulled_at = time.monotonic()
        fresh = self._sitrep.timeline.entries(self._incident_id, after_seq=self._last_seq)
        if not fresh:
            return 0
        self._last_seq = fresh[-1].seq
        newly_superseded = [e.supersedes_id for e in fresh if e.supersedes_id]
        self._superseded.update(newly_superseded)
        hide = self._filter.hide_superseded
        shown = [e for e in fresh if self._filter.accepts(e) and not (hide and e.id in self._superseded)]
        if newly_superseded:
            self._restyle_superseded(newly_superseded, hide)
        if not shown:
            return 0
        if not self._appends_at_end(shown):
            self._reload()  # a backdated entry goes where it happened, not at the bottom
            return len(shown)
        first = len(self._seqs)
        self.beginInsertRows(QModelIndex(), first, first + len(shown) - 1)
        if isinstance(self._seqs, range) and not self._filter.active:
            self._seqs = range(1, self._last_seq + 1)
        else:
            # In place: a copy of a 100,000-entry list costs a millisecond and a half at every append.
            if not isinstance(self._seqs, list):
                self._seqs = list(self._seqs)
            self._seqs.extend(e.seq for e in shown)
        by_seq = self._rows_by_seq
        for e in shown:
            if by_seq is not None:  # kept, not rebuilt: a correction arriving live looks its original up
                by_seq[e.seq] = first
            self._remember(e, first)
            first += 1
        self.endInsertRows()
        return len(shown)

    def _appends_at_end(self, fresh: list[EntryRow]) -> bool:
        if self.in_chain_order:
            return True
        if self._order != "occurred" or self._descending:
            return False
        last = self.entry(len(self._seqs) - 1) if self._seqs else None
        floor = last.occurred_at if last is not None else None
        for e in fresh:
            if floor is not None and e.occurred_at < floor:
                return False
            floor = e.occurred_at
        return True

    def _restyle_superseded(self, entry_ids: Iterable[str], hide: bool) -> None:
        if hide:  # the corrected entries must leave the view
            self._reload()
            return
        for page_rows in self._pages.values():
            for e in page_rows:
                if e.id in entry_ids:
                    row = self.row_of_seq(e.seq)
                    if row is not None:
                        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _remember(self, e: EntryRow, row: int) -> None:
        page_no, offset = divmod(row, PAGE)
        page = self._pages.get(page_no)
        if page is not None and offset == len(page):
            page.append(e)

    # -- lookup ----------------------------------------------------------------------------
    def row_of_seq(self, seq: int) -> int | None:
        if isinstance(self._seqs, range):
            return seq - 1 if 1 <= seq <= len(self._seqs) else None
        if self._rows_by_seq is None:
            self._rows_by_seq = {q: row for row, q in enumerate(self._seqs)}
        return self._rows_by_seq.get(seq)

    def entry(self, row: int) -> EntryRow | None:
        if not 0 <= row < len(self._seqs):
            return None
        page_no, offset = divmod(row, PAGE)
        if page_no == self._hot_no:  # a repaint reads the same page hundreds of times in a row
            page = self._hot_page
            if offset < len(page):
                return page[offset]
        page = self._pages.get(page_no)
        if page is None or offset >= len(page):
            start = page_no * PAGE
            seqs = list(self._seqs[start : start + PAGE])
            page = self._sitrep.timeline.entries_by_seq(self._incident_id, seqs)
            self._pages[page_no] = page
            while len(self._pages) > MAX_PAGES:
                _, dropped = self._pages.popitem(last=False)
                for old in dropped:
                    self._texts.pop(old.id, None)
        else:
            self._pages.move_to_end(page_no)
        self._hot_no, self._hot_page = page_no, page
        return page[offset] if offset < len(page) else None

    def _sent_to(self, e: EntryRow) -> str:
        """The backends an entry was posted to by name (`sitrep sync post`, "Send to…"), as labels."""
        named = (e.data or {}).get("sync")
        if not isinstance(named, list) or not named:
            return ""
        available = self._sitrep.sync.available
        return ", ".join(available[n].label if n in available else str(n) for n in named)

    def is_superseded(self, e: EntryRow) -> bool:
        return e.id in self._superseded

    # -- Qt model interface ----------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._seqs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(section)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        role = int(role)
        if role not in _ANSWERED:
            return None  # cheap early exit: the view asks for a dozen roles per cell
        e = self.entry(index.row())
        if e is None:
            return None
        col = index.column()
        if role == _ENTRY:
            return e
        if role == _DISPLAY:
            if col == COL_SEQ:
                return str(e.seq)
            if col == COL_AUTHOR:
                return e.author
            if col == COL_SOURCE:
                return e.source
            texts = self._texts.get(e.id)
            if texts is None:
                texts = self._texts[e.id] = self._display_texts(e)
            return texts[0] if col == COL_TIME else texts[1] if col == COL_KIND else texts[2]
        if role == _SORT:
            return e.seq if col == COL_SEQ else e.occurred_at if col == COL_TIME else None
        if role == _TOOLTIP:
            if col == COL_TIME:
                tip = f"Occurred {iso(e.occurred_at)} (UTC)\nRecorded {iso(e.recorded_at)} (UTC)"
                if is_backdated(e):
                    tip += "\nBackdated: logged after it happened"
                return tip
            if col == COL_BODY:
                tip = e.body + (f"\n\nRationale: {e.rationale}" if e.rationale else "")
                if self.is_superseded(e):
                    tip += "\n\nThis entry was corrected by a later one."
                sent_to = self._sent_to(e)
                if sent_to:
                    tip += f"\n\nSent to {sent_to} (see the sync queue for how it went)."
                return _wrapped(tip) + "\n\n(Enter or double-click: the whole entry)"
            return None
        if role == _FONT:
            superseded = self.is_superseded(e)
            decision = e.kind == _DECISION_KIND and not superseded
            return self._font(superseded, decision) if superseded or decision else None
        if role == _FOREGROUND:
            if self.is_superseded(e):
                return self._brush(_CORRECTED)
            if e.kind == _BREACH_KIND:
                return self._brush(_BREACH)
            if e.kind == _DECISION_KIND and col == COL_KIND:
                return self._brush(_DECISION)
            if e.kind in _SYSTEM_KINDS and col in (COL_KIND, COL_BODY):
                return self._brush(_SYSTEM)
            return None
        return None

    def _display_texts(self, e: EntryRow) -> tuple[str, str, str]:
        """(time, kind, entry) as shown."""
        kind = EntryKind(e.kind).label if e.kind in EntryKind._value2member_map_ else e.kind
        # Entries written by Sitrep quote times in ISO UTC; on screen, the viewer's clock.
        text = humanise_times(e.body.replace("\n", " ⏎ "))
        if e.rationale:
            text += f"  — why: {e.rationale}"
        if e.supersedes_id:
            text = f"[correction of #{(e.data or {}).get('corrects_seq', '?')}] {text}"
        sent_to = self._sent_to(e)
        if sent_to:
            text += f"  → {sent_to}"
        when = local_time_text(e.occurred_at)
        if is_backdated(e):
            when += f" ↶ {e.recorded_at.astimezone():%H:%M}"  # and when it was logged (the tooltip says so)
        return when, kind, text

    def _font(self, struck: bool, bold: bool) -> QFont:
        font = self._fonts.get((struck, bold))
        if font is None:
            font = self._fonts[(struck, bold)] = QFont()
            font.setStrikeOut(struck)
            font.setBold(bold)
        return font

    def _brush(self, pair: tuple[QColor, QColor]) -> QBrush:
        dark = is_dark()
        key = (id(pair), dark)
        brush = self._brushes.get(key)
        if brush is None:
            brush = self._brushes[key] = QBrush(pair[dark])
        return brush
