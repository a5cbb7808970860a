"""Tools ▸ Backends…: each sync backend's settings, made from what its adapter declares, its credentials
(written only to the OS keyring, through services.storage.secrets), and "Test connection".

The form is generated from the adapter's SettingFields and SecretFields, so a backend added by a
plug-in gets its page without code here. Requests to a backend (test, the status page's components)
run on a pool thread; the answer is shown in the dialog. A backend that lists components (Statuspage)
gets a picker for its `component_map` beside the field (ui.dialogs.component_map).

Longer than ~500 lines: the backends dialog is generated from each adapter's declared fields; the generator
and the dialog change together.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from services.adapters.interface import Adapter, ComponentSource, SecretField, SettingField
from services.errors import SitrepError, ValidationError
from ui.dialogs.component_map import ComponentMapDialog
from ui.sync_support import sync_bridge

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #d13438;"
OK_STYLE = "color: #107c10;"


def _shown(field: SettingField, value: Any) -> Any:
    """A setting as its widget shows it."""
    if field.kind == "bool":
        return bool(value)
    if value is None:
        return ""
    if field.kind == "list":
        return ", ".join(str(v) for v in value)
    if field.kind == "map":
        return "\n".join(f"{k} = {json.dumps(v) if not isinstance(v, str) else v}" for k, v in value.items())
    return str(value)


def _parse_map(field: SettingField, text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                f"{field.label}: line {n} should read 'key = value' (got '{line.strip()}').", field=field.key
            )
        out[key.strip()] = value.strip()
    return out


class BackendPage(QWidget):
    """One backend's settings and credentials."""

    components_wanted = Signal()  # "Choose components…": the dialog opens the picker

    def __init__(self, ctx, name: str, cls: type[Adapter], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sync = ctx.sitrep.sync
        self.name = name
        self.cls = cls
        self.setObjectName(f"backend-page-{name}")
        self.inputs: dict[str, QWidget] = {}
        self.initial: dict[str, Any] = {}
        self.secret_inputs: dict[str, QLineEdit] = {}
        self.secret_states: dict[str, QLabel] = {}
        self.forget_buttons: dict[str, QPushButton] = {}
        self.choose_components_button: QPushButton | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        title = QLabel(f"<b>{cls.label}</b>", self)
        outer.addWidget(title)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        body = QWidget(scroll)
        form = QFormLayout(body)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Each label above its field: the adapters' labels are sentences, and a label column wide enough
        # for the longest would leave the fields no room.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        for f in cls.all_fields():
            widget = self._input_for(f, body)
            widget.setObjectName(f"setting-{f.key}")
            widget.setAccessibleName(f.label)
            tip = f.help or ""
            if f.required:
                tip = (tip + "\n" if tip else "") + "Required before anything can be sent."
            if tip:
                widget.setToolTip(tip)
            self.inputs[f.key] = widget
            if f.kind == "bool":
                form.addRow(widget)
            else:
                label = QLabel(f.label + (" *" if f.required else ""), body)
                label.setBuddy(widget)
                form.addRow(label, self._with_picker(f, widget, body))
        for s in cls.secrets:
            row = self._secret_row(s, body)
            label = QLabel(s.label + (" *" if s.required else ""), body)
            label.setBuddy(self.secret_inputs[s.name])
            form.addRow(label, row)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.load()

    def _input_for(self, f: SettingField, parent: QWidget) -> QWidget:
        if f.kind == "bool":
            return QCheckBox(f.label, parent)
        if f.kind == "map":
            edit = QPlainTextEdit(parent)
            edit.setPlaceholderText("one per line: key = value")
            edit.setTabChangesFocus(True)
            edit.setFixedHeight(edit.fontMetrics().height() * 4 + 14)
            return edit
        edit = QLineEdit(parent)
        if f.key == "max_requests_per_s":
            # The default is the vendor's published limit, kept by the adapter rather than the field.
            vendor = self.cls.default_max_requests_per_s
            edit.setPlaceholderText(
                f"default: {vendor:g} (under the vendor's limit)" if vendor else "default: no limit"
            )
        elif f.default not in (None, "", [], {}):
            edit.setPlaceholderText(f"default: {_shown(f, f.default)}")
        elif f.required:
            edit.setPlaceholderText("required")
        return edit

    def _with_picker(self, f: SettingField, widget: QWidget, parent: QWidget) -> QWidget:
        """The component map of a backend that can list its components, with the button that chooses
        them from the page; any other field as it is."""
        if not issubclass(self.cls, ComponentSource) or f.key != self.cls.component_map_setting:
            return widget
        row = QWidget(parent)
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        button = QPushButton("Choose &components…", row)
        button.setObjectName("choose-components")
        button.setToolTip(f"Pick each service's component from the {self.cls.label} page's list")
        button.clicked.connect(self.components_wanted)
        lay.addWidget(widget, 1)
        lay.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        self.choose_components_button = button
        return row

    def _secret_row(self, s: SecretField, parent: QWidget) -> QWidget:
        row = QWidget(parent)
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit(row)
        edit.setObjectName(f"secret-{s.name}")
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setAccessibleName(s.label)
        edit.setPlaceholderText("type a new one to store it in the keyring")
        state = QLabel(row)
        state.setObjectName(f"secret-state-{s.name}")
        state.setMinimumWidth(state.fontMetrics().horizontalAdvance("keyring unavailable") + 8)
        forget = QPushButton("Forget", row)
        forget.setObjectName(f"forget-{s.name}")
        forget.setToolTip(f"Remove the stored {s.label} from the keyring")
        forget.clicked.connect(lambda _=False, n=s.name: self.forget(n))
        lay.addWidget(edit, 1)
        lay.addWidget(state)
        lay.addWidget(forget)
        self.secret_inputs[s.name] = edit
        self.secret_states[s.name] = state
        self.forget_buttons[s.name] = forget
        return row

    # -- values ------------------------------------------------------------------------------
    def load(self) -> None:
        values = self.sync.settings.backend(self.name)
        for f in self.cls.all_fields():
            widget = self.inputs[f.key]
            value = values.get(f.key, f.default if f.kind in ("bool", "list", "map") else None)
            shown = _shown(f, value)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(shown))
            elif isinstance(widget, QPlainTextEdit):
                widget.setPlainText(shown)
            else:
                widget.setText(shown)
            self.initial[f.key] = shown
        self.load_secrets()

    def load_secrets(self) -> None:
        usable = self.sync.secrets.status().usable
        try:
            presence = self.sync.secret_presence(self.name) if usable else {}
        except SitrepError:
            presence = {}
        for s in self.cls.secrets:
            stored = presence.get(s.name)
            label = self.secret_states[s.name]
            label.setText({True: "stored", False: "not stored", None: "keyring unavailable"}[stored])
            label.setStyleSheet("" if stored else ("color: #b36b00;" if s.required else ""))
            self.secret_inputs[s.name].setEnabled(usable)
            self.forget_buttons[s.name].setEnabled(bool(stored))

    def _current(self, f: SettingField) -> Any:
        widget = self.inputs[f.key]
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QPlainTextEdit):
            return widget.toPlainText().strip()
        return widget.text().strip()

    def dirty(self) -> bool:
        changed = any(self._current(f) != self.initial[f.key] for f in self.cls.all_fields())
        return changed or any(e.text() for e in self.secret_inputs.values())

    def changes(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        """(settings to set, settings to return to their default), only what the person changed."""
        changes: dict[str, Any] = {}
        unset: list[str] = []
        for f in self.cls.all_fields():
            now = self._current(f)
            if now == self.initial[f.key]:
                continue
            if f.kind == "bool":
                changes[f.key] = now
            elif f.kind == "map":
                changes[f.key] = _parse_map(f, now)
            elif f.kind == "list":
                changes[f.key] = [part.strip() for part in now.split(",") if part.strip()]
            elif now == "":
                unset.append(f.key)
            else:
                changes[f.key] = now
        return changes, tuple(unset)

    def apply(self) -> str:
        """Save what changed. Returns what was done; raises SitrepError (nothing half-saved for settings)."""
        changes, unset = self.changes()
        done = []
        if changes or unset:
            self.sync.configure(self.name, changes, unset=unset)
            done.append("settings saved")
        for name, edit in self.secret_inputs.items():
            value = edit.text()
            if value:
                self.sync.set_secret(self.name, name, value)
                edit.clear()
                done.append(f"{name.replace('_', ' ')} stored in the keyring")
        self.load()
        return "; ".join(done)

    def forget(self, secret: str) -> None:
        try:
            gone = self.sync.delete_secret(self.name, secret)
        except SitrepError as err:
            self.window().show_result(err.message, ok=False)  # type: ignore[attr-defined]
            return
        self.load_secrets()
        self.window().show_result(  # type: ignore[attr-defined]
            f"{self.cls.label} {secret.replace('_', ' ')} removed from the keyring."
            if gone
            else "There was no such credential.",
            ok=True,
        )

    def focus_field(self, key: str | None) -> None:
        widget = self.inputs.get(key or "") or self.secret_inputs.get(key or "")
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)


class BackendsDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sync = ctx.sitrep.sync
        self.tasks = sync_bridge(ctx).tasks
        self.setWindowTitle("Sync backends")
        self.setObjectName("backends-dialog")
        self.resize(820, 640)
        self.pages: dict[str, BackendPage] = {}
        self.testing: str | None = None
        self.component_picker = None  # the open ComponentMapDialog, if any

        lay = QVBoxLayout(self)
        self.keyring_label = QLabel(self)
        self.keyring_label.setObjectName("keyring-status")
        self.keyring_label.setWordWrap(True)
        lay.addWidget(self.keyring_label)

        split = QSplitter(self)
        self.backend_list = QListWidget(split)
        self.backend_list.setObjectName("backend-list")
        self.backend_list.setAccessibleName("Backends")
        self.stack = QStackedWidget(split)
        for name, cls in sorted(self.sync.available.items()):
            page = BackendPage(ctx, name, cls, self.stack)
            page.components_wanted.connect(self.choose_components)
            self.pages[name] = page
            self.stack.addWidget(page)
            item = QListWidgetItem(cls.label, self.backend_list)
            item.setData(Qt.ItemDataRole.UserRole, name)
        split.setStretchFactor(1, 1)
        split.setSizes([180, 640])
        lay.addWidget(split, 1)
        for problem in self.sync.discovered.problems:
            warn = QLabel(f"Not loaded: {problem}", self)
            warn.setWordWrap(True)
            warn.setStyleSheet(ERROR_STYLE)
            lay.addWidget(warn)

        self.result = QLabel(self)
        self.result.setObjectName("backend-result")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.result)
        self.details = QPlainTextEdit(self)
        self.details.setObjectName("backend-details")
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(self.fontMetrics().height() * 6 + 12)
        self.details.hide()
        lay.addWidget(self.details)

        buttons = QHBoxLayout()
        self.test_button = QPushButton("&Test connection", self)
        self.test_button.setObjectName("test-connection")
        self.test_button.clicked.connect(self.test_connection)
        self.apply_button = QPushButton("&Apply", self)
        self.apply_button.setObjectName("apply-backend")
        self.apply_button.clicked.connect(self.apply)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(close)
        lay.addLayout(buttons)

        self.backend_list.currentRowChanged.connect(self._page_changed)
        self.refresh_list()
        self.show_keyring()
        if self.backend_list.count():
            self.backend_list.setCurrentRow(0)

    # -- state ------------------------------------------------------------------------------
    @property
    def page(self) -> BackendPage | None:
        widget = self.stack.currentWidget()
        return widget if isinstance(widget, BackendPage) else None

    def select(self, name: str) -> BackendPage:
        for row in range(self.backend_list.count()):
            if self.backend_list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.backend_list.setCurrentRow(row)
        return self.pages[name]

    def _page_changed(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        self.show_result("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.testing is not None
        self.test_button.setEnabled(not busy and self.page is not None)

    def refresh_list(self) -> None:
        info = {b.name: b for b in self.sync.backends()}
        for row in range(self.backend_list.count()):
            item = self.backend_list.item(row)
            b = info.get(item.data(Qt.ItemDataRole.UserRole))
            if b is None:
                continue
            state = "on" if b.enabled and not b.missing else ("on, needs settings" if b.enabled else "off")
            item.setText(f"{b.label} ({state})")
            item.setToolTip(" ".join(b.missing) or ("Sending" if b.enabled else "Not sending"))

    def show_keyring(self) -> None:
        st = self.sync.secrets.status()
        if st.usable:
            self.keyring_label.setText(
                f"Credentials are kept in the OS keyring ({st.label}), never in a file."
            )
            self.keyring_label.setStyleSheet("")
        else:
            self.keyring_label.setText(
                f"No usable keyring: {st.reason}. Sitrep keeps credentials only in the OS keyring, so it cannot "
                "store them here. Start and unlock your desktop keyring (gnome-keyring, KWallet), then reopen "
                "this dialog."
            )
            self.keyring_label.setStyleSheet(ERROR_STYLE)

    def show_result(self, text: str, *, ok: bool = True, details: str | None = None) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("" if not text else (OK_STYLE if ok else ERROR_STYLE))
        self.details.setVisible(bool(details))
        self.details.setPlainText(details or "")

    # -- actions ------------------------------------------------------------------------------
    def apply(self) -> bool:
        page = self.page
        if page is None:
            return False
        try:
            done = page.apply()
        except SitrepError as err:
            self.show_result(err.message, ok=False)
            page.focus_field(err.field)
            page.load_secrets()
            return False
        self.refresh_list()
        ready = self.sync.readiness(page.name)
        text = f"{page.cls.label}: {done}." if done else f"{page.cls.label}: nothing changed."
        if ready.state == "incomplete":
            text += " Not ready to send yet: " + ready.detail
        self.show_result(text, ok=ready.state != "incomplete")
        return True

    def test_connection(self) -> None:
        page = self.page
        if page is None or self.testing is not None:
            return
        if page.dirty() and not self.apply():
            return  # the test uses what is saved; a change that does not save is not tested
        name, label = page.name, page.cls.label
        self.testing = name
        self._update_buttons()
        self.show_result(f"Testing {label}…")
        self.tasks.run(lambda: self.sync.test_connection(name), lambda message: self._tested(message, True),
                       lambda message: self._tested(message, False), owner=self)  # fmt: skip

    def _tested(self, message: str, ok: bool) -> None:
        self.testing = None
        self._update_buttons()
        self.show_result(message, ok=ok)

    def choose_components(self) -> None:
        """The picker for this backend's component map. It fetches the page's list itself (off the GUI
        thread); what it saves goes through the same settings path as Apply."""
        page = self.page
        if page is None or self.component_picker is not None:
            return
        if page.dirty() and not self.apply():
            return  # the list is fetched with what is saved (the page id, the key)
        name, label = page.name, page.cls.label

        def save(chosen: dict[str, str]) -> None:
            self.sync.configure(name, {"component_map": chosen})

        def closed(result: int) -> None:
            picker, self.component_picker = self.component_picker, None
            if picker is None or result != QDialog.DialogCode.Accepted:
                return
            if picker.saved_map is None:
                text = f"{label}: component map unchanged."
            else:
                page.load()
                self.refresh_list()
                n = len(picker.saved_map)
                text = f"{label}: component map saved ({n} service{'s' if n != 1 else ''} mapped)."
            gone = picker.gone()
            if gone:
                text += f" Still mapped to a component the page no longer has: {', '.join(gone)}."
            self.show_result(text, ok=not gone)
            if page.choose_components_button is not None:
                page.choose_components_button.setFocus(Qt.FocusReason.OtherFocusReason)

        picker = self.component_picker = ComponentMapDialog(
            self.ctx, name, tasks=self.tasks, save=save, parent=self
        )
        picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        picker.finished.connect(closed)
        picker.open()

    def done(self, result: int) -> None:
        page = self.page
        # Unsaved edits are not silently dropped: Close saves them (and says so if they do not save).
        accepted = result == QDialog.DialogCode.Accepted
        if accepted and page is not None and page.dirty() and not self.apply():
            return
        super().done(result)
