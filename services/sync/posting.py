"""Updates a person sends to named backends, and related items linked there: both are timeline entries
whose data asks the backends for it, refused with nothing logged when a named backend would not take it."""

from __future__ import annotations

from typing import Any

from services.adapters.interface import LinksRelated, Posts
from services.errors import ValidationError
from services.sync.status import SKIPS_EXERCISES


def post_to_backends(
    sitrep, incident: str, text: str, targets: list[str], *, author: str, notify: bool = True,
    about_seq: int | None = None,
):  # fmt: skip
    """Log an update meant for the named backends and queue it for them: what `sitrep sync post`
    and the console's "Send to…" both do. It is a comms entry whose data names the backends, so each
    one sends it as its own kind of update (a PagerDuty status update, a Jira comment, a Statuspage
    incident update). `about_seq` records which entry it repeats, when it repeats one.

    Refused, with nothing logged, when a named backend would not receive it (unknown, not enabled or
    not fully set up, or set to skip exercises and this is one)."""
    sync = sitrep.sync
    names = list(dict.fromkeys(t.strip() for t in targets if t and t.strip()))
    if not names:
        raise ValidationError("Choose at least one backend to send it to.", field="to")
    inc = sitrep.incidents.get(incident)
    for name in names:
        cls = sync.adapter_class(name)
        if not issubclass(cls, Posts):
            raise ValidationError(
                f"{cls.label} does not take posted updates (it carries messages released from Communications). "
                "Nothing was logged.",
                field="to",
            )
        _refuse_unless_ready(sync, name, inc, field="to")
    data: dict[str, Any] = {"sync": names}
    if not notify:
        data["notify"] = False
    if about_seq is not None:
        data["about_seq"] = about_seq
    return sitrep.timeline.log(inc.id, text, author=author, kind="comms", data=data)


def link_related(sitrep, incident: str, backend: str, ref: str, *, author: str, why: str | None = None):
    """Link a related item in a backend (a Jira issue) to the incident's own counterpart there.

    Logs a note saying so (the record of who linked what, when) whose data asks that backend for the
    link; the outbox sends it when the backend is reachable. Refused, with nothing logged, when the
    backend does not link related items, is not set up, or `ref` cannot name one of its items."""
    sync = sitrep.sync
    cls = sync.adapter_class(backend)
    if not issubclass(cls, LinksRelated):
        raise ValidationError(f"{cls.label} does not link related items.", field="backend")
    ready = sync.readiness(backend)
    if not ready.ready:
        raise ValidationError(_not_ready(ready, backend), field="backend")
    ref = (ref or "").strip().upper()
    problem = cls(sync.settings.backend(backend), sync.secrets).related_ref_problem(ref)
    if problem:
        raise ValidationError(problem + " Nothing was logged.", field="ref")
    inc = sitrep.incidents.get(incident)
    _refuse_unless_ready(sync, backend, inc, field="backend")
    body = f"Related {cls.related_label} {ref} linked" + (f": {why.strip()}" if (why or "").strip() else ".")
    data = {"sync": False, "sync_link": {backend: ref}}
    return sitrep.timeline.log(inc.id, body, author=author, kind="note", data=data)


def _refuse_unless_ready(sync, backend: str, inc, *, field: str) -> None:
    ready = sync.readiness(backend, exercise=inc.is_exercise)
    if ready.state == SKIPS_EXERCISES:
        raise ValidationError(
            f"{inc.key} is an exercise and {ready.label} is set not to receive exercises. Nothing was logged.",
            field=field,
        )
    if not ready.ready:
        raise ValidationError(_not_ready(ready, backend), field=field)


def _not_ready(ready, backend: str) -> str:
    return (f"{ready.label} is not set up to send (enable it and fill in its settings: Tools ▸ Backends… in the "
            f"console, or `sitrep backend show {backend}`). Nothing was logged.")  # fmt: skip
