"""The vendor fakes as a standalone process, for trying the console by hand (and for screenshots).

    python -m tests.fakes --data-dir /tmp/try --control /tmp/try/fakes.ctl [--down]

Starts PagerDuty, Jira, Statuspage, Unleash and ServiceNow fakes on free loopback ports (printed; two people on one machine do not
collide), with the demo's responders as PagerDuty users, points the data folder's backends at them and stores their credentials in the OS keyring (a usable keyring is needed, as for the console).
Then reads commands, one per line, from the control FIFO:

    up | down                     every fake comes up / goes down (connection refused)
    note <e-mail> <text>          someone adds a note to the (only or newest) PagerDuty incident
    ack <e-mail>                  someone acknowledges it
    comment <text>                someone comments on the newest Jira issue
    status                        what each fake holds, printed on stdout
    quit
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta

from services.core import Sitrep
from services.demo import PEOPLE
from services.rotation.demo import NEW_PEOPLE as ROTATION_PEOPLE
from services.storage.paths import resolve_paths
from tests.fakes import jira as fj
from tests.fakes import pagerduty as fpd
from tests.fakes import servicenow as fsn
from tests.fakes import statuspage as fsp
from tests.fakes import unleash as ful


def configure(paths, pd, jira, sp, unleash=None, snow=None) -> None:
    app = Sitrep.open(f"sqlite:///{paths.database}", backups_dir=paths.backups, config_dir=paths.config)
    try:
        base = {"enabled": True, "timeout_s": 3.0}
        app.sync.configure("pagerduty", {**base, "url": pd.url, "events_url": pd.url + "/v2",
                                         "from_email": fpd.BOT_EMAIL, "service_id": "PSVC001",
                                         "priority_map": {"SEV1": "P1", "SEV2": "P2", "SEV3": "P3"}})  # fmt: skip
        app.sync.configure("jira", {**base, "url": jira.url, "email": fj.EMAIL, "project_key": fj.PROJECT})
        app.sync.configure("statuspage", {**base, "url": sp.url, "page_id": fsp.PAGE,
                                          "component_map": {"checkout": "cmp0001", "payments": "cmp0002"}})  # fmt: skip
        app.sync.set_secret("pagerduty", "api_token", fpd.TOKEN)
        app.sync.set_secret("jira", "api_token", fj.TOKEN)
        app.sync.set_secret("statuspage", "api_key", fsp.API_KEY)
        if unleash is not None:
            app.sync.configure("unleash", {**base, "url": unleash.url, "project": ful.PROJECT})
            app.sync.set_secret("unleash", "api_token", ful.TOKEN)
        if snow is not None:
            app.sync.configure("servicenow", {**base, "url": snow.url, "username": fsn.USER})
            app.sync.set_secret("servicenow", "password", fsn.PASSWORD)
    finally:
        app.close()


def seed_jira_records(jira: fj.FakeJira) -> None:
    """Change and problem records people keep in Jira, for the problem panel's "Find Jira changes…" and
    "Link Jira problem" (the demo SEV1 started about 95 minutes ago)."""
    ago = lambda hours: (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")  # noqa: E731
    jira.add_made_elsewhere("Change", "settle-eu batch window moved to 07:30 UTC", created=ago(5), status="Done",
                            components=("payments-db-eu",))  # fmt: skip
    jira.add_made_elsewhere("Change", "card-gateway TLS certificate renewed", created=ago(9), status="Done",
                            components=("card-gateway",))  # fmt: skip
    jira.add_made_elsewhere("Problem", "Card authorisation retries without jitter", created=ago(24 * 60),
                            status="In Progress")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--control", required=True, help="a FIFO to read commands from (made if missing)")
    ap.add_argument("--down", action="store_true", help="start with every fake down")
    a = ap.parse_args(argv)
    paths = resolve_paths(a.data_dir)
    paths.create()
    fakes = {"pagerduty": fpd.FakePagerDuty(), "jira": fj.FakeJira(), "statuspage": fsp.FakeStatuspage(),
             "unleash": ful.FakeUnleash(), "servicenow": fsn.FakeServiceNow()}
    for n, person in enumerate(PEOPLE, start=1):
        fakes["pagerduty"].add_user(f"PDEMO{n:03d}", person.name, person.email, person.timezone)
    for n, (name, _handle, timezone, email, _phone) in enumerate(ROTATION_PEOPLE, start=len(PEOPLE) + 1):
        fakes["pagerduty"].add_user(f"PDEMO{n:03d}", name, email, timezone)
    seed_jira_records(fakes["jira"])
    # Each fake binds a free port once; going down and up again keeps it, so the configured URLs stay true.
    for fake in fakes.values():
        fake.start()
    configure(paths, fakes["pagerduty"], fakes["jira"], fakes["statuspage"], fakes["unleash"], fakes["servicenow"])
    up = True
    if a.down:
        for fake in fakes.values():
            fake.stop()
        up = False
    ports = {name: fake.port for name, fake in fakes.items()}
    if not os.path.exists(a.control):
        os.mkfifo(a.control)
    print(f"fakes {'up' if up else 'down'} on {ports}; commands from {a.control}", flush=True)
    pd, jira = fakes["pagerduty"], fakes["jira"]
    while True:
        with open(a.control, encoding="utf-8") as ctl:  # reopened after each writer closes it
            for line in ctl:
                cmd, _, rest = line.strip().partition(" ")
                if cmd == "up" and not up:
                    for fake in fakes.values():
                        fake.restart()
                    up = True
                elif cmd == "down" and up:
                    for fake in fakes.values():
                        fake.stop()
                    up = False
                elif cmd == "note" and pd.incidents:
                    email, _, text = rest.partition(" ")
                    pd.add_note_as(list(pd.incidents)[-1], email, text)
                elif cmd == "ack" and pd.incidents:
                    pd.acknowledge_as(list(pd.incidents)[-1], rest.strip())
                elif cmd == "comment" and jira.issues:
                    jira.add_comment_as(list(jira.issues)[-1], "Dana Lee", rest)
                elif cmd == "status":
                    print(f"pagerduty incidents={len(pd.incidents)} notes={sum(map(len, pd.notes.values()))} "
                          f"status_updates={sum(map(len, pd.status_updates.values()))}; jira issues={len(jira.issues)} "
                          f"comments={sum(map(len, jira.comments.values()))}; statuspage incidents="
                          f"{len(fakes['statuspage'].incidents)}; violations="
                          f"{sum(len(f.violations) for f in fakes.values())}", flush=True)  # fmt: skip
                elif cmd == "quit":
                    for fake in fakes.values():
                        if up:
                            fake.stop()
                    return 0
                elif cmd:
                    print(f"? {line.strip()}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
