"""Run one benchmark in a fresh interpreter: `python -m bench.child NAME JSON-ARGS`.

Prints one line `BENCH-RESULT <json>` for the parent (bench/child_run below). Qt benchmarks run this
way so each has its own QApplication, caches and resident-memory figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MARK = "BENCH-RESULT "
ROOT = Path(__file__).resolve().parent.parent

CHILDREN = {
    "open_incident": "bench.qt_views:open_incident",
    "live_append": "bench.qt_views:live_append",
}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("SITREP_DATA_DIR", None)
    # An installed Sitrep has its bytecode cached; without this a sandbox that sets it would have
    # every start recompile the project's sources and blame it on start-up.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("SITREP_USER", "bench")
    return env


def child_run(name: str, args: dict[str, Any], timeout_s: float = 600) -> dict[str, Any]:
    """Run CHILDREN[name](args) in a new interpreter and return its result dict."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.child", name, json.dumps(args)],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(
        f"benchmark child {name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:] or proc.stdout[-4000:]}"
    )


def main(argv: list[str]) -> int:
    name, raw_args = argv[0], argv[1]
    module_name, func_name = CHILDREN[name].split(":")
    import importlib

    func = getattr(importlib.import_module(module_name), func_name)
    res = func(json.loads(raw_args))
    sys.stdout.write(MARK + json.dumps(res) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
