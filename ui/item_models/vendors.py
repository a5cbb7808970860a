"""The vendor cases table: one row per case, what the contract says about it now in the last column."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtGui import QBrush, QColor

from services.vendors.views import VendorCaseView
from ui.item_models.rows import RowsModel
from ui.timefmt import viewer_time

BREACHED = QColor("#b3261e")
# What the contract says now before the details: on a laptop the right-hand columns are the ones cut.
HEADERS = ("Case", "Incident", "Vendor", "State", "Response due", "Resolution due", "Priority", "Level",
           "Their ticket")  # fmt: skip
COL_STATE, COL_RESPONSE = HEADERS.index("State"), HEADERS.index("Response due")
COL_RESOLUTION = HEADERS.index("Resolution due")


class VendorCasesModel(RowsModel):
    headers = HEADERS

    def __init__(self, now: Callable[[], datetime], parent=None) -> None:
        super().__init__(parent)
        self._now = now

    def _clock(self, case: VendorCaseView, kind: str):
        return next((c for c in case.clocks() if c.id.startswith(kind)), None)

    def cell(self, row: VendorCaseView, column: int) -> tuple[str, Any]:
        now = self._now()
        if column in (COL_RESPONSE, COL_RESOLUTION):
            clock = self._clock(row, "vendor_response" if column == COL_RESPONSE else "vendor_resolution")
            if clock is None:
                return "-", ""
            state = clock.state(now)
            mark = {"breached": "  BREACHED", "met_late": "  met late", "met": "  met"}.get(state, "")
            return viewer_time(clock.due_at, now) + mark, clock.due_at.isoformat()
        values = (row.key, row.incident_key, row.vendor_name, row.state_text(now), "", "", row.priority,
                  f"L{row.level} {row.level_title}", row.ticket_ref or "-")  # fmt: skip
        native = row.number_sort if column == 0 else values[column]
        return values[column], native

    def foreground(self, row: VendorCaseView, column: int):
        now = self._now()
        if column in (COL_RESPONSE, COL_RESOLUTION):
            clock = self._clock(row, "vendor_response" if column == COL_RESPONSE else "vendor_resolution")
            if clock is not None and clock.state(now) in ("breached", "met_late"):
                return QBrush(BREACHED)
        if column == COL_STATE and ("BREACHED" in row.state_text(now) or "climb" in row.state_text(now)):
            return QBrush(BREACHED)
        return None
