"""Triage decision trees as data (resources/triage/*.toml, reference B5): load them, report a broken
file by name and line, and walk one answer at a time."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.detection.metadata import RESOURCES

VERDICTS = ("incident", "ticket", "noise")


@dataclass(frozen=True)
class Answer:
    label: str
    next: str | None = None
    end: str | None = None
    verdict: str | None = None
    propose_severity: str | None = None
    do: str | None = None


@dataclass(frozen=True)
class Node:
    id: str
    ask: str | None
    do: str | None
    answers: tuple[Answer, ...]
    next: str | None


@dataclass(frozen=True)
class Tree:
    id: str
    title: str
    start: str
    nodes: dict[str, Node]
    path: Path


@dataclass
class TreeLoad:
    trees: dict[str, Tree] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return 1


def parse_tree(path: Path, known_severities: set[str] | None = None) -> Tree:
    """One tree file; a ValueError names the file and line of the first problem."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ValueError(f"{path.name}, line {line.group(1) if line else '?'}: {exc}") from None

    def fail(msg: str, near: str) -> ValueError:
        return ValueError(f"{path.name}, line {_line_of(text, near)}: {msg}")

    nodes: dict[str, Node] = {}
    for raw in data.get("nodes") or []:
        node_id = str(raw.get("id") or "")
        if not node_id:
            raise fail("a node has no id", "[[nodes]]")
        answers = []
        for a in raw.get("answers") or []:
            unknown = set(a) - {"label", "next", "end", "verdict", "propose_severity", "do"}
            if unknown:
                raise fail(f"node {node_id}: unknown answer key(s) {', '.join(sorted(unknown))}", f'"{a.get("label", "")}')
            if not a.get("label") or bool(a.get("next")) == bool(a.get("end")):
                raise fail(f"node {node_id}: each answer needs a label and exactly one of next or end",
                           f'id = "{node_id}"')  # fmt: skip
            if a.get("end") and a.get("verdict") not in VERDICTS:
                raise fail(f"node {node_id}: an ending answer needs verdict = one of {', '.join(VERDICTS)}",
                           a["end"][:30])  # fmt: skip
            sev = a.get("propose_severity")
            if sev and known_severities and sev not in known_severities:
                raise fail(f"node {node_id}: unknown severity '{sev}'", f'"{sev}"')
            answers.append(Answer(a["label"], a.get("next"), a.get("end"), a.get("verdict"), sev, a.get("do")))
        if raw.get("ask") and not answers:
            raise fail(f"node {node_id} asks a question but offers no answers", f'id = "{node_id}"')
        if not raw.get("ask") and not raw.get("next"):
            raise fail(f"node {node_id} neither asks nor moves on (give ask+answers or do+next)", f'id = "{node_id}"')
        nodes[node_id] = Node(node_id, raw.get("ask"), raw.get("do"), tuple(answers), raw.get("next"))
    start = data.get("start") or next(iter(nodes), None)
    if not start or start not in nodes:
        raise fail(f"start node '{start}' is not defined", "start")
    for node in nodes.values():
        for target in [node.next] + [a.next for a in node.answers]:
            if target and target not in nodes:
                raise fail(f"node {node.id} goes to '{target}', which is not defined", f'"{target}"')
    return Tree(str(data.get("id") or path.stem), str(data.get("title") or path.stem), start, nodes, path)


def load_trees(config_dir: Path | None = None, known_severities: set[str] | None = None) -> TreeLoad:
    """Built-in trees, then the config folder's `triage/` (same id replaces). A broken file is listed."""
    load = TreeLoad()
    folders = [RESOURCES / "triage"] + ([config_dir / "triage"] if config_dir else [])
    for folder in folders:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                tree = parse_tree(path, known_severities)
            except (OSError, ValueError) as exc:
                load.problems.append(str(exc))
                continue
            load.trees[tree.id] = tree
    return load


@dataclass
class Walk:
    """One walk in progress: the node it stands on, the path so far, the outcome once it ends."""

    tree: Tree
    node_id: str
    path: list[dict[str, Any]] = field(default_factory=list)
    outcome: Answer | None = None

    @classmethod
    def start(cls, tree: Tree) -> Walk:
        walk = cls(tree, tree.start)
        walk._pass_actions()
        return walk

    @property
    def node(self) -> Node:
        return self.tree.nodes[self.node_id]

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def _pass_actions(self) -> None:
        """Nodes that only do something are recorded and passed through to the next question."""
        seen = 0
        while not self.node.ask and self.node.next and seen < len(self.tree.nodes):
            self.path.append({"node": self.node_id, "do": self.node.do})
            self.node_id = self.node.next
            seen += 1

    def answer(self, index: int) -> None:
        if self.done:
            raise ValueError("The walk has ended.")
        node = self.node
        if not 0 <= index < len(node.answers):
            raise ValueError(f"Node {node.id} has answers 1-{len(node.answers)}.")
        chosen = node.answers[index]
        self.path.append({"node": node.id, "ask": node.ask, "answer": chosen.label,
                          **({"do": chosen.do} if chosen.do else {})})  # fmt: skip
        if chosen.end:
            self.outcome = chosen
            return
        self.node_id = chosen.next or node.id
        self._pass_actions()

    def back(self) -> None:
        """Undo the last answer (and the action nodes passed after it)."""
        while self.path:
            step = self.path.pop()
            self.node_id = step["node"]
            if "answer" in step:
                self.outcome = None
                return
