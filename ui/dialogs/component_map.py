"""Which status-page component each Sitrep service is shown as: the page's components to choose from.

Opened from Tools ▸ Backends… for a backend whose adapter lists components (Statuspage). It shows at
once the list kept from the last fetch (so the map can be reviewed offline), fetches a fresh one on a
pool thread, and on Save hands `component_map` (service -> component id) to the caller, which writes it
through the same settings path as the rest of the backend's page.

One row per service the store has seen on an incident, plus every service already in the map, plus a
way to add one. An id in the map that the page no longer has is shown as such and kept until the
person chooses otherwise: a component deleted on the page is news, not something to drop quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QIcon,
    QKeyEvent,
    QPainter,
    QPalette,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from services.errors import SitrepError
from services.record.incident_index import IncidentIndex, ServiceSeen
from services.sync.components import FetchedComponents
from ui.theme import error_style, warning_color
from ui.timefmt import full_text, viewer_time

log = logging.getLogger(__name__)

NOT_SHOWN = "— not shown on the status page —"
IdRole = Qt.ItemDataRole.UserRole  # the component id; "" for "not shown"; None on a group's heading
NameRole = Qt.ItemDataRole.UserRole + 1  # the component's own name, for matching what a person types
MissingRole = Qt.ItemDataRole.UserRole + 2  # on an id the map has and the list lacks: "gone" | "unchecked"

STATUS_WORDS = {
    "operational": "operational",
    "under_maintenance": "under maintenance",
    "degraded_performance": "degraded performance",
    "partial_outage": "partial outage",
    "major_outage": "major outage",
}
# The colours a status page itself uses for these states, so the dot reads the same as the page.
STATUS_COLOURS = {
    "operational": "#2fcc66",
    "under_maintenance": "#3498db",
    "degraded_performance": "#f1c40f",
    "partial_outage": "#e67e22",
    "major_outage": "#e74c3c",
}
_icons: dict[str, QIcon] = {}


def status_icon(status: str | None) -> QIcon:
    key = status if status in STATUS_COLOURS else ""
    icon = _icons.get(key)
    if icon is None:
        pixmap = QPixmap(12, 12)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(STATUS_COLOURS.get(key, "#9e9e9e"))
        painter.setBrush(colour)
        painter.setPen(colour.darker(130))
        painter.drawEllipse(1, 1, 10, 10)
        painter.end()
        icon = _icons[key] = QIcon(pixmap)
    return icon


@dataclass(frozen=True)
class Choice:
    """One line of a component list: a group's heading or a component one can choose."""

    id: str | None  # None: a heading
    label: str
    name: str
    status: str | None = None


def arrange(components: list[dict[str, Any]]) -> list[Choice]:
    """The page's components in the page's order, each group's members under its heading (as the page
    shows them). A group is a component other components name as their group (or one marked as a
    group); its own status is derived from its members', so it is a heading, not a choice."""
    ids = {c["id"] for c in components}
    groups = {c["group_id"] for c in components if c.get("group_id") in ids}
    groups |= {c["id"] for c in components if c.get("group")}
    members: dict[str, list[dict[str, Any]]] = {}
    top: list[dict[str, Any]] = []
    for c in components:
        gid = c.get("group_id")
        if gid in groups and gid != c["id"]:
            members.setdefault(gid, []).append(c)
        else:
            top.append(c)
    out: list[Choice] = []
    for c in top:
        name = str(c.get("name") or c["id"])
        if c["id"] in groups:
            out.append(Choice(None, name, name))
            for m in members.get(c["id"], []):
                own = str(m.get("name") or m["id"])
                out.append(Choice(m["id"], f"{name} › {own} ({_status_words(m)})", own, m.get("status")))
        else:
            out.append(Choice(c["id"], f"{name} ({_status_words(c)})", name, c.get("status")))
    return out


def _status_words(c: dict[str, Any]) -> str:
    return STATUS_WORDS.get(c.get("status") or "", "status unknown")


