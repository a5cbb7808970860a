"""Look and feel: Fusion, following the system's light or dark scheme, sized by fonts rather than pixels.

Fusion draws the same on every platform, so what the screenshots show is what users get. The colour
scheme comes from the platform (QStyleHints.colorScheme, Qt 6.5+) and follows it when it changes;
SITREP_THEME=light|dark overrides it (for a desktop that does not say, or to check both).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from PySide6 import QtCore
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

if TYPE_CHECKING:
    from PySide6.QtCore import Qt

log = logging.getLogger(__name__)

_ERROR_LIGHT = QColor("#c42b1c")
_ERROR_DARK = QColor("#ff8a80")
_WARN_LIGHT = QColor("#9a6700")
_WARN_DARK = QColor("#f2cc60")


def wanted_scheme(app: QGuiApplication | None = None, reported: Qt.ColorScheme | None = None) -> str:
    """'dark' or 'light': the override if set, else what the platform reports (light when it says nothing)."""
    override = _override()
    if override is not None:
        return override
    if reported is None:
        app = app or QGuiApplication.instance()
        hints = app.styleHints() if app is not None else None
        scheme = getattr(hints, "colorScheme", None)  # Qt 6.5+
        reported = scheme() if callable(scheme) else None
    return "dark" if reported == QtCore.Qt.ColorScheme.Dark else "light"  # the namespace only now: see apply_theme


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, alt, text = (
        QColor(37, 37, 40),
        QColor(28, 28, 31),
        QColor(44, 44, 48),
        QColor(230, 230, 232),
    )
    disabled = QColor(128, 128, 134)
    highlight = QColor(53, 132, 228)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, alt)
        p.setColor(group, QPalette.ColorRole.ToolTipBase, QColor(52, 52, 58))
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(150, 150, 156))
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, QColor(50, 50, 55))
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.BrightText, QColor(255, 120, 120))
        p.setColor(group, QPalette.ColorRole.Light, QColor(70, 70, 76))
        p.setColor(group, QPalette.ColorRole.Midlight, QColor(60, 60, 66))
        p.setColor(group, QPalette.ColorRole.Mid, QColor(45, 45, 50))
        p.setColor(group, QPalette.ColorRole.Dark, QColor(20, 20, 22))
        p.setColor(group, QPalette.ColorRole.Shadow, QColor(0, 0, 0))
        p.setColor(group, QPalette.ColorRole.Highlight, highlight)
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.Link, QColor(110, 170, 255))
        p.setColor(group, QPalette.ColorRole.LinkVisited, QColor(180, 140, 255))
    p.setColor(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight, QColor(60, 80, 110))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.PlaceholderText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor(45, 45, 50))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor(70, 70, 76))
    return p


# Fusion's own light palette (QStyle.standardPalette), role by role: (active, inactive, disabled); the shades
# Fusion works out from its button colour in 16 bits a channel (#rrrrggggbbbb). Written out so
# the first paint can use it without a Python QStyle (PySide makes the type's 11 enums on first touch: ~14 ms
# before anything is on screen). tests/ui/test_theme.py holds it equal to Fusion's, and `_set_scheme` puts
# Fusion's in place should a Qt version ever differ.
_FUSION_LIGHT = {
    "WindowText": ("#000000", "#000000", "#bebebe"),
    "Button": ("#efefef", "#efefef", "#efefef"),
    "Light": ("#ffffff", "#ffffff", "#ffffff"),
    "Midlight": ("#cb04cb04cb04", "#cb04cb04cb04", "#cb04cb04cb04"),
    "Dark": ("#9ff49ff49ff4", "#9ff49ff49ff4", "#bebebebebebe"),
    "Mid": ("#b890b890b890", "#b890b890b890", "#b890b890b890"),
    "Text": ("#000000", "#000000", "#bebebe"),
    "BrightText": ("#ffffff", "#ffffff", "#ffffff"),
    "ButtonText": ("#000000", "#000000", "#bebebe"),
    "Base": ("#ffffff", "#ffffff", "#efefef"),
    "Window": ("#efefef", "#efefef", "#efefef"),
    "Shadow": ("#767b767b767b", "#767b767b767b", "#b1b8b1b8b1b8"),
    "Highlight": ("#308cc6", "#308cc6", "#919191"),
    "HighlightedText": ("#ffffff", "#ffffff", "#ffffff"),
    "Link": ("#0000ff", "#0000ff", "#0000ff"),
    "LinkVisited": ("#ff00ff", "#ff00ff", "#ff00ff"),
    "AlternateBase": ("#f7f7f7", "#f7f7f7", "#f7f7f7"),
    "ToolTipBase": ("#ffffdc", "#ffffdc", "#ffffdc"),
    "ToolTipText": ("#000000", "#000000", "#000000"),
    "PlaceholderText": ("#80000000", "#80000000", "#80000000"),
    "Accent": ("#308cc6", "#308cc6", "#919191"),  # Qt 6.6+
}


def light_palette() -> QPalette:
    """Fusion's light palette, made without asking the style for it (see _FUSION_LIGHT)."""
    p = QPalette()
    groups = (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive, QPalette.ColorGroup.Disabled)
    for name, colours in _FUSION_LIGHT.items():
        role = getattr(QPalette.ColorRole, name, None)
        if role is None:
            continue
        for group, colour in zip(groups, colours, strict=True):
            p.setColor(group, role, QColor(colour))
    return p


