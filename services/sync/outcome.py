"""What a sync run left stuck, why, and what to do: the exit code of `sitrep sync` and its words.

Codes (README, "Exit codes"): 0 nothing is stuck; 7 credentials cannot be had (no usable keyring, a
credential missing, or refused with 401/403); 8 a backend could not be reached (its items wait and go
when it answers); 9 items failed or wait for a person's decision (`sitrep sync retry|cancel ID`). When
several apply the most fundamental wins: 7, then 9, then 8 (an unreachable backend may come back by
itself; a decision never makes itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.enums import OutboxState

EXIT_CREDENTIALS = 7
EXIT_UNREACHABLE = 8
EXIT_NEEDS_PERSON = 9

_AUTH_STATUSES = (401, 403)


@dataclass
class SyncOutcome:
    code: int = 0
    stuck: list[str] = field(default_factory=list)  # one line per backend and reason, with what to do

    def add(self, code: int, line: str) -> None:
        self.stuck.append(line)
        rank = {0: 0, EXIT_UNREACHABLE: 1, EXIT_NEEDS_PERSON: 2, EXIT_CREDENTIALS: 3}
        if rank[code] > rank[self.code]:
            self.code = code


def sync_outcome(sync) -> SyncOutcome:
    """Read after a drain: the queue and the lanes as they are now."""
    out = SyncOutcome()
    status = sync.status()
    keyring = sync.secrets.status()
    adapters = sync.make_adapters()
    waiting = {lane.backend: lane.pending + lane.in_flight for lane in status.lanes}
    items = sync.items(states=[OutboxState.PENDING.value, OutboxState.FAILED.value], limit=100_000)
    by_backend: dict[str, list] = {}
    for item in items:
        by_backend.setdefault(item.backend, []).append(item)
    for lane in status.lanes:
        if not lane.enabled:
            continue
        name, label = lane.backend, lane.label
        mine = by_backend.get(name, [])
        pending = [i for i in mine if i.state == OutboxState.PENDING.value]
        failed = [i for i in mine if i.state == OutboxState.FAILED.value]
        adapter = adapters.get(name)
        missing = adapter.missing() if adapter is not None else []
        has_secrets = bool(adapter is not None and adapter.secrets)
        required = {f.name for f in adapter.secrets if f.required} if adapter is not None else set()
        absent = [n for n, present in sync.secret_presence(name).items() if present is False and n in required] \
            if pending and has_secrets and keyring.usable else []  # fmt: skip
        refused = [i for i in pending if i.last_status in _AUTH_STATUSES]
        if pending and missing:
            out.add(EXIT_CREDENTIALS, f"{label}: {len(pending)} item(s) wait for settings: {' '.join(missing)} "
                                      f"(`sitrep backend show {name}`)")  # fmt: skip
        elif pending and has_secrets and not keyring.usable:
            out.add(EXIT_CREDENTIALS, f"{label}: {len(pending)} item(s) wait: no usable OS keyring to read its "
                                      f"credentials ({keyring.reason}). Unlock or install one (`sitrep backend keyring`), "
                                      "then run `sitrep sync` again.")  # fmt: skip
        elif absent:
            out.add(EXIT_CREDENTIALS, f"{label}: {len(pending)} item(s) wait: no {', '.join(absent)} in the keyring. "
                                      f"Store it (`sitrep backend set {name} --secret {absent[0]} --token-from-stdin`), "
                                      "then `sitrep sync`.")  # fmt: skip
        elif refused:
            out.add(EXIT_CREDENTIALS, f"{label}: refused the credentials ({refused[0].last_status}): "
                                      f"{len(pending)} item(s) wait. Store a valid one "
                                      f"(`sitrep backend set {name} --token-from-stdin`), then `sitrep sync`.")  # fmt: skip
        elif pending and not lane.online:
            why = lane.last_error or "no answer"
            out.add(EXIT_UNREACHABLE, f"{label}: could not be reached ({why}); {waiting.get(name, len(pending))} "
                                      "item(s) wait and go, in order, at the next `sitrep sync` once it answers.")  # fmt: skip
        for item in failed:
            what = f"{item.incident_key + ' ' if item.incident_key else ''}#{item.id} {item.op.replace('_', ' ')}"
            out.add(EXIT_NEEDS_PERSON, f"{label}: {what} needs a decision: {item.last_error or 'it failed'} "
                                       f"Then `sitrep sync retry {item.id}` to send it again, or "
                                       f"`sitrep sync cancel {item.id}` to drop it.")  # fmt: skip
    return out
