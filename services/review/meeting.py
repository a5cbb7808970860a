"""The review meeting's invitation: an RFC 5545 calendar object (written with `icalendar`, never by
hand) with B6's agenda, and the e-mail that carries it through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from services.timetext import utc_text

AGENDA = (
    "Confirm the timeline",
    "Key and unusual points",
    "How it could have been caught earlier (tests, canary, alerts)",
    "Customer impact and feedback",
    "Review and prioritise the action items",
    "Process improvements",
)


def agenda_text(incident_key: str, title: str) -> str:
    lines = [f"Post-incident review of {incident_key}: {title}", "", "Agenda (15-30 min, the incident commander "
             "facilitates; blameless: we look at systems and decisions, not at people):"]  # fmt: skip
    lines += [f"{i}. {item}" for i, item in enumerate(AGENDA, 1)]
    lines += ["", f"The draft: sitrep review show {incident_key}"]
    return "\n".join(lines)


def invitation_uid(review_id: str, domain: str) -> str:
    return f"sitrep-review-{review_id}@{domain}"


def build_invitation(*, review: dict[str, Any], incident_key: str, title: str, organizer: tuple[str, str],
                     now: datetime, sequence: int = 0) -> bytes:  # fmt: skip
    """The meeting as an iCalendar REQUEST. `organizer` is (name, e-mail)."""
    at: datetime = review["meeting_at"]
    cal = Calendar()
    cal.add("prodid", "-//Sitrep//Post-incident review//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    ev = Event()
    domain = organizer[1].rpartition("@")[2] or "sitrep.invalid"
    ev.add("uid", invitation_uid(review["id"], domain))
    ev.add("dtstamp", now)
    ev.add("dtstart", at)
    ev.add("dtend", at + timedelta(minutes=int(review.get("meeting_minutes") or 30)))
    ev.add("sequence", sequence)
    ev.add("summary", f"Post-incident review: {incident_key} {title}")
    ev.add("description", agenda_text(incident_key, title))
    org = vCalAddress(f"mailto:{organizer[1]}")
    org.params["cn"] = vText(organizer[0])
    ev["organizer"] = org
    for person in review.get("attendees") or []:
        if not person.get("email"):
            continue
        who = vCalAddress(f"mailto:{person['email']}")
        who.params["cn"] = vText(person["name"])
        who.params["role"] = vText("REQ-PARTICIPANT")
        who.params["partstat"] = vText("NEEDS-ACTION")
        who.params["rsvp"] = vText("TRUE")
        ev.add("attendee", who, encode=0)
    cal.add_component(ev)
    return cal.to_ical()


def local_times(at: datetime, attendees: list[dict[str, Any]]) -> list[str]:
    """Each attendee's own clock for the meeting (shown when scheduling and in the e-mail)."""
    out = []
    for p in attendees:
        try:
            local = at.astimezone(ZoneInfo(p.get("timezone") or "UTC"))
        except (KeyError, ValueError):
            local = at
        out.append(f"{p['name']}: {local:%a %d %b %H:%M} ({p.get('timezone') or 'UTC'})")
    return out


def invitation_mail(*, review: dict[str, Any], incident_key: str, title: str, ics: bytes) -> dict[str, Any]:
    at: datetime = review["meeting_at"]
    people = review.get("attendees") or []
    text = agenda_text(incident_key, title) + "\n\nWhen: " + utc_text(at) + "\n" + "\n".join(
        "  " + line for line in local_times(at, people))
    return {
        "subject": f"Invitation: post-incident review of {incident_key} ({utc_text(at)})",
        "text": text,
        "to": [p["email"] for p in people if p.get("email")],
        "ics": ics.decode("utf-8"),
        "message_ref": f"review:{incident_key}",
    }