def is_dark(widget: QWidget | None = None) -> bool:
    palette = widget.palette() if widget is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_color(widget: QWidget | None = None) -> QColor:
    """A red that reads on the current background (inline errors, breached clocks)."""
    return QColor(_ERROR_DARK if is_dark(widget) else _ERROR_LIGHT)


def warning_color(widget: QWidget | None = None) -> QColor:
    return QColor(_WARN_DARK if is_dark(widget) else _WARN_LIGHT)


def error_style(widget: QWidget | None = None) -> str:
    return f"color: {error_color(widget).name()};"


def apply_theme(app: QApplication, remembered: str | None = None) -> None:
    """Fusion, in the system's scheme, re-applied when the system switches between light and dark.

    `remembered` ('dark' or 'light', the scheme the console last drew in) lets the first paint skip asking
    the platform: the answer comes as a `Qt.ColorScheme`, and making Python's `Qt` namespace for it costs
    20-40 ms before anything is on screen. `follow_system_scheme` asks right after the first paint."""
    scheme = _override() or remembered
    if scheme == "light" and app.property("sitrep_style") == "fusion":  # made so: see first_paint_arguments
        app.setPalette(light_palette())
        app.setProperty("sitrep_scheme", scheme)
        return
    if scheme in ("dark", "light"):
        _set_scheme(app, scheme)
        return
    follow_system_scheme(app)


def first_paint_arguments(remembered: str | None) -> list[str]:
    """QApplication's own arguments for the scheme the first paint will draw in: `-style fusion` when it is
    light, so the style is Fusion from the start and never handed to Python (see _FUSION_LIGHT)."""
    return ["-style", "fusion"] if (_override() or remembered) == "light" else []


def follow_system_scheme(app: QApplication) -> None:
    """Take the scheme the platform reports (or SITREP_THEME), and follow it when the system switches."""
    _apply_scheme(app)
    if not app.property("sitrep_follows_scheme"):
        changed = getattr(app.styleHints(), "colorSchemeChanged", None)  # Qt 6.5+
        if changed is not None:
            changed.connect(lambda scheme: _apply_scheme(app, scheme))
        app.setProperty("sitrep_follows_scheme", True)


def _override() -> str | None:
    override = os.environ.get("SITREP_THEME", "").strip().lower()
    return override if override in ("dark", "light") else None


def _apply_scheme(app: QApplication, reported: Qt.ColorScheme | None = None) -> None:
    _set_scheme(app, wanted_scheme(app, reported))


def _set_scheme(app: QApplication, scheme: str) -> None:
    """Plain Fusion on a light palette; on a dark one Fusion with check boxes that show (ui/dark_style.py,
    imported only then: a style written in Python is called back for every primitive it draws)."""
    if scheme == "dark":
        from ui.dark_style import ConsoleStyle  # deferred: see the function's docstring

        if not isinstance(app.style(), ConsoleStyle):
            app.setStyle(ConsoleStyle())
            app.setProperty("sitrep_style", "dark-fusion")
        palette = dark_palette()
    else:
        if app.property("sitrep_style") != "fusion":
            app.setStyle(QStyleFactory.create("Fusion"))
            app.setProperty("sitrep_style", "fusion")
        palette = app.style().standardPalette()
    if palette != app.palette():  # the same palette again would have every widget told of a change
        app.setPalette(palette)
    app.setProperty("sitrep_scheme", scheme)
    log.debug("colour scheme: %s", scheme)
