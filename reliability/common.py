"""What the scenarios share: sizes, figures, running the real CLI in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Size:
    name: str
    kills: int  # SIGKILLs of a writer mid-write
    sync_kills: int  # SIGKILLs of `sitrep sync` mid-drain
    writers: int  # concurrent writer processes
    entries_per_writer: int
    fuzz_share: int  # every n-th case of the fuzz corpus (1 = all)


SIZES = {
    "small": Size("small", kills=5, sync_kills=3, writers=4, entries_per_writer=15, fuzz_share=4),
    "full": Size("full", kills=200, sync_kills=20, writers=4, entries_per_writer=150, fuzz_share=1),
}


@dataclass
class Figure:
    scenario: str
    runs: int = 0
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    refused_clearly: int = 0
    internal_errors: int = 0
    caught: int = 0  # tampering found and named / faults answered with their true cause
    missed: list[str] = field(default_factory=list)  # what did not hold, one line each
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def holds(self) -> bool:
        return not self.missed and self.lost == 0 and self.duplicated == 0 and self.internal_errors == 0

    def line(self) -> str:
        parts = [f"runs {self.runs}"]
        for name in ("acknowledged", "lost", "duplicated", "refused_clearly", "internal_errors", "caught"):
            parts.append(f"{name.replace('_', ' ')} {getattr(self, name)}")
        parts.append(f"missed {len(self.missed)}")
        return f"{self.scenario:<22} {'HOLDS' if self.holds else 'FAILS'}  " + ", ".join(parts) + f"  ({self.seconds:.0f} s)"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SITREP_DATA_DIR"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("SITREP_USER", "reliability")
    env.update(extra)
    return env


def sitrep(data: Path, *argv: str, stdin: str | None = None, timeout: float = 120, preexec_fn=None,
           extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """The real `sitrep` command line, in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data), *argv], input=stdin, capture_output=True,
        text=True, env=child_env(**(extra_env or {})), cwd=ROOT, timeout=timeout, preexec_fn=preexec_fn,
    )  # fmt: skip


def internal_error(res: subprocess.CompletedProcess) -> bool:
    return res.returncode == 70 or "Traceback" in res.stderr or "internal error" in res.stderr


def clear_refusal(res: subprocess.CompletedProcess) -> bool:
    """A non-zero exit with a message for a person (`sitrep: error: ...` or argparse's usage line)."""
    if res.returncode in (0, 70) or internal_error(res):
        return False
    # `sitrep: error: ...`, argparse's `sitrep declare: error: ...`, or import-history's own exit codes (10,
    # 11) with `sitrep: import-history: refused|left out: <row>: <why>`.
    return "error:" in res.stderr or "left out:" in res.stderr or "import-history: refused:" in res.stderr
