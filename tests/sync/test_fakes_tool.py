"""`python -m tests.fakes`, the hand-trial tool: two of them on one machine must not collide, and the
PagerDuty fake must know the demo's responders (the console looks each holder up by e-mail)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import httpx

from tests.fakes import pagerduty as fpd


def _start(tmp_path, name: str, env: dict) -> tuple[subprocess.Popen, str, dict]:
    control = tmp_path / f"{name}.ctl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "--data-dir", str(tmp_path / name), "--control", str(control)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=os.getcwd(),
    )  # fmt: skip
    first = proc.stdout.readline()
    assert first.startswith("fakes up on "), first + proc.stderr.read()
    ports = ast.literal_eval(first[len("fakes up on ") : first.index("}") + 1])
    return proc, str(control), ports


def _quit(proc: subprocess.Popen, control: str) -> None:
    with open(control, "w", encoding="utf-8") as ctl:
        ctl.write("quit\n")
    assert proc.wait(30) == 0
    proc.stdout.close()
    proc.stderr.close()


def test_two_fake_sets_on_one_machine_get_their_own_ports_and_know_the_demo_people(tmp_path, secret_service):
    one, one_ctl, one_ports = _start(tmp_path, "one", secret_service)
    try:
        two, two_ctl, two_ports = _start(tmp_path, "two", secret_service)
        try:
            assert set(one_ports.values()).isdisjoint(two_ports.values())
            reply = httpx.get(
                f"http://127.0.0.1:{two_ports['pagerduty']}/users",
                params={"query": "ana.ruiz@example.com"},
                headers={"Authorization": f"Token token={fpd.TOKEN}", "Content-Type": "application/json",
                         "Accept": "application/vnd.pagerduty+json;version=2"},
            )  # fmt: skip
            assert reply.status_code == 200, reply.text
            assert [u["name"] for u in reply.json()["users"]] == ["Ana Ruiz"]
        finally:
            _quit(two, two_ctl)
    finally:
        _quit(one, one_ctl)
