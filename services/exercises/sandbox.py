"""The recording sandbox: in an exercise store every backend is its own adapter class with the
network taken out.

The adapters still plan what each change owes each backend (the same outbox items, the same payloads
a real incident would produce), so the sync queue shows exactly what would have been sent. Sending
records the item as sent without a request; pulls find nothing; connection tests, on-call reads and
component lists say that nothing leaves the machine in an exercise. It sits behind the adapter seam:
no vendor is named here, and a plugin adapter gets the same treatment.
"""

from __future__ import annotations

from typing import Any

from services.adapters.discovery import Discovered
from services.adapters.failures import PermanentFailure
from services.adapters.interface import Adapter, AlertSource, ComponentSource, OnCallSource
from services.adapters.values import PullContext, PullResult, SendContext, SendResult

SANDBOX_NOTE = "exercise: recorded, not sent"
# Requests that get past the overrides (an adapter method added later) go nowhere: a closed port on
# this machine, never a name that would be looked up in DNS.
NOWHERE = "http://127.0.0.1:9"


class ExerciseSandbox(PermanentFailure):
    def __init__(self, label: str) -> None:
        super().__init__(f"Exercise: nothing is sent to {label} or read from it; this store is a tabletop exercise.")


class _Recording:
    """Mixed in before a real adapter class: its planning stays, its network goes."""

    exercise_sandbox = True

    def base_url(self) -> str:
        return NOWHERE

    def setting(self, key: str) -> Any:
        # Every incident here is an exercise; a real one would have been sent, so record what it would be.
        if key == "include_exercises":
            return True
        return super().setting(key)  # type: ignore[misc]

    def send(self, ctx: SendContext) -> SendResult:
        return SendResult(remote_ref=f"exercise-{ctx.item.id}", note=SANDBOX_NOTE)

    def pull(self, ctx: PullContext) -> PullResult:
        return PullResult()

    def test_connection(self, http) -> str:
        raise ExerciseSandbox(self.label)  # type: ignore[attr-defined]



def _refuse(self, *args: Any, **kw: Any):
    raise ExerciseSandbox(self.label)


# Reads a person asks for, by the ability that offers them: replaced only where the real class
# declares that ability.
_REFUSED_READS = ((OnCallSource, "on_call"), (ComponentSource, "components"), (AlertSource, "fetch_alerts"))


def sandboxed(cls: type[Adapter]) -> type[Adapter]:
    body: dict[str, Any] = {"__doc__": f"{cls.label}, recorded (exercise)"}
    body.update({name: _refuse for ability, name in _REFUSED_READS if issubclass(cls, ability)})
    return type(f"Exercise{cls.__name__}", (_Recording, cls), body)


def sandbox_adapters(found: Discovered) -> Discovered:
    return Discovered({name: sandboxed(cls) for name, cls in found.adapters.items()}, list(found.problems))


def would_have_sent(item) -> str:
    """One line for the sandbox log: which backend, what, and its main text."""
    p = item.payload or {}
    text = p.get("title") or p.get("subject") or p.get("text") or p.get("body") or p.get("summary") or ""
    if isinstance(text, dict):
        text = ""
    text = str(text).replace("\n", " ")
    if len(text) > 140:
        text = text[:139] + "…"
    return f"would have sent to {item.backend}: {item.op}" + (f" — {text}" if text else "")
