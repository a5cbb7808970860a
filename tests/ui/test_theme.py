"""The console's look: Fusion, the system's light or dark scheme, followed when it changes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QLabel, QListView, QStyle, QStyleFactory

from ui.dark_style import ConsoleStyle
from ui.fields import ErrorLabel
from ui.theme import apply_theme, error_color, follow_system_scheme, is_dark, wanted_scheme


@pytest.fixture
def app(qapp, monkeypatch):
    """The test session's application, with its palette and style put back afterwards."""
    monkeypatch.delenv("SITREP_THEME", raising=False)
    palette, style = QApplication.palette(), qapp.style().name()
    yield qapp
    qapp.setStyle(QStyleFactory.create(style))
    qapp.setPalette(palette)


def window_lightness() -> int:
    return QApplication.palette().color(QPalette.ColorRole.Window).lightness()


def test_override_picks_dark_or_light(app, monkeypatch):
    monkeypatch.setenv("SITREP_THEME", "dark")
    apply_theme(app)
    assert isinstance(app.style(), ConsoleStyle)
    assert app.style().baseStyle().name().lower() == "fusion"
    assert window_lightness() < 80 and is_dark()
    text = QApplication.palette().color(QPalette.ColorRole.Text)
    assert text.lightness() > 200  # light text on the dark base
    red_on_dark = error_color()
    monkeypatch.setenv("SITREP_THEME", "light")
    apply_theme(app)
    assert window_lightness() > 180 and not is_dark()
    # Light needs no fix to Fusion, and a style written in Python is called back for every primitive drawn.
    assert not isinstance(app.style(), ConsoleStyle) and app.style().name().lower() == "fusion"
    assert red_on_dark.lightness() > error_color().lightness()  # a lighter red where the ground is dark


def test_the_console_follows_the_system_when_it_switches(app):
    apply_theme(app)  # offscreen reports no scheme: light
    assert not is_dark()
    hints = app.styleHints()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what the platform sends on a switch
    assert is_dark()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark()


def test_inline_errors_stay_readable_when_the_scheme_flips(app, qtbot, monkeypatch):
    label = ErrorLabel()
    qtbot.addWidget(label)
    label.show_error("Unknown time zone 'Mars/Base'.")
    apply_theme(app)
    light_red = error_color(label).name()
    assert light_red in label.styleSheet()
    monkeypatch.setenv("SITREP_THEME", "dark")
    apply_theme(app)
    qtbot.waitUntil(lambda: error_color(label).name() != light_red)
    assert error_color(label).name() in label.styleSheet()


def test_the_first_paint_draws_in_the_remembered_scheme_then_follows_the_system(app):
    apply_theme(app, "dark")  # remembered from last time: the platform is not asked yet
    assert is_dark() and isinstance(app.style(), ConsoleStyle)
    follow_system_scheme(app)  # offscreen reports no scheme: light, as a switch made since last time
    assert not is_dark() and app.property("sitrep_scheme") == "light"
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert is_dark()


def test_wanted_scheme_reads_what_the_platform_reports(monkeypatch):
    monkeypatch.delenv("SITREP_THEME", raising=False)
    assert wanted_scheme(reported=Qt.ColorScheme.Dark) == "dark"
    assert wanted_scheme(reported=Qt.ColorScheme.Light) == "light"
    assert wanted_scheme(reported=Qt.ColorScheme.Unknown) == "light"
    monkeypatch.setenv("SITREP_THEME", "dark")
    assert wanted_scheme(reported=Qt.ColorScheme.Light) == "dark"


def test_no_widget_of_ours_fixes_a_font_size_in_pixels(app, qtbot):
    # Readable at 1366x768 and at 4K means sizes follow the font and the screen's scale, so no
    # style sheet of ours sets a pixel font size.
    import re
    from pathlib import Path

    import ui

    pixel_font = re.compile(r"font-size:\s*\d+(\.\d+)?px|setPixelSize\(")
    offenders = [
        path.name
        for path in Path(ui.__file__).parent.rglob("*.py")
        if pixel_font.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    label = QLabel()
    qtbot.addWidget(label)
    assert label.font().pixelSize() == -1  # fonts are in points, scaled with the screen


def test_an_empty_check_box_shows_on_a_dark_palette(app, qtbot, monkeypatch):
    monkeypatch.setenv("SITREP_THEME", "dark")
    apply_theme(app)
    model = QStandardItemModel()
    item = QStandardItem("Join the channel and the bridge")
    item.setCheckable(True)
    model.appendRow(item)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(300, 60)
    view.show()
    qtbot.waitExposed(view)
    image = view.viewport().grab().toImage()
    base = image.pixelColor(image.width() - 2, 2).lightness()
    # Only the indicator's columns: the row's text starts to the right of them.
    box = view.style().pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth)
    row = view.sizeHintForRow(0)
    outline = max(image.pixelColor(x, y).lightness() for x in range(0, box + 3) for y in range(0, row))
    assert outline - base > 40  # the empty box's outline stands out from the dark base


def test_the_light_palette_written_out_is_fusions_own(app):
    # The first paint draws in light_palette() without asking the style (ui/theme.py): it must be the palette
    # the console sets once the services are ready, or the window would change colour as it comes alive.
    from ui.theme import light_palette

    fusion = QStyleFactory.create("Fusion").standardPalette()
    ours = light_palette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive, QPalette.ColorGroup.Disabled):
        for role in QPalette.ColorRole:
            if role in (QPalette.ColorRole.NoRole, QPalette.ColorRole.NColorRoles):
                continue
            assert ours.color(group, role) == fusion.color(group, role), (group, role)
    assert ours == fusion


def test_a_light_first_paint_starts_on_fusion_without_a_python_style(monkeypatch):
    from ui.theme import first_paint_arguments

    monkeypatch.delenv("SITREP_THEME", raising=False)
    assert first_paint_arguments("light") == ["-style", "fusion"]
    assert first_paint_arguments("dark") == [] and first_paint_arguments(None) == []
    monkeypatch.setenv("SITREP_THEME", "light")
    assert first_paint_arguments(None) == ["-style", "fusion"]
