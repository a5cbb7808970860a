"""The blameless-language lint of B6: sentences flagged for the author, never a refusal.

Person names in the fault and factor sections; blaming or animated words ("human error", "should
have", "careless"...); counterfactuals ("if X had ..., it would not have ..."); "outage" for a service
that was not fully down; exclamation marks in analysis sections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

BLAME_WORDS = ("human error", "should have", "should've", "careless", "negligent", "negligence", "ridiculous",
               "obviously", "stupid", "incompetent", "lazy", "fault of", "blame")  # fmt: skip
NAME_SECTIONS = frozenset({"fault", "factors"})
ANALYSIS_SECTIONS = frozenset({"fault", "factors", "detection", "response", "recovery", "lessons"})
_COUNTERFACTUAL = re.compile(r"\bif\b[^.?!]*\bhad\b[^.?!]*\bwould(?:n't| not|)\b", re.I)
# A sentence ends at . ! or ? followed by a space or the end (so "4.12" stays whole), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class LintFinding:
    section: str
    sentence: str
    rule: str  # name | blame | counterfactual | outage | exclamation
    message: str


def _sentences(text: str) -> Iterable[str]:
    for part in _SENTENCE_END.split(text or ""):
        s = part.strip(" -*\t")
        if s:
            yield s


def lint_section(section: str, text: str, *, names: Iterable[str] = (), fully_down: bool = True) -> list[LintFinding]:
    found: list[LintFinding] = []
    name_patterns = [re.compile(rf"(?<![\w@]){re.escape(n)}(?!\w)", re.I) for n in names if len(n) >= 3]
    for sentence in _sentences(text):
        low = sentence.lower()
        for word in BLAME_WORDS:
            if word in low:
                found.append(LintFinding(section, sentence, "blame",
                                         f"'{word}' points at a person; say what in the system allowed it."))
        if _COUNTERFACTUAL.search(sentence):
            found.append(LintFinding(section, sentence, "counterfactual",
                                     "A counterfactual ('if ... had ..., it would ...') judges with hindsight; "
                                     "say what people knew then."))
        if section in NAME_SECTIONS:
            for pattern in name_patterns:
                m = pattern.search(sentence)
                if m:
                    found.append(LintFinding(section, sentence, "name",
                                             f"Names a person ('{m.group(0)}') in {section}: name the role or the "
                                             "system instead."))
                    break
        if not fully_down and re.search(r"\boutage\b", low):
            found.append(LintFinding(section, sentence, "outage",
                                     "'Outage' when the service was not fully down: say 'degradation' or give the "
                                     "error rate."))
        if section in ANALYSIS_SECTIONS and "!" in sentence:
            found.append(LintFinding(section, sentence, "exclamation", "An exclamation mark in analysis reads as "
                                                                      "animated; keep it neutral."))
    return found


def lint_texts(texts: dict[str, str], *, names: Iterable[str] = (), fully_down: bool = True) -> list[LintFinding]:
    names = list(names)
    out: list[LintFinding] = []
    for section, text in texts.items():
        out.extend(lint_section(section, text, names=names, fully_down=fully_down))
    return out
