"""The register of delegations of authority as a table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from services.governance.delegations import DelegationView
from ui.item_models.rows import RowsModel

# Background of a row that needs its owner: expired (red), review overdue (amber), due soon (pale).
STATE_BACKGROUNDS = {"expired": "#f4c7c3", "review overdue": "#fce8b2", "review due soon": "#fff6d5",
                     "revoked": "#e0e0e0"}  # fmt: skip


class DelegationsModel(RowsModel):
    # State first: at a glance, what needs its owner; deputies last (the widest and least often read).
    headers = ("State", "Authority", "Holder", "Owner", "Expires", "Review due", "Deputies")

    def cell(self, row: DelegationView, column: int) -> tuple[str, Any]:
        if column == 0:
            return row.state + (" (comms.toml)" if row.source != "register" else ""), row.state
        if column == 1:
            return row.authority_label, row.authority_label
        if column == 2:
            return row.holder_name, row.holder_name
        if column == 3:
            return row.owner_name, row.owner_name
        if column == 4:
            return (row.expires_on.isoformat() if row.expires_on else "no expiry"), str(row.expires_on or "9999")
        if column == 5:
            if row.review_due_on is None:
                return "— (comms.toml)", "9999"
            return row.review_due_on.isoformat(), row.review_due_on.isoformat()
        return ", ".join(f"@{h}" for h in row.deputies) or "—", len(row.deputies)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid() and 0 <= index.row() < len(self.rows):
            colour = STATE_BACKGROUNDS.get(self.rows[index.row()].state)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid() and 0 <= index.row() < len(self.rows):
            return QBrush(QColor("#1a1a1a")) if self.rows[index.row()].state in STATE_BACKGROUNDS else None
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid() and 0 <= index.row() < len(self.rows):
            row = self.rows[index.row()]
            return "\n".join(x for x in (f"{row.holder_name} (@{row.holder})", row.problem, row.scope) if x)
        return super().data(index, role)