class _EnterLineEdit(QLineEdit):
    """A line edit whose Enter does something of its own (add a service) instead of saving the dialog,
    when `on_enter` says it used it."""

    def __init__(self, on_enter: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_enter = on_enter

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._on_enter():
            event.accept()
            return
        super().keyPressEvent(event)


class ServiceRow:
    """One service's line: its name, the component chosen for it, and what the store knows of it."""

    def __init__(
        self, dialog: ComponentMapDialog, service: str, mapped: str, seen: ServiceSeen | None
    ) -> None:
        self.service = service
        self.dialog = dialog
        self.mapped = mapped  # the id saved for it when the dialog opened ("" when none)
        self.seen = seen
        self.added = False
        body = dialog.rows_body
        self.label = QLabel(service, body)
        self.label.setObjectName(f"service-{service}")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.combo = QComboBox(body)
        self.combo.setObjectName(f"component-for-{service}")
        self.combo.setAccessibleName(f"Status page component for {service}")
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(28)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.lineEdit().setPlaceholderText("type part of a name, or pick from the list")
        self.combo.lineEdit().editingFinished.connect(self.settle)
        self.combo.lineEdit().textEdited.connect(self._typing)
        self.combo.currentIndexChanged.connect(self._picked)
        self._filling = False
        self.label.setBuddy(self.combo)
        self.hint = QLabel(body)
        self.hint.setObjectName(f"hint-{service}")
        # Wide enough for any hint, so the choices do not shift sideways as a hint changes.
        self.hint.setMinimumWidth(self.hint.fontMetrics().horizontalAdvance("9999 incidents, 999 open") + 4)
        self.combo.setMaxVisibleItems(20)
        self._text_palette = self.combo.lineEdit().palette()
        self.model = QStandardItemModel(self.combo)
        self.combo.setModel(self.model)

    # -- the list ----------------------------------------------------------------------------
    def fill(self, choices: list[Choice], listed: bool, keep: str) -> None:
        """Offer `choices` and select `keep` (an id, or "" for not shown). `listed`: whether there is a
        component list at all (an id missing from none is unchecked, not deleted)."""
        self._filling = True
        self.model.clear()
        plain = QStandardItem(NOT_SHOWN)
        plain.setData("", IdRole)
        plain.setData(NOT_SHOWN, NameRole)
        self.model.appendRow(plain)
        heading_font = QFont(self.combo.font())
        heading_font.setBold(True)
        for choice in choices:
            item = QStandardItem(choice.label)
            if choice.id is None:
                item.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading: seen, not chosen (the keys skip it)
                item.setFont(heading_font)
                # In the text colour: a disabled item's grey reads as "unavailable", not as a heading.
                item.setForeground(self.combo.palette().brush(QPalette.ColorRole.Text))
            else:
                item.setIcon(status_icon(choice.status))
                item.setToolTip(
                    f"{choice.name}\nid {choice.id} · {STATUS_WORDS.get(choice.status or '', 'status unknown')}"
                )
            item.setData(choice.id, IdRole)
            item.setData(choice.name, NameRole)
            self.model.appendRow(item)
        if keep and self.index_of(keep) < 0:
            text = (
                f"{keep} — not on the page any more"
                if listed
                else f"{keep} — not checked (no component list yet)"
            )
            item = QStandardItem(text)
            item.setData(keep, IdRole)
            item.setData(keep, NameRole)
            item.setData("gone" if listed else "unchecked", MissingRole)
            item.setForeground(QBrush(warning_color(self.combo)))
            item.setToolTip(
                "The map names this component id, but the page's component list does not have it "
                "(deleted or moved on the page?). It is kept until you choose another."
                if listed
                else "No component list has been fetched for this page yet, so this id could not be checked."
            )
            self.model.insertRow(1, item)
        completions = [self.model.item(r).text() for r in range(self.model.rowCount()) if self.selectable(r)]
        completer = QCompleter(QStringListModel(completions, self.combo), self.combo)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.combo.setCompleter(completer)
        view = self.combo.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 24)
        self.combo.setCurrentIndex(max(self.index_of(keep), 0))
        self._filling = False
        self.describe()

    def selectable(self, row: int) -> bool:
        return self.model.item(row).data(IdRole) is not None

    def index_of(self, component_id: str) -> int:
        for row in range(self.model.rowCount()):
            if self.model.item(row).data(IdRole) == component_id:
                return row
        return -1

    # -- what is chosen ------------------------------------------------------------------------
    def resolve(self) -> str | None:
        """The chosen id ("" for not shown), or None when the typed text names no component."""
        text = self.combo.currentText()
        row = self.combo.currentIndex()
        if row >= 0 and self.model.item(row).text() == text and self.selectable(row):
            return self.model.item(row).data(IdRole)
        wanted = text.strip().casefold()
        if not wanted:
            return ""
        hits = [
            r
            for r in range(self.model.rowCount())
            if self.selectable(r)
            and wanted
            in (
                self.model.item(r).text().casefold(),
                str(self.model.item(r).data(NameRole)).casefold(),
                str(self.model.item(r).data(IdRole)).casefold(),
            )
        ]
        if not hits:
            # What the completion list offers: the one component whose label holds the typed text.
            hits = [
                r
                for r in range(self.model.rowCount())
                if self.selectable(r) and wanted in self.model.item(r).text().casefold()
            ]
        if len(hits) != 1:
            return None
        self.combo.setCurrentIndex(hits[0])
        return self.model.item(hits[0]).data(IdRole)

    def current_id(self) -> str:
        """What to keep selected when the list is refilled: the chosen id, else what was saved."""
        if self.model.rowCount() == 0:
            return self.mapped
        chosen = self.resolve()
        if chosen is None:
            data = self.combo.currentData(IdRole)
            return data if isinstance(data, str) else self.mapped
        return chosen

    def missing(self) -> str | None:
        """ "gone" / "unchecked" when the chosen id is one the component list lacks."""
        chosen = self.resolve()
        row = self.index_of(chosen) if chosen else -1
        return self.model.item(row).data(MissingRole) if row > 0 else None

    def _typing(self, _text: str) -> None:
        self.combo.lineEdit().setPalette(self._text_palette)

    def _picked(self, _row: int) -> None:
        if not self._filling:
            self.describe()
            self.dialog.row_changed()

    def settle(self) -> None:
        """After typing: show the component the text names, or say that it names none."""
        self.describe()
        self.dialog.row_changed()

    def describe(self) -> None:
        chosen = self.resolve()
        # "Not shown" in the greyed hint colour, so the services that are on the page stand out.
        palette = QPalette(self._text_palette)
        if chosen == "":
            palette.setColor(QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.PlaceholderText))
        self.combo.lineEdit().setPalette(palette)
        if chosen is None:
            self.hint.setText("no such component")
            self.hint.setStyleSheet(error_style(self.hint))
            return
        missing = self.missing()
        if missing:
            self.hint.setText("not on the page" if missing == "gone" else "not checked")
            self.hint.setStyleSheet(f"color: {warning_color(self.hint).name()};")
            return
        self.hint.setStyleSheet("")
        if self.added:
            self.hint.setText("added now")
        elif self.seen is None:
            self.hint.setText("only in the map")
        else:
            n, still_open = self.seen.incidents, self.seen.open_incidents
            text = f"{n} incident{'s' if n != 1 else ''}"
            self.hint.setText(text + (f", {still_open} open" if still_open else ""))

    def take_focus(self, reason: Qt.FocusReason = Qt.FocusReason.OtherFocusReason) -> None:
        """Focus the choice with its text selected, so typing replaces it (as a Tab into it does)."""
        self.combo.setFocus(reason)
        self.combo.lineEdit().selectAll()

    def set_visible(self, shown: bool) -> None:
        for widget in (self.label, self.combo, self.hint):
            widget.setVisible(shown)


