"""How fast the sync worker drains its outbox to a loopback fake, against the fake's own ceiling.

The ceiling is the same fake answering the same request (POST a note to a PagerDuty incident) from a
tight httpx loop on one keep-alive connection: no database, no outbox, nothing but HTTP and the fake's
own spec validation. The drain does everything for real: claim a batch in a durable transaction
(SQLite WAL, synchronous=FULL) before any of its requests goes out, send each item, then record the
batch's answers (sent, remote ids, links) in one commit.

The machine this runs on may be shared, so the ceiling is measured before and after the drain (the
ratio uses their mean; a wide gap between them means the figures are noisy), and CPU time per item
is reported for both sides: measured side and fake. `cpu_model_ratio` = (ceiling client + fake CPU)
/ (drain client + fake CPU) per item is what the ratio would be with the fake and the client each on
an otherwise idle core, which is steadier than wall time under load.

    PYTHONPATH=. python -m bench.sync_bench [scale]     # scale 1.0 = 10,000 items
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


class _Meter:
    """Wall time, this process's CPU and the fake process's CPU over a stretch of work."""

    def __init__(self, fake_pid: int) -> None:
        self.fake_pid = fake_pid

    def _fake_cpu(self) -> float:
        import os

        fields = Path(f"/proc/{self.fake_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> _Meter:
        self._t, self._c, self._f = time.perf_counter(), time.process_time(), self._fake_cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._t
        self.cpu = time.process_time() - self._c
        self.fake_cpu = self._fake_cpu() - self._f


def _ceiling(fake, incident_id: str, n: int) -> _Meter:
    import httpx

    from tests.fakes import pagerduty as fpd

    headers = {"Authorization": f"Token token={fpd.TOKEN}", "Accept": fpd.ACCEPT,
               "Content-Type": "application/json", "From": fpd.BOT_EMAIL}  # fmt: skip
    with httpx.Client(base_url=fake.url, headers=headers) as client, _Meter(fake.proc.pid) as meter:
        for i in range(n):
            r = client.post(
                f"/incidents/{incident_id}/notes", json={"note": {"content": f"ceiling note {i}"}}
            )
            r.raise_for_status()
    return meter


class _FakeProcess:
    """The fake in its own process, so its spec validation does not compete with the measured side
    for one interpreter's GIL (it would, in-process, for both the ceiling and the drain)."""

    def __init__(self) -> None:
        import os
        import subprocess

        root = Path(__file__).resolve().parents[1]
        code = ("import sys; from tests.fakes.pagerduty import FakePagerDuty; f = FakePagerDuty().start(); "
                "print(f.port, flush=True); sys.stdin.read(); f.stop(); print(len(f.violations), flush=True)")  # fmt: skip
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p),
        }
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=root, env=env)  # fmt: skip
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"
        self.violations = -1

    def stop(self) -> None:
        self.proc.stdin.close()
        self.violations = int(self.proc.stdout.readline() or -1)
        self.proc.wait(10)
        self.proc.stdout.close()

    def get(self, path: str):
        import httpx

        from tests.fakes import pagerduty as fpd

        headers = {
            "Authorization": f"Token token={fpd.TOKEN}",
            "Accept": fpd.ACCEPT,
            "Content-Type": "application/json",
        }
        return httpx.get(self.url + path, headers=headers).json()


def run_sync_benchmarks(scale: float = 1.0) -> list[dict]:
    from services.core import Sitrep
    from services.storage.secrets import MemorySecrets
    from tests.fakes import pagerduty as fpd

    n = max(50, int(10_000 * scale))
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="sitrep-sync-bench-") as tmp:
        data = Path(tmp)
        fake = _FakeProcess()
        try:
            app = Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", config_dir=data / "config",
                              sync_options={"secrets": MemorySecrets({("pagerduty", "api_token"): fpd.TOKEN})})  # fmt: skip
            try:
                app.sync.configure("pagerduty", {"enabled": True, "url": fake.url, "from_email": fpd.BOT_EMAIL,
                                                 "service_id": "PSVC001", "max_requests_per_s": 0})  # fmt: skip
                inc = app.incidents.declare("Bench incident", "SEV3", author="bench")
                app.sync.drain_once()
                (remote,) = [i["id"] for i in fake.get("/incidents")["incidents"]]
                t0 = time.perf_counter()
                for i in range(n):
                    app.timeline.log(
                        inc.id, f"decision {i}", author="bench", kind="decision", rationale="bench"
                    )
                enqueue_s = time.perf_counter() - t0
                before = _ceiling(fake, remote, n // 2)
                worker = app.sync.make_worker()
                try:
                    with _Meter(fake.proc.pid) as drain:
                        report = worker.drain()
                finally:
                    worker.close()
                after = _ceiling(fake, remote, n - n // 2)
                assert report.sent == n and report.left_pending == 0, report
                notes = fake.get(f"/incidents/{remote}/notes")["notes"]
                assert len(notes) == 2 * n, "every note once (plus the ceiling's own)"
                drained = n / drain.wall
                ceilings = [before_n / m.wall for before_n, m in ((n // 2, before), (n - n // 2, after))]
                ceiling = sum(ceilings) / 2
                ms = lambda seconds: round(seconds / n * 1000, 3)  # noqa: E731
                ceiling_client, ceiling_fake = (
                    ms(before.cpu + after.cpu),
                    ms(before.fake_cpu + after.fake_cpu),
                )
                results.append({"name": "sync_drain_pagerduty_notes", "items": n, "seconds": round(drain.wall, 3),
                                "items_per_s": round(drained, 1), "ceiling_per_s": round(ceiling, 1),
                                "ceiling_before_after": [round(c, 1) for c in ceilings],
                                "ratio_of_ceiling": round(drained / ceiling, 3),
                                "cpu_ms_per_item": {"drain": ms(drain.cpu), "drain_fake": ms(drain.fake_cpu),
                                                    "ceiling": ceiling_client, "ceiling_fake": ceiling_fake},
                                "cpu_model_ratio": round((ceiling_client + ceiling_fake)
                                                         / (ms(drain.cpu) + ms(drain.fake_cpu)), 3)})  # fmt: skip
                results.append({"name": "timeline_log_with_outbox_item", "items": n, "seconds": round(enqueue_s, 3),
                                "items_per_s": round(n / enqueue_s, 1)})  # fmt: skip
            finally:
                app.close()
        finally:
            fake.stop()
    assert fake.violations == 0, f"the fake saw {fake.violations} request(s) that break the spec"
    return results


if __name__ == "__main__":
    for row in run_sync_benchmarks(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(row)
