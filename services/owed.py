"""What an incident still owes when its commander is about to resolve it.

Resolving is the commander's call and is never refused for these; but a SEV1 resolved with the next
customer update overdue, a draft nobody approved, checklist items open and a review the severity
matrix requires is an incident closed with work forgotten. The console and the CLI say each of them
first, and the console asks for a reason to go on.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.enums import MessageState
from services.comms.service import format_duration


@dataclass(frozen=True)
class Owed:
    kind: str  # update | message | checklist | review
    text: str


def owed_at_resolve(sitrep, incident_ref: str) -> list[Owed]:
    """Each thing still owed, most pressing first (empty: nothing stands in the way)."""
    inc = sitrep.incidents.get(incident_ref)
    now = sitrep.now()
    out: list[Owed] = []
    for clock in sitrep.clocks.clocks(inc):
        if clock.id == "next_update" and clock.state(now) == "breached":
            out.append(Owed("update", f"The next external update is overdue by {format_duration(now - clock.due_at)} "
                                      f"(it was due {clock.due_at.astimezone():%H:%M}): a resolution notice is it."))  # fmt: skip
    waiting = {MessageState.DRAFT: "a draft", MessageState.PENDING_APPROVAL: "waiting for approval",
               MessageState.APPROVED: "approved but not sent"}  # fmt: skip
    for m in sitrep.comms.messages(inc.id):
        if m.state in waiting:
            out.append(Owed("message", f"Message {m.ref} ({m.template_name}) is {waiting[m.state]}."))
    for holder in sitrep.roles.holders(inc.id):
        role = sitrep.catalog.role(holder.role)
        open_items = [item for i, item in enumerate(role.checklist) if i not in set(holder.checklist_done)]
        if open_items:
            out.append(Owed("checklist", f"{role.name} ({holder.person.name}): {len(open_items)} checklist item"
                                         f"{'s' if len(open_items) != 1 else ''} open — {'; '.join(open_items[:3])}"
                                         + ("…" if len(open_items) > 3 else "")))  # fmt: skip
    review = sitrep.catalog.severity(inc.severity).postmortem
    if review and review.lower().startswith("required"):
        out.append(Owed("review", f"{inc.severity} requires a post-incident review: {review}. Schedule it."))
    return out
