"""Table models of the self-assessment: the areas with their maturity and trend, the practices with their
answer, and the evidence behind one practice."""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor

from services.assurance.assessment import MET, NOT_APPLICABLE, AreaResult, PracticeResult
from ui.item_models.rows import RowsModel

MET_COLOUR = QBrush(QColor("#1b5e20"))
MISSED_COLOUR = QBrush(QColor("#b3261e"))


class AreasModel(RowsModel):
    headers = ("Area", "Maturity", "Score", "Met", "Missed", "Since last")

    def cell(self, row: AreaResult, column: int):
        score = "-" if row.score is None else f"{row.score * 100:.0f}%"
        return (
            (row.name, row.name),
            (f"{row.level} {row.level_name}", row.level),
            (score, row.score if row.score is not None else -1.0),
            (str(row.met), row.met),
            (str(row.missed), row.missed),
            (row.trend, row.score or 0.0),
        )[column]


class PracticesModel(RowsModel):
    headers = ("Status", "Practice", "Answered", "What the record or the answer shows", "Reference")

    def cell(self, row: PracticeResult, column: int):
        status = row.status + (f" (was {row.previous_status})" if row.previous_status not in (None, row.status) else "")
        how = "record" if row.answer == "record" else (f"by {row.answered_by}" if row.answered_by else "by hand")
        return (
            (status, (row.status != MET, row.status)),
            (row.id, row.id),
            (how, how),
            (row.summary, row.summary),
            (row.ref, row.ref),
        )[column]

    def foreground(self, row: PracticeResult, column: int):
        if column != 0 or row.status == NOT_APPLICABLE:
            return None
        return MET_COLOUR if row.status == MET else MISSED_COLOUR


class EvidenceModel(RowsModel):
    headers = ("", "Record", "What it shows")

    def cell(self, row: dict, column: int):
        return (("✓" if row["ok"] else "✗", row["ok"]), (row["ref"], row["ref"]), (row["note"], row["note"]))[column]

    def foreground(self, row: dict, column: int):
        return (MET_COLOUR if row["ok"] else MISSED_COLOUR) if column == 0 else None
