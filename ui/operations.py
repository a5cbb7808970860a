"""One way to run a user's action: errors become words in the right place, never a traceback."""

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
    **kwargs: Any,
) -> tuple[bool, T | None]:
    """Run `action`; on a domain error tell the user (status bar, or a dialog when the store is in trouble).

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
        return False, None
    if success:
        ctx.status_message(success)
    return True, result
