"""Qt item models for communications: messages, per-channel deliveries, the stakeholder log.

Each holds plain rows (service views), never ORM objects; `set_rows` replaces them in one reset.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor

from ui.item_models.rows import RowsModel

_STATE_COLOURS = {
    "pending_approval": "#b26a00",
    "approved": "#1f7a1f",
    "rejected": "#b00020",
    "sent": "#555555",
    "failed": "#b00020",
    "queued": "#b26a00",
    "sending": "#b26a00",
    "not queued": "#b00020",
}


class MessagesModel(RowsModel):
    headers = ("#", "State", "Template", "Audience", "Subject")

    def cell(self, m, column: int):
        if column == 0:
            return str(m.number), m.number
        if column == 1:
            text = m.state.label + (
                " (needs approval)" if m.needs_approval and m.state.value == "draft" else ""
            )
            return text, m.state.value
        if column == 2:
            return m.template_name, m.template_name
        if column == 3:
            return m.audience, m.audience
        return m.subject, m.subject

    def foreground(self, m, column: int):
        colour = _STATE_COLOURS.get(m.state.value)
        return QBrush(QColor(colour)) if colour and column == 1 else None


def _when(value) -> str:
    return "" if value is None else value.astimezone().strftime("%H:%M:%S")


class DeliveriesModel(RowsModel):
    headers = ("Channel", "Delivery", "Attempts", "Last change", "Reason")

    def cell(self, d, column: int):
        if column == 0:
            return d.label, d.channel
        if column == 1:
            return d.state, d.state
        if column == 2:
            return str(d.attempts), d.attempts
        if column == 3:
            return _when(d.updated_at), d.updated_at.timestamp() if d.updated_at else 0.0
        return d.last_error or "", d.last_error or ""

    def foreground(self, d, column: int):
        colour = _STATE_COLOURS.get(d.state) if d.state != "sent" else "#1f7a1f"
        return QBrush(QColor(colour)) if colour and column == 1 else None


class LogModel(RowsModel):
    headers = (
        "Time",
        "Incident",
        "Kind",
        "Channel",
        "Audience",
        "Recipients",
        "Content",
        "Author",
        "Approved by",
        "Delivery",
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.keys: dict[str, str] = {}
        self.delivery: dict[str, str] = {}

    def set_log(self, rows, keys: dict[str, str], delivery: dict[str, str]) -> None:
        self.beginResetModel()
        self.rows, self.keys, self.delivery = list(rows), dict(keys), dict(delivery)
        self.endResetModel()

    def cell(self, r, column: int):
        if column == 0:
            return r.occurred_at.astimezone().strftime("%Y-%m-%d %H:%M"), r.occurred_at.timestamp()
        if column == 1:
            key = self.keys.get(r.incident_id, "")
            return f"{key} #{r.seq}", (key, r.seq)
        if column == 2:
            return f"{r.kind} ({r.direction})", r.kind
        if column == 3:
            return r.channel, r.channel
        if column == 4:
            return r.audience, r.audience
        if column == 5:
            text = ", ".join(r.recipients)
            return text, text
        if column == 6:
            text = (r.subject + ": " if r.subject else "") + " ".join(r.content.split())
            return text[:300], text
        if column == 7:
            return r.author, r.author
        if column == 8:
            return r.approver or "", r.approver or ""
        text = self.delivery.get(r.id, "")
        return text, text
