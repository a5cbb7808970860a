"""`sitrep sync` killed with SIGKILL mid-drain while PagerDuty and Jira take their time to answer.

Each note and comment is created at once but answered only after a while, so a kill usually lands after
the backend did the work and before Sitrep heard of it: the item is left "may have been delivered". The
next drain must find it by reading back what the backend holds (the note or comment, by its trailer),
never send it twice, and never ask a person.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from models.enums import OutboxState
from reliability.common import ROOT, Figure, Size, child_env
from services.adapters.jira import adf_text
from services.core import Sitrep
from services.record.remote_anchor import anchors_in
from services.storage.secrets import MemorySecrets
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd

SECRETS = {("pagerduty", "api_token"): fpd.TOKEN, ("jira", "api_token"): fj.TOKEN}
ANSWER_DELAY_S = 0.3


def _open(data: Path) -> Sitrep:
    return Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", backups_dir=data / "backups", config_dir=data / "config",
                       sync_options={"secrets": MemorySecrets(dict(SECRETS))})  # fmt: skip


def _syncer(data: Path) -> subprocess.Popen:
    secrets = " ".join(f"{b}.{n}={v}" for (b, n), v in SECRETS.items())
    return subprocess.Popen([sys.executable, "-m", "reliability.child", "syncer", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(RELIABILITY_SECRETS=secrets), cwd=ROOT)  # fmt: skip


def _decide(data: Path, incident: str, n: int, start: int) -> None:
    app = _open(data)
    try:
        for i in range(start, start + n):
            app.timeline.log(incident, f"Decision {i}: shift traffic", author="ic", kind="decision",
                             rationale=f"step {i} of the plan")  # fmt: skip
    finally:
        app.close()


def sync_kills(size: Size, work: Path) -> Figure:
    fig = Figure("kill -9 mid-drain")
    data = work / "sync"
    data.mkdir(parents=True)
    pd, jira = fpd.FakePagerDuty().start(), fj.FakeJira().start()
    try:
        app = _open(data)
        try:
            base = {"enabled": True, "timeout_s": 10.0, "max_requests_per_s": 0}
            app.sync.configure("pagerduty", {**base, "url": pd.url, "events_url": pd.url + "/v2",
                                             "from_email": fpd.BOT_EMAIL, "service_id": "PSVC001"})  # fmt: skip
            app.sync.configure("jira", {**base, "url": jira.url, "email": fj.EMAIL, "project_key": fj.PROJECT})
            incident = app.incidents.declare("Checkout: payments failing", "SEV1", author="ic").id
        finally:
            app.close()
        for fake, path in ((pd, r"/notes$"), (jira, r"/comment$")):
            fake.add_fault(kind="timeout", delay=ANSWER_DELAY_S, after_effect=True, method="POST", path=path,
                           count=10**6)  # fmt: skip
        decided = 0
        rng = random.Random(7)
        for _run in range(size.sync_kills):
            _decide(data, incident, 4, decided)
            decided += 4
            before = len(pd.requests) + len(jira.requests)
            proc = _syncer(data)
            deadline = time.monotonic() + 60
            while len(pd.requests) + len(jira.requests) == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 2 * ANSWER_DELAY_S))
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            if "Traceback" in err:
                fig.internal_errors += 1
                fig.missed.append(err.strip().splitlines()[-1])
            fig.runs += 1
        for fake in (pd, jira):
            with fake.lock:
                fake.faults.clear()
        proc = _syncer(data)
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            fig.missed.append(f"the last sync (not killed) ended with {proc.returncode}: {(out + err).strip()[-300:]}")
        app = _open(data)
        try:
            items = app.sync.items(limit=100_000)
            entries = {e.seq: e for e in app.timeline.entries(incident) if e.kind == "decision"}
        finally:
            app.close()
        pd_notes = [n["content"] for notes in pd.notes.values() for n in notes]
        jira_comments = [adf_text(c["body"]) for cs in jira.comments.values() for c in cs]
        fig.acknowledged = len(entries)
        for label, texts in (("PagerDuty", pd_notes), ("Jira", jira_comments)):
            seen = Counter(seq for t in texts for seq, _ in anchors_in(t))
            fig.duplicated += sum(n - 1 for n in seen.values() if n > 1)
            missing = [seq for seq in entries if seen[seq] == 0]
            fig.lost += len(missing)
            if missing:
                fig.missed.append(f"{label} never received entries {missing[:10]}")
        decisions = [i for i in items if i.state == OutboxState.FAILED.value]
        for item in decisions:
            fig.missed.append(f"manual decision needed: #{item.id} {item.backend} {item.op}: {item.last_error}")
        checked = sum(1 for i in items if i.attempts > 1)
        fig.notes.append(f"{decided} decisions -> {len(pd_notes)} PagerDuty notes, {len(jira_comments)} Jira comments; "
                         f"{checked} item(s) tried more than once (looked up before resending); "
                         f"manual decisions {len(decisions)}")  # fmt: skip
        fig.notes.append("fake violations: " + json.dumps({"pagerduty": len(pd.violations), "jira": len(jira.violations)}))
    finally:
        pd.stop()
        jira.stop()
    return fig
