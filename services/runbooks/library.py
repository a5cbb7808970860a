"""Where runbooks live: the folders the user names (plus the shipped examples), and which text was followed.

When a folder is a git work tree, each use records the commit and the file's blob hash, so the record says
exactly which text was followed; a file that differs from its committed blob is still used, and marked.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from services.runbooks.document import Problem, Runbook, read_runbook

SHIPPED_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "runbooks"
UNCOMMITTED = "uncommitted changes"
UNTRACKED = "not in git"
_GIT_TIMEOUT_S = 10


@dataclass(frozen=True)
class Provenance:
    """Which text of a runbook was followed."""

    blob: str  # git's hash of the file as read now (also for files outside git: the same object hash)
    commit: str | None  # HEAD of the work tree, None outside git
    state: str  # "committed", UNCOMMITTED or UNTRACKED

    @property
    def short(self) -> str:
        if self.commit is None:
            return f"blob {self.blob[:10]} ({self.state})"
        marker = "" if self.state == "committed" else f" ({self.state})"
        return f"commit {self.commit[:10]}, blob {self.blob[:10]}{marker}"

    def as_data(self) -> dict:
        return {"commit": self.commit, "blob": self.blob, "state": self.state}


@dataclass(frozen=True)
class Listed:
    """A file found in a runbook folder: the runbook, or why it is not one."""

    path: Path
    runbook: Runbook | None
    problems: tuple[Problem, ...]


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _blob_hash(data: bytes) -> str:
    # git's object hash, computed here so a file outside any work tree still gets one.
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def provenance(path: Path) -> Provenance:
    path = path.resolve()
    blob = _blob_hash(path.read_bytes())
    folder = path.parent
    if _git(folder, "rev-parse", "--is-inside-work-tree") != "true":
        return Provenance(blob, None, UNTRACKED)
    commit = _git(folder, "rev-parse", "HEAD")
    committed_blob = _git(folder, "rev-parse", f"HEAD:./{path.name}")
    if commit is None or committed_blob is None:
        return Provenance(blob, commit, UNTRACKED)
    return Provenance(blob, commit, "committed" if committed_blob == blob else UNCOMMITTED)


class RunbookLibrary:
    """The runbooks in the named folders, read afresh on each call (the files are edited beside Sitrep)."""

    def __init__(self, folders: list[Path], include_shipped: bool = True):
        self.folders = [Path(f) for f in folders]
        if include_shipped and SHIPPED_FOLDER not in self.folders:
            self.folders.append(SHIPPED_FOLDER)

    def files(self) -> list[Path]:
        found: list[Path] = []
        for folder in self.folders:
            if folder.is_dir():
                found.extend(sorted(p for p in folder.glob("*.md") if p.name.lower() != "readme.md"))
        return found

    def listing(self) -> list[Listed]:
        out = []
        for path in self.files():
            runbook, problems = read_runbook(path)
            out.append(Listed(path, runbook, tuple(problems)))
        return out

    def runbooks(self) -> list[Runbook]:
        return [item.runbook for item in self.listing() if item.runbook is not None]

    def find(self, name: str) -> Runbook | None:
        """By slug (file name without .md), title, or path."""
        as_path = Path(name)
        if as_path.suffix == ".md" and as_path.is_file():
            runbook, _ = read_runbook(as_path)
            return runbook
        for runbook in self.runbooks():
            if name in (runbook.slug, runbook.title):
                return runbook
        return None

    def suggestions(self, services: list[str], incident_type: str | None) -> list[Runbook]:
        """Runbooks for any of the incident's services and its type; exact service matches first."""
        matching = [
            rb for rb in self.runbooks()
            if any(rb.applies_to(s, incident_type) for s in (services or [None]))
        ]  # fmt: skip
        return sorted(matching, key=lambda rb: ("any" in rb.services, rb.title.lower()))
