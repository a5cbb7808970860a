"""The review meeting's invitation: an RFC 5545 calendar object (written with `icalendar`, never by
hand) with B6's agenda, and the e-mail that carries it through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from models.enums import EntryKind
from models.types import as_utc
from services.errors import NotFound, ValidationError
from services.record.timeline import append_entry
from services.text.timetext import utc_text

if TYPE_CHECKING:  # the service is built on this class; only its row type is named here
    from services.review.service import ReviewView

ATTENDANCE = ("present", "apologies", "absent")

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


class ReviewMeetings:
    """The meeting half of ReviewService (schedule, invitation, attendance), kept here with the
    invitation it writes. Relies on the service's get, _change, _incidents, _roles, _people,
    _timeline, _store, _now and _publish."""

    def schedule(self, ref: str, at: datetime, attendees: list[str], *, minutes: int = 30,
                 author: str) -> ReviewView:  # fmt: skip
        at = as_utc(at)
        if not 10 <= minutes <= 240:
            raise ValidationError("A review meeting lasts between 10 and 240 minutes.", field="minutes")
        if not attendees:
            raise ValidationError("Invite at least one person.", field="attendees")
        inc = self._incidents.get(ref)
        roles_of: dict[str, list[str]] = {}
        for h in self._roles.history(inc.id):
            roles_of.setdefault(h.person.handle, [])
            if h.role not in roles_of[h.person.handle]:
                roles_of[h.person.handle].append(h.role)
        people = []
        for handle in dict.fromkeys(a.lstrip("@") for a in attendees):
            p = self._people.get(handle)
            people.append({"handle": p.handle, "name": p.name, "email": p.email, "timezone": p.timezone,
                           "role": ", ".join(roles_of.get(p.handle, [])) or None, "attendance": None})  # fmt: skip

        def mutate(row, now):
            return {"meeting_at": at, "meeting_minutes": minutes, "attendees": people}

        return self._change(ref, author, f"Review meeting scheduled for {utc_text(at)} with "
                            f"{', '.join(p['name'] for p in people)}",
                            {"action": "schedule", "at": at.isoformat(), "attendees": [p["handle"] for p in people]},
                            mutate)  # fmt: skip

    def invitation(self, ref: str, *, organizer: tuple[str, str], sequence: int = 0) -> bytes:
        review = self.get(ref)
        if review.meeting_at is None:
            raise ValidationError(f"Schedule the review meeting of {review.incident_key} first.")
        inc = self._incidents.get(ref)
        return build_invitation(review=review.row, incident_key=inc.key, title=inc.title, organizer=organizer,
                                now=self._now(), sequence=sequence)  # fmt: skip

    def send_invitation(self, ref: str, *, author: str, organizer: tuple[str, str]) -> int:
        """Record the invitation on the timeline; the e-mail channel (when on) is owed it through the
        outbox in the same transaction. Returns how many recipients it names."""
        review = self.get(ref)
        sent_before = sum(1 for e in self._timeline.entries(review.incident_id)
                          if "invitation" in (e.data or {}))  # fmt: skip
        ics = self.invitation(ref, organizer=organizer, sequence=sent_before)
        inc = self._incidents.get(ref)
        mail = invitation_mail(review=review.row, incident_key=inc.key, title=inc.title, ics=ics)
        if not mail["to"]:
            raise ValidationError("None of the invited people has an e-mail address in the directory.")
        now = self._now()
        with self._store.transaction() as s:
            append_entry(s, review.incident_id, EntryKind.SYSTEM,
                         f"Review meeting invitation sent to {', '.join(mail['to'])}", author=author, now=now,
                         data={"invitation": mail}, hooks=self._store.entry_hooks)  # fmt: skip
        self._publish("timeline", review.incident_id, None)
        return len(mail["to"])

    def attend(self, ref: str, handle: str, attendance: str, *, author: str) -> ReviewView:
        if attendance not in ATTENDANCE:
            raise ValidationError(f"Attendance is one of: {', '.join(ATTENDANCE)}.", field="attendance")
        handle = handle.lstrip("@")
        review = self.get(ref)
        if not any(p["handle"] == handle for p in review.row.get("attendees") or []):
            raise NotFound(f"@{handle} is not invited to the review meeting of {review.incident_key}.",
                           field="handle")  # fmt: skip

        def mutate(row, now):
            people = [dict(p, attendance=attendance) if p["handle"] == handle else p for p in row["attendees"]]
            values: dict[str, Any] = {"attendees": people}
            if row["meeting_held_at"] is None and attendance == "present":
                values["meeting_held_at"] = now
            return values

        return self._change(ref, author, f"Review meeting: @{handle} {attendance}",
                            {"action": "attend", "handle": handle, "attendance": attendance}, mutate)  # fmt: skip
