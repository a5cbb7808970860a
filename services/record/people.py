"""The responder directory: who can be given a role, and how to reach them."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from models.entities import Person
from services.changes import Topic
from services.errors import NotFound, ValidationError
from services.record.views import PersonView

_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_timezone(tz: str) -> str:
    tz = (tz or "UTC").strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder of zones: IsADirectoryError
        raise ValidationError(
            f"Unknown time zone '{tz}'. Use an IANA name such as Europe/Berlin or America/New_York.",
            field="timezone",
        ) from None
    return tz


def timezone_names() -> list[str]:
    return sorted(available_timezones())


def validate_person(
    name: str, handle: str, email: str | None, phone: str | None, timezone: str
) -> tuple[str, str, str | None, str | None, str]:
    """The cleaned fields of a responder, or a ValidationError naming the bad one. Also used by imports."""
    name = (name or "").strip()
    handle = (handle or "").strip().lstrip("@")
    if not name:
        raise ValidationError("A responder needs a name.", field="name")
    if len(name) > 200:
        raise ValidationError("Keep a responder's name under 200 characters.", field="name")
    if not _HANDLE.match(handle):
        raise ValidationError(
            "A handle is letters, digits, dots, dashes or underscores (e.g. 'ana.ruiz').", field="handle"
        )
    email = (email or "").strip() or None
    if email and not _EMAIL.match(email):
        raise ValidationError(f"'{email}' does not look like an e-mail address.", field="email")
    phone = (phone or "").strip() or None
    if phone and not re.fullmatch(r"[+0-9 ()./-]{3,40}", phone):
        raise ValidationError(f"'{phone}' does not look like a phone number.", field="phone")
    return name, handle, email, phone, check_timezone(timezone)


class PeopleService:
    def __init__(self, store, publish) -> None:
        self._store = store
        self._publish = publish

    def _validate(self, name: str, handle: str, email: str | None, phone: str | None, timezone: str):
        return validate_person(name, handle, email, phone, timezone)

    def add(self, name: str, handle: str, *, email=None, phone=None, timezone: str = "UTC") -> PersonView:
        name, handle, email, phone, timezone = self._validate(name, handle, email, phone, timezone)
        with self._store.transaction() as s:
            if s.scalar(select(Person.id).where(Person.handle == handle)):
                raise ValidationError(f"The handle '{handle}' is taken.", field="handle")
            person = Person(name=name, handle=handle, email=email, phone=phone, timezone=timezone)
            s.add(person)
            s.flush()
            view = PersonView.of(person)
        self._publish(Topic.PEOPLE, None, None)
        return view

    def update(
        self, handle: str, *, name=None, new_handle=None, email=None, phone=None, timezone=None
    ) -> PersonView:
        with self._store.transaction() as s:
            person = self._get(s, handle)
            vals = self._validate(
                name if name is not None else person.name,
                new_handle if new_handle is not None else person.handle,
                email if email is not None else person.email,
                phone if phone is not None else person.phone,
                timezone if timezone is not None else person.timezone,
            )
            if vals[1] != person.handle and s.scalar(select(Person.id).where(Person.handle == vals[1])):
                raise ValidationError(f"The handle '{vals[1]}' is taken.", field="handle")
            person.name, person.handle, person.email, person.phone, person.timezone = vals
            view = PersonView.of(person)
        self._publish(Topic.PEOPLE, None, None)
        return view

    def list(self) -> list[PersonView]:
        with self._store.read() as s:
            return [PersonView.of(p) for p in s.scalars(select(Person).order_by(Person.name))]

    def get(self, handle: str) -> PersonView:
        with self._store.read() as s:
            return PersonView.of(self._get(s, handle))

    @staticmethod
    def _get(session, handle: str) -> Person:
        handle = (handle or "").strip().lstrip("@")
        person = session.scalar(select(Person).where(Person.handle == handle))
        if person is None:
            raise NotFound(
                f"Nobody with the handle '{handle}' is in the responder directory. Add them first."
            )
        return person
