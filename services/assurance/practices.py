"""The self-assessment's practices as data (`resources/assessment.toml`, or the config folder's file of the
same name): areas, practices with their framework reference and how each is answered, maturity levels,
and the toolchain review's expectations. A malformed file is refused with the practice and field named."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resources import resource_path
from services.assurance.measures import MEASURES
from services.errors import ValidationError

FILE = "assessment.toml"
RECORD, HAND = "record", "hand"


@dataclass(frozen=True)
class Practice:
    id: str
    area: str
    ref: str  # the framework reference: "CSF 2.0 RS.MA-01; SP 800-61r3 RS.MA-01 C1"
    text: str
    answer: str  # RECORD or HAND
    measure: str | None = None
    target: float | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the measure's own settings (severities, hours...)


@dataclass(frozen=True)
class Area:
    id: str
    name: str


@dataclass(frozen=True)
class MaturityLevel:
    level: int
    name: str
    min_score: float


@dataclass(frozen=True)
class PracticeBook:
    source: str
    period_days: int
    areas: tuple[Area, ...]
    practices: tuple[Practice, ...]
    maturity: tuple[MaturityLevel, ...]  # lowest first
    toolchain: dict[str, Any]

    def practice(self, practice_id: str) -> Practice:
        for p in self.practices:
            if p.id == practice_id:
                return p
        raise ValidationError(f"No practice '{practice_id}'. `sitrep assess run` lists them.", field="practice")

    def level_for(self, score: float) -> MaturityLevel:
        reached = [m for m in self.maturity if score + 1e-9 >= m.min_score]
        return reached[-1] if reached else self.maturity[0]


def load_practices(config_dir: Path | None = None) -> PracticeBook:
    path = Path(config_dir) / FILE if config_dir is not None else None
    if path is not None and path.is_file():
        source = str(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValidationError(f"{path} cannot be read: {exc}") from None
    else:
        source = "built-in assessment.toml"
        doc = tomllib.loads(resource_path(FILE).read_text(encoding="utf-8"))
    return parse_practices(doc, source)


def parse_practices(doc: dict[str, Any], source: str) -> PracticeBook:
    areas = tuple(Area(str(a["id"]), str(a.get("name", a["id"]))) for a in doc.get("area", []) if "id" in a)
    area_ids = {a.id for a in areas}
    practices, seen = [], set()
    for n, raw in enumerate(doc.get("practice", []), 1):
        raw = dict(raw)
        pid = str(raw.pop("id", "") or "")
        where = f"{source}: practice {pid or f'#{n}'}"
        if not pid or pid in seen:
            raise ValidationError(f"{where}: needs an id of its own.")
        seen.add(pid)
        area = str(raw.pop("area", ""))
        if area not in area_ids:
            raise ValidationError(f"{where}: area '{area}' is not one of {', '.join(sorted(area_ids))}.")
        answer = str(raw.pop("answer", HAND))
        measure = raw.pop("measure", None)
        target = raw.pop("target", None)
        if answer not in (RECORD, HAND):
            raise ValidationError(f"{where}: answer is 'record' or 'hand', not '{answer}'.")
        if answer == RECORD and measure not in MEASURES:
            raise ValidationError(f"{where}: measure '{measure}' is not one of {', '.join(sorted(MEASURES))}.")
        if answer == RECORD and not isinstance(target, int | float):
            raise ValidationError(f"{where}: a practice answered from the record needs a numeric target.")
        ref, text = str(raw.pop("ref", "")), str(raw.pop("text", "")).strip()
        if not text:
            raise ValidationError(f"{where}: says nothing (text is empty).")
        practices.append(Practice(pid, area, ref, text, answer, measure, None if target is None else float(target), raw))
    levels = sorted((MaturityLevel(int(m["level"]), str(m["name"]), float(m.get("min_score", 0)))
                     for m in doc.get("maturity", [])), key=lambda m: m.min_score)  # fmt: skip
    if not practices or not levels:
        raise ValidationError(f"{source}: needs at least one practice and one maturity level.")
    return PracticeBook(source, int(doc.get("period_days", 365)), areas, tuple(practices), tuple(levels),
                        dict(doc.get("toolchain") or {}))  # fmt: skip
