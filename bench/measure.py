"""Measuring a subject against its floor: interleaved rounds, medians, spread, targets, and the machine.

A benchmark result is a plain dict (it goes to JSON as is). The keys every result has:

    name        stable id, e.g. "append_entry" (what `--only` matches)
    title       one line for the table
    subject     what Sitrep does;  floor: the same work with nothing of Sitrep in it
    subject_ms  median over rounds; floor_ms likewise
    ratio       subject_ms / floor_ms
    spread      (max - min) / median of the subject's per-round values: how much to trust the median
    target      the target in words ("<= 1.5x floor"); met: True / False / None (no target)
    rounds      how many rounds; subject_rounds / floor_rounds: every per-round value, in ms
    extra       anything else worth keeping (memory, cold first run, counts)

Modules from other areas (bench/metrics_bench.py, bench/sync_bench.py) return dicts with at least
name, subject_ms, floor_ms, spread and target; `normalise` fills in what they leave out.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Target:
    """One limit: `value` (what was measured) must be <= (or >=) `limit`."""

    what: str  # "ratio", "ms", "MB", "%"
    value: float
    limit: float
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def words(self) -> str:
        sign = "<=" if self.at_most else ">="
        unit = "x floor" if self.what == "ratio" else f" {self.what}"
        return f"{sign} {self.limit:g}{unit}"


def median_spread(values: list[float]) -> tuple[float, float]:
    """The median and the relative range (max - min) / median of per-round values."""
    if not values:
        return float("nan"), float("nan")
    mid = statistics.median(values)
    return mid, ((max(values) - min(values)) / mid if mid else 0.0)


def interleave(
    subject: Callable[[], float], floor: Callable[[], float], rounds: int
) -> tuple[list[float], list[float]]:
    """Run subject and floor alternately, `rounds` times each; each call returns its own figure (ms).

    The order flips every round, so a drift in the machine (another process, a checkpoint, the page
    cache warming) lands on both sides instead of on whichever always runs second.
    """
    subject_values: list[float] = []
    floor_values: list[float] = []
    for r in range(rounds):
        if r % 2 == 0:
            subject_values.append(subject())
            floor_values.append(floor())
        else:
            floor_values.append(floor())
            subject_values.append(subject())
    return subject_values, floor_values


def result(
    name: str,
    title: str,
    *,
    subject: str,
    floor: str,
    subject_rounds: list[float],
    floor_rounds: list[float],
    targets: list[Target] | None = None,
    ratio_at_most: float | None = None,
    target_text: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A result dict. `targets` are absolute limits; `ratio_at_most` adds a limit on subject/floor."""
    s_mid, s_spread = median_spread(subject_rounds)
    f_mid, f_spread = median_spread(floor_rounds)
    ratio = s_mid / f_mid if f_mid else None
    targets = list(targets or [])
    if ratio_at_most is not None:
        targets.insert(0, Target("ratio", ratio if ratio is not None else float("inf"), ratio_at_most))
    return {
        "name": name,
        "title": title,
        "subject": subject,
        "floor": floor,
        "subject_ms": s_mid,
        "floor_ms": f_mid,
        "ratio": ratio,
        "spread": s_spread,
        "floor_spread": f_spread,
        "target": target_text or ", ".join(t.words for t in targets) or None,
        "targets": [
            {"what": t.what, "value": t.value, "limit": t.limit, "at_most": t.at_most, "met": t.met}
            for t in targets
        ],
        "met": all(t.met for t in targets) if targets else None,
        "rounds": len(subject_rounds),
        "subject_rounds": subject_rounds,
        "floor_rounds": floor_rounds,
        "extra": extra or {},
    }


SYNC_CEILING_SHARE = 0.8  # issue 7: the outbox drains at >= 80% of the fake's own ceiling


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill in what a result from another module may leave out, so the table and JSON are uniform.

    Rates are turned into time per item (subject_ms from items_per_s, floor_ms from ceiling_per_s),
    so a throughput benchmark reads like the others: Sitrep's time against the floor's.
    """
    r = dict(raw)
    if "subject_ms" not in r and isinstance(r.get("items_per_s"), int | float) and r["items_per_s"] > 0:
        r["subject_ms"] = 1000.0 / r["items_per_s"]
        r.setdefault("unit", "per item")
    if "floor_ms" not in r and isinstance(r.get("ceiling_per_s"), int | float) and r["ceiling_per_s"] > 0:
        r["floor_ms"] = 1000.0 / r["ceiling_per_s"]
    share = r.get("ratio_of_ceiling")
    if isinstance(share, int | float) and r.get("target") is None:
        r["target"] = f">= {SYNC_CEILING_SHARE:.0%} of the floor's rate"
        r.setdefault("met", share >= SYNC_CEILING_SHARE)
    r.setdefault("title", r.get("name", "?"))
    r.setdefault("subject", "")
    r.setdefault("floor", "")
    s, f = r.get("subject_ms"), r.get("floor_ms")
    if r.get("ratio") is None and isinstance(s, int | float) and isinstance(f, int | float) and f:
        r["ratio"] = s / f
    r.setdefault("ratio", None)
    r.setdefault("spread", None)
    r.setdefault("target", None)
    r.setdefault("met", None)
    r.setdefault("extra", {})
    return r


# -- the machine -----------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident memory of this process now, in MiB (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    import sqlite3

    import sqlalchemy

    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": sys.version.split()[0],
        "python_impl": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "load_average_at_start": load_average(),
        "qt_platform": os.environ.get("QT_QPA_PLATFORM"),
    }
    try:
        import PySide6
        from PySide6.QtCore import qVersion

        info["pyside6"] = PySide6.__version__
        info["qt"] = qVersion()
    except ImportError:
        info["pyside6"] = info["qt"] = None
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
