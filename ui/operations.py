"""One path for "a service refused; show why": errors become words in the right place, never a traceback.

- `run_action`: something the user asked for. A refusal goes to the status bar; a store that cannot be
  used gets a dialog (nothing more will work until it is dealt with).
- `read_or_say`: a read for display (a refresh, a timer, a change notice). A refusal goes to the status
  bar only: reads repeat, and a dialog per repeat would stack up.
- A form shows a refusal under the field it concerns (ui.forms.ServiceDialog.show_error): the user is
  looking at the form, not the status bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtWidgets import QMessageBox, QWidget

from services.errors import SitrepError, StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_action(
    ctx,
    parent: QWidget | None,
    action: Callable[..., T],
    *args: Any,
    success: str | None = None,
    say_refusal: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> tuple[bool, T | None]:
    """Run `action`; on a domain error tell the user (status bar, or a dialog when the store is in trouble).
    `say_refusal` also shows a refusal where the user is looking (beside the button they pressed), since a
    long sentence is cut in the status bar of a small screen.

    The changes it makes name `parent` as their initiator (services.changes), so a panel that refreshes
    itself after its own action can skip the echo. Returns (ok, result). Unexpected exceptions are bugs:
    they go on to the crash handler.
    """
    try:
        with ctx.sitrep.changes.initiated_by(parent):
            result = action(*args, **kwargs)
    except StoreError as err:
        log.warning("store error: %s", err.message)
        QMessageBox.critical(parent, "Sitrep: the store cannot be used", err.message)
        return False, None
    except SitrepError as err:
        ctx.status_message(err.message, error=True)
        if say_refusal is not None:
            say_refusal(err.message)
        return False, None
    if success:
        ctx.status_message(success)
    return True, result


def read_or_say(
    ctx,
    read: Callable[..., T],
    *args: Any,
    what: str | None = None,
    default: T | None = None,
    say: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> tuple[bool, T | None]:
    """Read through a service; on a refusal say "<what>: <why>" and return (False, default). `what` names
    what could not be read ("The severity clocks cannot be read"); `say` is where a panel or window with an
    error line of its own shows it (default: the status bar)."""
    try:
        return True, read(*args, **kwargs)
    except SitrepError as err:
        message = f"{what}: {err.message}" if what else err.message
        if say is not None:
            say(message)
        else:
            ctx.status_message(message, error=True)
        return False, default
