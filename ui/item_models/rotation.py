"""Qt models of the rotation report: one row per person, and the exercise casting."""

from __future__ import annotations

from typing import Any

from services.rotation.goals import ExerciseCasting
from services.rotation.report import PersonRotation
from ui.item_models.rows import RowsModel


class RotationReportModel(RowsModel):
    headers = ("Person", "Zone", "Hours", "Night h", "Longest stretch", "Incidents", "Roles (hours)")
    COL_PERSON, COL_ZONE, COL_HOURS, COL_NIGHT, COL_LONGEST, COL_INCIDENTS, COL_ROLES = range(7)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.role_names: dict[str, str] = {}

    def header_tip(self, section: int) -> str | None:
        return {
            self.COL_NIGHT: "Hours held between 22:00 and 06:00 in the person's own time zone",
            self.COL_LONGEST: "The longest stretch on duty: holdings joined across incidents when the break "
                              "between them was shorter than the rest the rotation rules ask for",
        }.get(section)  # fmt: skip

    def cell(self, row: PersonRotation, column: int) -> tuple[str, Any]:
        longest = row.longest.length.total_seconds() / 3600 if row.longest else 0.0
        return {
            self.COL_PERSON: (row.person.name, row.person.name.lower()),
            self.COL_ZONE: (row.person.timezone, row.person.timezone),
            self.COL_HOURS: (f"{row.hours:.1f}", row.hours),
            self.COL_NIGHT: (f"{row.night_hours:.1f}", row.night_hours),
            self.COL_LONGEST: (f"{longest:.1f} h", longest),
            self.COL_INCIDENTS: (str(row.incidents), row.incidents),
            self.COL_ROLES: (", ".join(f"{self.role_names.get(r.role, r.role)} {r.hours:.1f}" for r in row.roles),
                             len(row.roles)),  # fmt: skip
        }[column]


class CastingModel(RowsModel):
    headers = ("Role", "Played by", "Why")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.role_names: dict[str, str] = {}

    def cell(self, row: ExerciseCasting, column: int) -> tuple[str, Any]:
        if column == 0:
            name = self.role_names.get(row.role, row.role)
            return name, name
        if column == 1:
            who = row.person.name if row.person else "-"
            return who, who
        return row.why, row.why
