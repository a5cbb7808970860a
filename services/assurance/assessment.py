"""The self-assessment: every practice answered, from the record (services/assurance/measures.py) or by a
person, scored per area into a maturity level, stored, and compared with the assessment before it.

Kept as files in the data folder's `assessments/`, not in the database: an assessment is a dated document
about the organisation (like an exercise's `exercise.json` or an incident archive), not part of any
incident's record, so no export or merge of incidents should carry it, and its history is a list of
documents a person can copy to an auditor. `answers.jsonl` is append-only (one JSON line per answer, who
and when; the newest answer to a practice counts, earlier ones stay as its history); each run is one
`assessment-<UTC time>.json`, written to a side file and renamed, so a crash never leaves half of one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from services.assurance.measures import MEASURES, Evidence, RecordWindow
from services.assurance.practices import HAND, RECORD, PracticeBook, load_practices
from services.errors import ValidationError
from services.storage.store import read_only_message
from services.text.limits import BODY_MAX as NOTE_MAX

FOLDER = "assessments"
ANSWERS = "answers.jsonl"
MET, PARTLY, MISSED, NO_EVIDENCE, UNANSWERED, NOT_APPLICABLE = (
    "met", "partly", "missed", "no evidence", "not answered", "not applicable")  # fmt: skip
HAND_STATUSES = (MET, PARTLY, MISSED, NOT_APPLICABLE)
_SCORE = {MET: 1.0, PARTLY: 0.5, MISSED: 0.0, NO_EVIDENCE: 0.0, UNANSWERED: 0.0}


@dataclass(frozen=True)
class HandAnswer:
    practice: str
    status: str
    evidence: str
    answered_by: str
    answered_at: str  # ISO UTC


@dataclass(frozen=True)
class PracticeResult:
    id: str
    area: str
    ref: str
    text: str
    answer: str  # record | hand
    status: str
    summary: str  # what the record shows, or the person's evidence note
    value: float | None = None
    target: float | None = None
    evidence: tuple[dict[str, Any], ...] = ()  # {ref, ok, note}
    answered_by: str | None = None
    answered_at: str | None = None
    previous_status: str | None = None  # in the assessment before this one


@dataclass(frozen=True)
class AreaResult:
    id: str
    name: str
    score: float | None  # None: every practice not applicable
    level: int
    level_name: str
    met: int
    missed: int
    previous_score: float | None = None
    previous_level: int | None = None

    @property
    def trend(self) -> str:
        if self.previous_score is None or self.score is None:
            return "first assessment" if self.previous_score is None else "-"
        delta = self.score - self.previous_score
        if abs(delta) < 0.005:
            return "no change"
        return f"{'up' if delta > 0 else 'down'} {abs(delta) * 100:.0f} points"


@dataclass(frozen=True)
class Assessment:
    taken_at: str  # ISO UTC
    taken_by: str
    period_from: str
    period_to: str
    source: str  # which practices file
    areas: tuple[AreaResult, ...]
    practices: tuple[PracticeResult, ...]
    previous_taken_at: str | None = None
    file: str | None = field(default=None, compare=False)

    def met(self) -> list[PracticeResult]:
        return [p for p in self.practices if p.status == MET]

    def missed(self) -> list[PracticeResult]:
        return [p for p in self.practices if p.status in (MISSED, NO_EVIDENCE, PARTLY, UNANSWERED)]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("file", None)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any], file: str | None = None) -> Assessment:
        areas = tuple(AreaResult(**a) for a in doc["areas"])
        practices = tuple(PracticeResult(**(p | {"evidence": tuple(p.get("evidence") or ())})) for p in doc["practices"])
        keep = {k: doc[k] for k in ("taken_at", "taken_by", "period_from", "period_to", "source", "previous_taken_at")
                if k in doc}  # fmt: skip
        return cls(areas=areas, practices=practices, file=file, **keep)


def _evidence(items: tuple[Evidence, ...]) -> tuple[dict[str, Any], ...]:
    return tuple({"ref": e.ref, "ok": e.ok, "note": e.note} for e in items)


class AssessmentService:
    """`data_dir` is the data folder (None: nothing is stored, exercise folders are not looked at)."""

    def __init__(self, sitrep, data_dir: Path | None, config_dir: Path | None) -> None:
        self.sitrep = sitrep
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.config_dir = config_dir
        self.book: PracticeBook = load_practices(config_dir)

    @property
    def folder(self) -> Path | None:
        return self.data_dir / FOLDER if self.data_dir is not None else None

    # -- answers by hand ------------------------------------------------------------------------
    def hand_answers(self) -> dict[str, HandAnswer]:
        """The newest answer to each practice."""
        return {a.practice: a for a in self.answer_history()}

    def answer_history(self) -> list[HandAnswer]:
        path = self.folder / ANSWERS if self.folder else None
        if path is None or not path.is_file():
            return []
        out = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValidationError(f"Cannot read {path}: {exc.strerror}.") from None
        for line in lines:
            try:
                out.append(HandAnswer(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a torn last line from a crash: the answers before it stand
        return out

    def _writable(self) -> None:
        """A read-only store's data folder is left as it is (an archive opened to look at, a copy on a share)."""
        if self.sitrep.store.read_only:
            raise ValidationError(read_only_message(self.sitrep.store.read_only_asked))
        if self.folder is None:
            raise ValidationError("This store has no data folder to keep assessments in.")

    def answer(self, practice_id: str, status: str, evidence: str, *, author: str) -> HandAnswer:
        self._writable()
        practice = self.book.practice(practice_id)
        if practice.answer != HAND:
            raise ValidationError(f"{practice.id} is answered from the record; it cannot be answered by hand.",
                                  field="practice")  # fmt: skip
        status = (status or "").strip().lower().replace("_", " ").replace("n/a", NOT_APPLICABLE)
        if status not in HAND_STATUSES:
            raise ValidationError(f"Answer one of: {', '.join(HAND_STATUSES)}.", field="status")
        evidence = (evidence or "").strip()
        if not evidence:
            raise ValidationError("Say what shows it (a document, a meeting, a link): the evidence note is empty.",
                                  field="evidence")  # fmt: skip
        if len(evidence) > NOTE_MAX:
            raise ValidationError(f"The evidence note is longer than {NOTE_MAX} characters.", field="evidence")
        row = HandAnswer(practice.id, status, evidence, author, self.sitrep.now().isoformat())
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # One write of one line with O_APPEND: two people answering at once each land whole.
            fd = os.open(self.folder / ANSWERS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (json.dumps(asdict(row), ensure_ascii=False) + "\n").encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise ValidationError(f"Cannot record the answer in {self.folder}: {exc.strerror}.") from None
        return row

    # -- running ----------------------------------------------------------------------------------
    def evaluate(self, *, author: str) -> Assessment:
        """Every practice answered now, compared with the newest stored assessment; nothing is stored."""
        now = self.sitrep.now()
        since = now - timedelta(days=self.book.period_days)
        window = RecordWindow(self.sitrep, self.data_dir, self.config_dir, now, since)
        previous = self.latest()
        before = {p.id: p.status for p in previous.practices} if previous else {}
        answers = self.hand_answers()
        results = []
        for p in self.book.practices:
            if p.answer == RECORD:
                finding = MEASURES[p.measure](window, p.params)
                if finding.value is None:
                    status = NO_EVIDENCE
                else:
                    status = MET if finding.value + 1e-9 >= (p.target or 0) else MISSED
                results.append(PracticeResult(p.id, p.area, p.ref, p.text, RECORD, status, finding.summary,
                                              finding.value, p.target, _evidence(finding.evidence),
                                              previous_status=before.get(p.id)))  # fmt: skip
            else:
                a = answers.get(p.id)
                results.append(PracticeResult(p.id, p.area, p.ref, p.text, HAND, a.status if a else UNANSWERED,
                                              a.evidence if a else "nobody has answered it yet", None, None, (),
                                              a.answered_by if a else None, a.answered_at if a else None,
                                              before.get(p.id)))  # fmt: skip
        prev_areas = {a.id: a for a in previous.areas} if previous else {}
        areas = []
        for area in self.book.areas:
            mine = [r for r in results if r.area == area.id and r.status != NOT_APPLICABLE]
            score = sum(_SCORE[r.status] for r in mine) / len(mine) if mine else None
            level = self.book.level_for(score or 0.0)
            old = prev_areas.get(area.id)
            areas.append(AreaResult(area.id, area.name, score, level.level, level.name,
                                    sum(r.status == MET for r in mine), sum(r.status != MET for r in mine),
                                    old.score if old else None, old.level if old else None))  # fmt: skip
        return Assessment(now.isoformat(), author, since.isoformat(), now.isoformat(), self.book.source,
                          tuple(areas), tuple(results), previous.taken_at if previous else None)  # fmt: skip

    def run(self, *, author: str) -> Assessment:
        """Evaluate and store: the assessment the next one compares with."""
        self._writable()
        result = self.evaluate(author=author)
        stamp = datetime.fromisoformat(result.taken_at).strftime("%Y%m%dT%H%M%SZ")
        path = self.folder / f"assessment-{stamp}.json"
        tmp = path.with_name(path.name + ".part")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(result.as_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise ValidationError(f"Cannot store the assessment in {self.folder}: {exc.strerror}.") from None
        return Assessment.from_dict(result.as_dict(), str(path))

    # -- stored -------------------------------------------------------------------------------------
    def stored(self) -> list[Assessment]:
        """Every stored assessment, oldest first; a file that cannot be read is skipped (it is not ours)."""
        if self.folder is None or not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.glob("assessment-*.json")):
            try:
                out.append(Assessment.from_dict(json.loads(path.read_text(encoding="utf-8")), str(path)))
            except (OSError, ValueError, TypeError, KeyError):
                continue
        return out

    def latest(self) -> Assessment | None:
        stored = self.stored()
        return stored[-1] if stored else None
