"""What an incident still owes when its commander is about to resolve it.

Resolving is the commander's call and is never refused for these; but a SEV1 resolved with the next
customer update overdue, a draft nobody approved, checklist items open and a review the severity
matrix requires is an incident closed with work forgotten. The console and the CLI say each of them
first, and the console asks for a reason to go on.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.enums import MessageState
from services.comms.settings import format_duration
from services.review.policy import TRIGGER_LABELS


@dataclass(frozen=True)
class Owed:
    kind: str  # update | message | regulatory | review | checklist | resolution_checklist | flag
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
    for reg in sitrep.comms.regulatory_clocks(inc.id):
        if reg.state.value in ("running", "awaiting"):
            out.append(Owed("regulatory", f"{reg.label}: {reg.status_text(now)} — resolving does not stop it."))
    # The review's triggers are data (resources/review.toml); resolving opens the review they select.
    policy = sitrep.reviews.policy
    why = policy.triggers(inc, sitrep.timeline.entries(inc.id), resolved_at=now)
    review = sitrep.catalog.severity(inc.severity).postmortem
    if why and sitrep.reviews.find(inc.id) is None:
        labels = ", ".join(TRIGGER_LABELS.get(t, t) for t in why)
        out.append(Owed("review", f"Resolving opens its post-incident review ({labels}): the meeting is due within "
                                  f"{policy.meeting_within_hours} h, publication within "
                                  f"{policy.publish_within_business_days} business days."))  # fmt: skip
    elif review and review.lower().startswith("required") and sitrep.reviews.find(inc.id) is None:
        out.append(Owed("review", f"{inc.severity} requires a post-incident review: {review}. Schedule it."))
    # One line for every role's checklists (the role board has the items): it must not hide the rest.
    open_by_role = []
    for holder in sitrep.roles.holders(inc.id):
        role = sitrep.catalog.role(holder.role)
        done = set(holder.checklist_done)
        left = sum(1 for i in range(len(role.checklist)) if i not in done)
        if left:
            open_by_role.append(f"{role.name} {left}/{len(role.checklist)}")
    # Resolution checklists do more than warn: their open required items refuse Resolved unless the
    # commander overrides with a reason (services/resolution/checklists.py); the same items are named here.
    blocking = sitrep.checklists.open_required(inc.id)
    if blocking:
        out.append(Owed("resolution_checklist", "Open checklist items block Resolved (the incident commander may override "
                                     "with the reason): " + "; ".join(f"{c}: {i}" for c, i in blocking) + "."))  # fmt: skip
    # A kill switch is meant to be temporary: a flag left off (or still queued to go off) is offered back.
    for switch in sitrep.flags.left_off(inc.id):
        how = f"`sitrep flag on {switch.flag} --incident {inc.key} --environment {switch.environment}`"
        state = "is still queued to be switched off" if switch.state == "queued" else "was switched off"
        out.append(Owed("flag", f"Feature flag {switch.flag} in {switch.environment} {state} during the incident: "
                                f"switch it on again (Feature flags… or {how}), or record why it stays off."))  # fmt: skip
    if open_by_role:
        out.append(Owed("checklist", "Checklist items still open (see the role board): " + ", ".join(open_by_role) + "."))
    return out
