"""Ansible through ansible-runner: the built-in orchestrator for runbook steps.

ansible-runner is imported on first use, so Sitrep starts (and says what is missing) without it. Secrets go to
the playbook as environment variables (`lookup('env', 'SITREP_SECRET_<NAME>')`) with env files suppressed,
so they reach neither the runbook, the private data folder nor the command line, and are masked in the
output streamed to the console.
"""

from __future__ import annotations

import difflib
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

from services.adapters.automation import (
    CANCELED,
    NOT_RUN,
    SUCCESSFUL,
    AutomationJob,
    HostSummary,
    JobControl,
    JobOutcome,
)
from services.adapters.failures import PermanentFailure
from services.adapters.interface import Adapter, RunsAutomation, SettingField
from services.adapters.values import ChangeToPlan, Planned, SendContext, SendResult

_MASK = "********"
_STATS = (("ok", "ok"), ("changed", "changed"), ("failures", "failed"), ("dark", "unreachable"),
          ("skipped", "skipped"))  # fmt: skip


def secret_variable(name: str) -> str:
    return "SITREP_SECRET_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def inventory_text(inventory: str) -> str:
    """A comma list of hosts as an INI inventory; `localhost` runs here, with this interpreter."""
    lines = []
    for host in (h.strip() for h in inventory.split(",")):
        if not host:
            continue
        if host in ("localhost", "127.0.0.1"):
            lines.append(f"{host} ansible_connection=local ansible_python_interpreter={sys.executable}")
        else:
            lines.append(host)
    return "\n".join(lines) + "\n"


class AnsibleAdapter(RunsAutomation, Adapter):
    name: ClassVar[str] = "ansible"
    label: ClassVar[str] = "Ansible"
    fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("forks", "Hosts at a time", "int", 5),
    )

    # An orchestrator is owed nothing for timeline entries: it acts only when a runbook step asks.
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        return []

    def send(self, ctx: SendContext) -> SendResult:
        raise PermanentFailure("Ansible takes no outbox items; it runs runbook steps.")

    def test_connection(self, http) -> str:
        runner = self._runner_module()
        return f"ansible-runner {getattr(runner, '__version__', '')} found".replace("  ", " ")

    @staticmethod
    def _runner_module():
        try:
            return importlib.import_module("ansible_runner")
        except ImportError:
            raise PermanentFailure(
                "ansible-runner is not installed: `pip install 'sitrep[runbooks]'` (or ansible-runner and "
                "ansible-core) to run automated runbook steps."
            ) from None

    def run_job(self, job: AutomationJob, control: JobControl) -> JobOutcome:
        try:
            runner_module = self._runner_module()
        except PermanentFailure as exc:
            return JobOutcome(NOT_RUN, None, message=str(exc))
        if not job.playbook.is_file():
            return JobOutcome(NOT_RUN, None, message=f"the playbook {job.playbook} does not exist")
        secret_values = [v for v in job.secrets.values() if v]

        def masked(text: str) -> str:
            for value in secret_values:
                text = text.replace(value, _MASK)
            return text

        diffs: list[str] = []

        def on_event(event: dict) -> bool:
            text = event.get("stdout") or ""
            if text:
                control.on_output(masked(text) + "\n")
            data = event.get("event_data") or {}
            res = data.get("res")
            if isinstance(res, dict) and res.get("diff"):
                rendered = render_diff(res["diff"], data.get("host", ""), data.get("task", ""))
                if rendered:
                    diffs.append(masked(rendered))
            return True

        bin_dir = str(Path(sys.executable).parent)
        env = {secret_variable(k): v for k, v in job.secrets.items()}
        env["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        env["ANSIBLE_NOCOLOR"] = "1"
        env["PYTHONWARNINGS"] = "ignore"  # a library's deprecation notice is not the step's output
        env["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
        cmdline = "--check --diff" if job.check else "--diff"
        private = Path(tempfile.mkdtemp(prefix="sitrep-ansible-"))
        try:
            inventory = job.inventory
            if not Path(inventory).is_file():
                inventory_file = private / "inventory"
                inventory_file.write_text(inventory_text(inventory))
                inventory = str(inventory_file)
            runner = runner_module.run(
                private_data_dir=str(private),
                project_dir=str(job.playbook.resolve().parent),
                playbook=str(job.playbook.resolve()),
                inventory=inventory,
                limit=job.limit or None,
                extravars=dict(job.extra_vars),
                envvars=env,
                cmdline=cmdline,
                forks=int(self.setting("forks") or 5),
                timeout=job.timeout_s,
                event_handler=on_event,
                cancel_callback=control.cancel.is_set,
                suppress_env_files=True,
                quiet=True,
            )
            hosts = _host_summaries(runner.stats or {})
            status = CANCELED if control.cancel.is_set() and runner.status != SUCCESSFUL else runner.status
            message = "" if status == SUCCESSFUL else _last_failure(runner, masked)
            return JobOutcome(status, runner.rc, hosts, "".join(diffs), message)
        except Exception as exc:  # noqa: BLE001 — whatever ansible-runner raises, the step records it
            return JobOutcome(NOT_RUN, None, message=masked(f"ansible-runner could not run it: {exc}"))
        finally:
            shutil.rmtree(private, ignore_errors=True)


def render_diff(diff, host: str, task: str) -> str:
    """Ansible's structured diff (before/after texts, or a prepared patch) as a unified diff."""
    parts = diff if isinstance(diff, list) else [diff]
    out = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("prepared"):
            out.append(str(part["prepared"]))
            continue
        before, after = part.get("before", ""), part.get("after", "")
        if not isinstance(before, str) or not isinstance(after, str) or before == after:
            continue
        out.extend(difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=str(part.get("before_header") or "before"), tofile=str(part.get("after_header") or "after"),
        ))  # fmt: skip
    if not out:
        return ""
    body = "".join(line if line.endswith("\n") else line + "\n" for line in out)
    return f"# {host}: {task}\n{body}"


def _host_summaries(stats: dict) -> tuple[HostSummary, ...]:
    names = sorted({host for key, _ in _STATS for host in (stats.get(key) or {})})
    return tuple(
        HostSummary(host, **{field: int((stats.get(key) or {}).get(host, 0)) for key, field in _STATS})
        for host in names
    )


def _last_failure(runner, masked) -> str:
    for event in reversed(list(runner.events or [])):
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            res = (event.get("event_data") or {}).get("res") or {}
            return masked(str(res.get("msg") or "a task failed"))[:500]
    return ""
