"""Dialogs that run one service call, and show its refusal next to the field it concerns."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QMessageBox, QWidget

from services.errors import SitrepError, StoreError
from services.text.timeparse import parse_when
from ui.fields import ErrorLabel, chain_tab_order
from ui.theme import is_dark
from ui.timefmt import full_text, humanise_times, utc_text, viewer_zone

log = logging.getLogger(__name__)


def quiet_colour(widget: QWidget) -> str:
    """Secondary text: visibly quieter than the main text, still 4.5:1 on the window colour."""
    return "#b4b4ba" if is_dark(widget) else "#55555c"


class QuietLabel(QLabel):
    """Hints and explanations: quieter than the fields they explain, never too faint to read."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, wrap: bool = True) -> None:
        super().__init__(text, parent)
        self.setWordWrap(wrap)
        self._restyle()

    def _restyle(self) -> None:
        style = f"color: {quiet_colour(self)};"
        if style != self.styleSheet():
            self.setStyleSheet(style)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


class ServiceDialog(QDialog):
    """OK runs `apply()`. A SitrepError keeps the dialog open with the message where it belongs.

    Subclasses register an ErrorLabel per field name the service may report (`err.field`), and
    the widget to focus for it; anything else lands in the general error line above the buttons.
    """

    ok_text = "OK"

    def __init__(self, ctx, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self._error_labels: dict[str, ErrorLabel] = {}
        self._error_focus: dict[str, QWidget] = {}
        self.general_error = ErrorLabel(self, name="error-general")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.ok_text)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.result_value = None

    def field_error(self, *fields: str, focus: QWidget | None = None) -> ErrorLabel:
        """An error label for these field names (a service may use several names for one input)."""
        label = ErrorLabel(self, name=f"error-{fields[0]}")
        for f in fields:
            self._error_labels[f] = label
            if focus is not None:
                self._error_focus[f] = focus
        return label

    def error_text(self, field: str | None = None) -> str:
        """What the dialog says about a field (or in general): for tests and screen readers."""
        label = self._error_labels.get(field) if field else self.general_error
        return label.text() if label is not None and label.isVisible() else ""

    def clear_errors(self) -> None:
        self.general_error.show_error(None)
        for label in set(self._error_labels.values()):
            label.show_error(None)

    def show_error(self, err: SitrepError) -> None:
        label = self._error_labels.get(err.field or "")
        (label or self.general_error).show_error(humanise_times(err.message, self.ctx.sitrep.now()))
        target = self._error_focus.get(err.field or "")
        if target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def showEvent(self, event) -> None:
        if not self._tab_order_done:
            self._tab_order_done = True
            self._buttons_last_in_tab_order()
        super().showEvent(event)

    _tab_order_done = False

    def _buttons_last_in_tab_order(self) -> None:
        """The buttons are made before the fields (subclasses add theirs later), so Tab visited OK
        and Cancel first and the dialog opened with its focus on OK. The fields come first."""
        buttons = self.buttons.buttons()
        last_field = None
        widget = self.nextInFocusChain()
        while widget is not self and widget is not None:
            if (
                widget not in buttons
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
                and self.isAncestorOf(widget)
            ):
                last_field = widget
            widget = widget.nextInFocusChain()
        if last_field is None:
            return
        ok, cancel = self.ok_button, self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        chain_tab_order(last_field, ok, cancel)

    def apply(self):
        """Do the work; return what the status bar should say, or None. Raise SitrepError to refuse."""
        raise NotImplementedError

    def submit(self) -> bool:
        self.clear_errors()
        try:
            said = self.apply()
        except StoreError as err:
            log.warning("store error: %s", err.message)
            QMessageBox.critical(self, "Sitrep: the store cannot be used", err.message)
            return False
        except SitrepError as err:
            self.show_error(err)
            return False
        if said:
            self.ctx.status_message(said)
        self.accept()
        return True


class WhenEdit(QLineEdit):
    """A time typed the way people say it: '09:40' (viewer's zone), '10m ago', ISO, or empty.

    The interpreted time is shown beside it as they type (`preview`), so '9:40' meaning
    yesterday's 09:40 is visible before it is saved.
    """

    def __init__(self, now: Callable[[], datetime], field: str, parent: QWidget | None = None,
                 placeholder: str = "now") -> None:  # fmt: skip
        super().__init__(parent)
        self._now = now
        self._field = field
        self.setPlaceholderText(placeholder)
        self.setToolTip("09:40 (your time zone), 10m ago, 2h ago, or an ISO time such as 2026-03-14T09:40Z")
        self.preview = QuietLabel("", parent, wrap=False)
        self.preview.setObjectName(f"preview-{field}")
        self.textChanged.connect(self._update_preview)

    def value(self) -> datetime | None:
        """The UTC time meant, None when empty. Raises ValidationError(field) when unreadable."""
        text = self.text().strip()
        if not text:
            return None
        return parse_when(text, now=self._now(), local_tz=viewer_zone(), field=self._field)

    def _update_preview(self, *_args) -> None:
        try:
            when = self.value()
        except SitrepError:
            self.preview.setText("not a time I can read yet")
            self.preview.setToolTip("")
            return
        if when is None:
            self.preview.setText("")
            self.preview.setToolTip("")
            return
        self.preview.setText(full_text(when))
        self.preview.setToolTip(utc_text(when))
