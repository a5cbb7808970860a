"""The secrets grep: credentials go into the OS keyring through the real command line, are used against
the loopback fakes (including a refused one, so error paths run), and every file Sitrep leaves behind
(the store and its WAL, backups, logs, settings, an export) is searched for them, raw and as the
Basic-auth form Jira's header carries.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from reliability.common import Figure, Size, internal_error, sitrep
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd


def _private_keyring(home: Path) -> tuple[dict[str, str], subprocess.Popen] | None:
    """A Secret Service on a private D-Bus session (dbus-daemon + gnome-keyring-daemon), never the user's."""
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        return None
    runtime = home / "run"
    runtime.mkdir(mode=0o700, parents=True)
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache")}  # fmt: skip
    full = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"} | env
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=full, text=True)  # fmt: skip
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
    unlock = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"], input="reliability",
                            env=full | env, capture_output=True, text=True, timeout=30)  # fmt: skip
    if unlock.returncode != 0:
        bus.terminate()
        bus.wait(10)
        return None
    return env, bus


def secrets_grep(size: Size, work: Path) -> Figure:
    fig = Figure("secrets grep")
    work.mkdir(parents=True, exist_ok=True)
    keyring = _private_keyring(Path(tempfile.mkdtemp(prefix="keyring-", dir=work)))
    if keyring is None:
        fig.notes.append("skipped: no dbus-daemon / gnome-keyring-daemon to hold the credentials")
        return fig
    env, bus = keyring
    pd, jira = fpd.FakePagerDuty().start(), fj.FakeJira().start()
    data = work / "data"
    try:
        def run(*argv: str, stdin: str | None = None):
            res = sitrep(data, *argv, stdin=stdin, extra_env=env)
            fig.runs += 1
            if internal_error(res):
                fig.internal_errors += 1
                fig.missed.append(f"`sitrep {' '.join(argv)}`: internal error: {res.stderr.strip()[-200:]}")
            return res

        run("backend", "set", "pagerduty", "--enable", "--url", pd.url, "--set", f"from_email={fpd.BOT_EMAIL}",
            "--set", "service_id=PSVC001", "--token-from-stdin", stdin="pd-wrong-token-9999\n")  # fmt: skip
        run("backend", "set", "jira", "--enable", "--url", jira.url, "--set", f"email={fj.EMAIL}",
            "--set", f"project_key={fj.PROJECT}", "--set", "max_requests_per_s=0", "--token-from-stdin",
            stdin=fj.TOKEN + "\n")  # fmt: skip
        run("declare", "Checkout: payments failing", "-s", "SEV1")
        run("log", "INC-0001", "/decision roll back because it matches the deploy")
        refused = run("sync", "--wait", "2")  # PagerDuty refuses the wrong token: the error paths run
        if refused.returncode != 7:
            fig.missed.append(f"a refused credential: `sitrep sync` exit {refused.returncode}, not 7: {refused.stderr[-300:]}")
        run("backend", "set", "pagerduty", "--token-from-stdin", stdin=fpd.TOKEN + "\n")
        synced = run("sync", "--wait", "10")
        if synced.returncode != 0:
            fig.missed.append(f"`sitrep sync` with good credentials: exit {synced.returncode}: {synced.stderr[-300:]}")
        run("backup")
        run("export", "-o", str(data / "export.json"))
        run("doctor", "--json")
        secrets = {"the PagerDuty token": fpd.TOKEN, "the refused PagerDuty token": "pd-wrong-token-9999",
                   "the Jira token": fj.TOKEN,
                   "Jira's Basic header": base64.b64encode(f"{fj.EMAIL}:{fj.TOKEN}".encode()).decode()}  # fmt: skip
        files = [p for p in data.rglob("*") if p.is_file()]
        for path in files:
            blob = path.read_bytes()
            for name, secret in secrets.items():
                if secret.encode() in blob:
                    fig.missed.append(f"{name} is in {path.relative_to(data)}")
        fig.notes.append(f"{len(files)} files searched ({sum(p.stat().st_size for p in files):,} bytes) for "
                         f"{len(secrets)} credentials: {len(fig.missed)} found")  # fmt: skip
        fig.caught = len(files)
    finally:
        pd.stop()
        jira.stop()
        bus.terminate()
        bus.wait(10)
        bus.stdout.close()
    return fig
