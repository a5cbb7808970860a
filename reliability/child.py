"""Child processes the scenarios kill: `python -m reliability.child writer|syncer DATA ...`.

A writer logs entries (and now and then changes the severity) and prints each one only after its
commit returned: a printed line is an acknowledged write, which no SIGKILL may lose. A syncer drains the
sync queue against the loopback fakes, again and again, until nothing is owed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.core import Sitrep
from services.errors import InvalidTransition, StoreError
from services.storage.secrets import MemorySecrets


def _open(data: Path, **kw) -> Sitrep:
    return Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", backups_dir=data / "backups", config_dir=data / "config", **kw)


def writer(data: Path, tag: str, incident: str, count: int) -> int:
    app = _open(data)
    try:
        inc = app.incidents.get(incident)
        severities = ("SEV2", "SEV3")
        for i in range(count):
            body = f"{tag}-{i}"
            try:
                if i % 9 == 8:
                    current = app.incidents.get(inc.id).severity
                    app.incidents.set_severity(inc.id, severities[current == "SEV2"], author=tag, reason=body)
                    print(f"severity {body}", flush=True)
                else:
                    app.timeline.log(inc.id, body, author=tag)
                    print(f"entry {body}", flush=True)
            except InvalidTransition:  # another writer moved it first: nothing to write
                print(f"skipped {body}", flush=True)
            except StoreError as err:
                print(f"refused {body} {err.message}", flush=True)
        return 0
    finally:
        app.close()


def syncer(data: Path) -> int:
    # Credentials come in the environment, not on the command line (which `ps` shows to everyone).
    pairs = dict(pair.split("=", 1) for pair in os.environ["RELIABILITY_SECRETS"].split())
    store = MemorySecrets({tuple(k.split(".", 1)): v for k, v in pairs.items()})
    app = _open(data, sync_options={"secrets": store, "worker_options": {"backoff_base": 0.02, "backoff_cap": 0.2}})
    try:
        for _ in range(50):
            report = app.sync.drain_once(max_wait_s=5)
            print(f"drained sent={report.sent} failed={report.failed} left={report.left_pending}", flush=True)
            if report.left_pending == 0:
                return 0
        return 1
    finally:
        app.close()


if __name__ == "__main__":
    what, data = sys.argv[1], Path(sys.argv[2])
    if what == "writer":
        sys.exit(writer(data, sys.argv[3], sys.argv[4], int(sys.argv[5])))
    sys.exit(syncer(data))
