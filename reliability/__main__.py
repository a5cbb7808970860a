"""`python -m reliability [--size small|full] [--only NAME ...] [--keep DIR]`: run the suite, print figures.

Exit status 0 when every scenario holds its bar, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from reliability import faults, fuzz, kills, secrets_grep, sync_kills, tampering
from reliability.common import SIZES, Figure

SCENARIOS = {
    "kills": kills.write_kills,
    "concurrent": kills.concurrent_writers,
    "sync-kills": sync_kills.sync_kills,
    "fuzz": fuzz.fuzz,
    "tampering": tampering.tampering,
    "store-faults": faults.store_faults,
    "secrets": secrets_grep.secrets_grep,
}


def run(size_name: str = "full", only: list[str] | None = None, work: Path | None = None,
        echo=print) -> list[Figure]:  # fmt: skip
    size = SIZES[size_name]
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="sitrep-reliability-")) if own else work
    figures = []
    try:
        load = os.getloadavg()
        echo(f"reliability suite, {size.name} size; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
             f"on {os.cpu_count()} CPUs")  # fmt: skip
        for name, scenario in SCENARIOS.items():
            if only and name not in only:
                continue
            started = time.monotonic()
            fig = scenario(size, work / name)
            fig.seconds = time.monotonic() - started
            figures.append(fig)
            echo(fig.line())
            for note in fig.notes:
                echo(f"    {note}")
            for missed in fig.missed[:20]:
                echo(f"    MISSED: {missed}")
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser("python -m reliability", description=__doc__)
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--only", nargs="*", choices=sorted(SCENARIOS))
    p.add_argument("--keep", metavar="DIR", help="work in DIR and leave it there (to look at the stores)")
    args = p.parse_args(argv)
    work = Path(args.keep) if args.keep else None
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    figures = run(args.size, args.only, work, echo=lambda line: print(line, flush=True))
    held = all(f.holds for f in figures)
    print("ALL HOLD" if held else "SOME DO NOT HOLD")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
