"""What the sync views' threads hand to the GUI thread, and when they stop reaching a view.

A Qt object must be destroyed on its own thread, and no thread may emit into a deleted one: a call run
off the GUI thread lets go of what it holds (a lambda over a dialog, its answer, an error's traceback)
on the GUI thread, and the sync worker stops reporting to a bridge once it is gone."""

from __future__ import annotations

import logging
import threading
import weakref

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent

from services.errors import ValidationError
from tests.sync.conftest import configure_backends
from tests.ui.console_kit import console_context
from ui.sync_support import BackgroundTasks, SyncBridge


class Dialog:
    """Stands for the widget a background call's lambda closes over."""


@pytest.mark.parametrize("refused", [False, True], ids=["answered", "refused"])
def test_a_background_call_lets_go_of_what_it_held_on_the_gui_thread(qtbot, refused):
    tasks = BackgroundTasks()
    outcomes: list = []
    released_on: list = []
    dialog = Dialog()
    weakref.finalize(dialog, lambda: released_on.append(threading.current_thread()))
    go = threading.Event()

    def ask(dialog=dialog):  # like `lambda: self.sync.test_connection(name)` in a dialog
        go.wait(10)
        if refused:
            raise ValidationError("PagerDuty refused the token.")
        return "Connected to PagerDuty."

    tasks.run(ask, outcomes.append, outcomes.append)
    del ask, dialog  # from here on only the call holds the dialog
    go.set()
    assert tasks.wait(10_000)  # the pool thread is done with it...
    assert released_on == []  # ...and did not let go of it there
    qtbot.waitUntil(lambda: bool(outcomes))
    expected = "PagerDuty refused the token." if refused else "Connected to PagerDuty."
    assert outcomes == [expected] and not tasks.busy
    qtbot.waitUntil(lambda: bool(released_on))
    assert released_on == [threading.main_thread()]


def test_a_bridge_that_is_gone_is_told_nothing_more(qtbot, app, fake_pd, data_dir, caplog):
    configure_backends(app, fake_pd)
    ctx = console_context(app, data_dir)
    try:
        bridge = SyncBridge(ctx)  # no window: nothing closes it before it goes
        events: list = []
        bridge.event.connect(events.append)
        inc = app.incidents.declare("Checkout down", "SEV1", author="ic")
        app.sync.drain_once()
        qtbot.waitUntil(lambda: any(e.kind == "sent" for e in events))

        bridge.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        assert not shiboken6.isValid(bridge)
        app.timeline.log(inc.id, "Roll back", author="ic", kind="decision", rationale="the deploy matches")
        with caplog.at_level(logging.ERROR, logger="services.sync"):
            assert app.sync.drain_once().sent == 1  # its reports go to no one, and nothing breaks
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        ctx.notifier.close()