class ComponentMapDialog(QDialog):
    """Choose, per service, the component it is shown as; Save hands the map to `save`."""

    def __init__(
        self,
        ctx,
        backend: str,
        *,
        tasks,
        save: Callable[[dict[str, str]], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sync = ctx.sitrep.sync
        self.backend = backend
        self.cls = self.sync.adapter_class(backend)
        self.tasks = tasks
        self._save = save
        self.fetching = False
        self._message_kind = ""  # what the message line says: "" | progress | error | warning | gone
        self.fetched: FetchedComponents | None = None
        self.saved_map: dict[str, str] | None = None  # what Save wrote (None: cancelled or unchanged)
        self.setWindowTitle(f"{self.cls.label}: components for services")
        self.setObjectName("component-map-dialog")
        self.resize(780, 560)

        lay = QVBoxLayout(self)
        intro = QLabel(
            f"Choose the {self.cls.label} component each Sitrep service is shown as. When an incident names "
            "the service, its component takes the status set for the incident's severity.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)

        top = QHBoxLayout()
        self.source_label = QLabel(self)
        self.source_label.setObjectName("component-source")
        self.source_label.setWordWrap(True)
        self.refresh_button = QPushButton("&Refresh from the page", self)
        self.refresh_button.setObjectName("refresh-components")
        self.refresh_button.clicked.connect(self.fetch)
        top.addWidget(self.source_label, 1)
        top.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(top)
        self.message = QLabel(self)
        self.message.setObjectName("component-message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.message)

        self.filter = _EnterLineEdit(self._focus_first_shown, self)
        self.filter.setObjectName("service-filter")
        self.filter.setAccessibleName("Filter services")
        self.filter.setPlaceholderText("Filter services…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        lay.addWidget(self.filter)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        self.rows_body = QWidget(scroll)
        self.grid = QGridLayout(self.rows_body)
        self.grid.setColumnStretch(1, 1)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        for col, text in enumerate(("Sitrep service", f"{self.cls.label} component", "")):
            heading = QLabel(f"<b>{text}</b>", self.rows_body)
            self.grid.addWidget(heading, 0, col)
        self.empty_label = QLabel(
            "No incident names a service yet, and the map is empty: add the services below.", self.rows_body
        )
        self.empty_label.setWordWrap(True)
        self.grid.addWidget(self.empty_label, 1, 0, 1, 3)
        scroll.setWidget(self.rows_body)
        lay.addWidget(scroll, 1)
        self.scroll = scroll

        add_row = QHBoxLayout()
        self.add_edit = _EnterLineEdit(self._add_typed_service, self)
        self.add_edit.setObjectName("add-service")
        self.add_edit.setAccessibleName("Add a service")
        self.add_edit.setPlaceholderText("Add a service not seen on an incident yet (Enter adds it)")
        self.add_button = QPushButton("A&dd service", self)
        self.add_button.setObjectName("add-service-button")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._add_typed_service)
        add_row.addWidget(self.add_edit, 1)
        add_row.addWidget(self.add_button)
        lay.addLayout(add_row)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("save-component-map")
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.refresh_button.setAutoDefault(False)

        self.rows: list[ServiceRow] = []
        self.current_map = {
            str(k): str(v)
            for k, v in (self.sync.settings.backend(backend).get("component_map") or {}).items()
        }
        seen = {s.name: s for s in IncidentIndex(ctx.sitrep.store).services_seen()}
        for name in sorted(set(seen) | set(self.current_map), key=lambda n: (n.casefold(), n)):
            self._add_row(name, self.current_map.get(name, ""), seen.get(name))
        self.fetched = self.sync.cached_components(backend)
        self._fill_all()
        self._show_source()
        self._order_tabs()
        if self.rows:
            self.rows[0].take_focus()
        else:
            self.add_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.fetch()

    # -- rows ---------------------------------------------------------------------------------
    def row(self, service: str) -> ServiceRow | None:
        return next((r for r in self.rows if r.service == service), None)

    def _add_row(self, service: str, mapped: str, seen: ServiceSeen | None) -> ServiceRow:
        row = ServiceRow(self, service, mapped, seen)
        self.empty_label.hide()
        at = len(self.rows) + 2
        self.grid.addWidget(row.label, at, 0)
        self.grid.addWidget(row.combo, at, 1)
        self.grid.addWidget(row.hint, at, 2)
        row.set_visible(True)  # now, not at the next event-loop turn: a new row takes the focus at once
        self.rows.append(row)
        return row

    def _fill_all(self) -> None:
        choices = arrange(self.fetched.components) if self.fetched else []
        for row in self.rows:
            self._fill(row, choices, row.current_id())

    def _fill(self, row: ServiceRow, choices: list[Choice], keep: str) -> None:
        row.fill(choices, self.fetched is not None, keep)

    def _add_typed_service(self) -> bool:
        name = self.add_edit.text().strip()
        if not name:
            return False
        existing = self.row(name)
        if existing is None:
            existing = self._add_row(name, "", None)
            existing.added = True
            self._fill(existing, arrange(self.fetched.components) if self.fetched else [], "")
            self._order_tabs()
        self.add_edit.clear()
        self.filter.clear()
        existing.take_focus()
        self.scroll.ensureWidgetVisible(existing.combo)
        return True

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in self.rows:
            row.set_visible(not needle or needle in row.service.casefold())

    def _focus_first_shown(self) -> bool:
        shown = next((r for r in self.rows if not r.combo.isHidden()), None)
        if shown is None:
            return False
        shown.take_focus(Qt.FocusReason.TabFocusReason)
        return True

    def _order_tabs(self) -> None:
        chain: list[QWidget] = [self.refresh_button, self.filter]
        chain += [r.combo for r in self.rows]
        chain += [
            self.add_edit,
            self.add_button,
            self.save_button,
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel),
        ]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    # -- the component list -------------------------------------------------------------------
    def fetch(self) -> None:
        if self.fetching:
            return
        self.fetching = True
        self.refresh_button.setEnabled(False)
        self._say(f"Fetching the {self.cls.label} page's components…")
        self._message_kind = "progress"
        backend = self.backend
        self.tasks.run(
            lambda: self.sync.fetch_components(backend), self._fetched, self._fetch_failed, owner=self
        )

    def _fetched(self, fetched: FetchedComponents) -> None:
        self.fetching = False
        self.refresh_button.setEnabled(True)
        self.fetched = fetched
        self._fill_all()
        self._show_source()
        self._say("")
        self.row_changed()

    def gone(self) -> list[str]:
        """The services whose chosen component the fetched list does not have."""
        return [r.service for r in self.rows if r.missing() == "gone"]

    def row_changed(self) -> None:
        """Keep the warning about components the page lost true as choices change (an error about the
        fetch stays until the next fetch)."""
        if self.message.text() and self._message_kind not in ("gone", "invalid"):
            return
        if self._message_kind == "invalid" and any(r.resolve() is None for r in self.rows):
            return
        gone = self.gone()
        if gone:
            self._say(
                f"The page no longer has the component mapped for {', '.join(gone)}: choose another, or "
                f"“{NOT_SHOWN.strip('— ')}”.",
                warn=True,
            )
            self._message_kind = "gone"
        else:
            self._say("")

    def _fetch_failed(self, message: str) -> None:
        self.fetching = False
        self.refresh_button.setEnabled(True)
        if self.fetched is not None:
            when = viewer_time(self.fetched.fetched_at, self.ctx.sitrep.now())
            self._say(f"{message} Showing the list fetched {when}.", error=True)
        else:
            self._say(
                f"{message} No component list has been fetched for this page yet: the map's ids are shown as they are.",
                error=True,
            )

    def _show_source(self) -> None:
        f = self.fetched
        if f is None:
            self.source_label.setText("No component list fetched for this page yet.")
            self.source_label.setToolTip("")
            return
        choices = [c for c in arrange(f.components) if c.id is not None]
        when = viewer_time(f.fetched_at, self.ctx.sitrep.now())
        self.source_label.setText(
            f"{len(choices)} component{'s' if len(choices) != 1 else ''} on the page, fetched {when}"
            + (" (kept from the last fetch)." if f.from_cache else ".")
        )
        self.source_label.setToolTip(f"Fetched {full_text(f.fetched_at)}")

    def _say(self, text: str, *, error: bool = False, warn: bool = False) -> None:
        self._message_kind = "error" if error else ("warning" if warn else "")
        self.message.setText(text)
        if error:
            self.message.setStyleSheet(error_style(self.message))
        elif warn:
            self.message.setStyleSheet(f"color: {warning_color(self.message).name()};")
        else:
            self.message.setStyleSheet("")
        self.message.setVisible(bool(text))

    # -- saving ---------------------------------------------------------------------------------
    def chosen_map(self) -> dict[str, str] | None:
        """service -> component id for every row with a component; None (and the row focused, the
        problem said) when a row's typed text names no component."""
        out: dict[str, str] = {}
        for row in self.rows:
            chosen = row.resolve()
            if chosen is None:
                row.describe()
                self.filter.clear()
                row.take_focus()
                self.scroll.ensureWidgetVisible(row.combo)
                self._say(
                    f"{row.service}: “{row.combo.currentText().strip()}” is not one of the page's components. "
                    "Pick one from the list, or clear it for “not shown”.",
                    error=True,
                )
                self._message_kind = "invalid"
                return None
            if chosen:
                out[row.service] = chosen
        return out

    def save(self) -> None:
        chosen = self.chosen_map()
        if chosen is None:
            return
        if chosen != self.current_map:
            try:
                self._save(chosen)
            except SitrepError as err:
                self._say(err.message, error=True)
                return
            self.saved_map = chosen
        self.accept()
