"""The console over a store opened read-only: everything reads, nothing writes, and it says so."""

from __future__ import annotations

from PySide6.QtCore import Qt

from services.core import Sitrep
from tests.ui.console_kit import console_context, main_window


def test_a_read_only_store_reads_and_refuses_changes_in_place(data_dir, clock, qtbot):
    url = f"sqlite:///{data_dir / 'sitrep.db'}"
    writer = Sitrep.open(url, config_dir=data_dir / "config", now=clock)
    inc = writer.incidents.declare("Checkout down", "SEV1", author="ic")
    writer.timeline.log(inc.id, "Errors at 40%", author="ic", kind="observation")
    writer.close()
    clock.advance(hours=2)  # every clock is overdue: a writable console would record breaches now

    app = Sitrep.open(url, config_dir=data_dir / "config", now=clock, read_only=True)
    ctx = console_context(app, data_dir)
    try:
        window = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.timeline")
        window.show()
        window.reload_incidents(select=inc.id)
        assert window.windowTitle().endswith("(read-only)")
        timeline, header = window.panels["timeline"], window.panels["header"]
        assert timeline.model.rowCount() == 2
        assert header.check_clocks(announce=True) == []

        qtbot.keyClicks(timeline.entry, "/obs this must not be written")
        qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
        assert timeline.entry_error.isVisible() and "read-only" in timeline.entry_error.text()
        assert timeline.entry.text() == "/obs this must not be written"  # kept, not lost
        assert app.timeline.count(inc.id) == 2
        assert not app.sync.running
    finally:
        ctx.notifier.close()
        app.close()
