"""Who is on call in PagerDuty, as suggestions for an incident's roles. Qt-free.

The adapter reads the roster (services/adapters/pagerduty.py: `on_call`); here each on-call person is
matched to the responder directory by e-mail, ordered by escalation level, and marked with the roles
they already hold in the incident. The last good roster for each set of targets is kept in a small
JSON file in the config folder, so a console that has lost the network still shows who was on call,
with the time it was read. The file holds names, e-mail addresses, time zones, schedule names and
times: nothing secret, and never a credential.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from models.types import as_utc, iso
from services.adapters.failures import AuthFailure, NotConfigured, SyncFailure, TransientFailure
from services.adapters.values import OnCallRoster, OnCallScope, OnCallShift
from services.errors import SitrepError, ValidationError
from services.record.people import check_timezone
from services.record.views import PersonView, RoleHolding
from services.storage.secrets import KeyringUnavailable
from services.sync.json_cache import JsonCache
from services.text.timetext import utc_text

log = logging.getLogger(__name__)

CACHE_FILE = "oncall-cache.json"
CACHE_VERSION = 1
CACHE_KEEP = 20  # sets of targets remembered (one per distinct mix of incident services)
# A person is waiting for the answer: a rate-limited read is retried only when the wait is short.
PATIENCE_ATTEMPTS = 3
PATIENCE_LONGEST_WAIT_S = 10.0

T = TypeVar("T")


class OnCallNotSetUp(ValidationError):
    """PagerDuty is not configured enough to read on-call (settings only; nothing was sent)."""


class OnCallUnavailable(SitrepError):
    """PagerDuty could not be asked and no earlier answer is remembered."""

    exit_code = 8


@dataclass(frozen=True)
class NewResponder:
    """What the directory needs to add an on-call person: a form prefilled, or a `people add`."""

    name: str
    handle: str
    email: str | None
    timezone: str


@dataclass(frozen=True)
class OnCallSuggestion:
    """One on-call person, once, at their lowest escalation level across the policies asked about."""

    name: str
    email: str | None
    time_zone: str | None
    escalation_level: int
    escalation_policy: str
    schedule: str | None  # None: on the policy itself, not through a schedule
    until: datetime | None  # None: does not go off call
    for_services: tuple[str, ...]  # the incident's services this policy covers; empty: the incidents' policy
    person: PersonView | None  # the directory entry with this e-mail, if any
    holds: tuple[str, ...]  # role names (or ids) they already hold in the incident
    also: tuple[str, ...] = ()  # their other on-call entries, as text ("L2 Payments escalation")
    new_responder: NewResponder | None = None  # filled when they are not in the directory

    @property
    def in_directory(self) -> bool:
        return self.person is not None

    @property
    def level_text(self) -> str:
        return f"L{self.escalation_level}" if self.escalation_level else "-"

    @property
    def schedule_text(self) -> str:
        return self.schedule or "on the policy directly"


@dataclass(frozen=True)
class OnCallReport:
    suggestions: tuple[OnCallSuggestion, ...]
    as_of: datetime  # when PagerDuty gave this answer
    from_cache: bool  # PagerDuty could not be asked now; this is the last answer it gave
    problem: str | None  # why it is not fresh, or the part of the answer that could not be read
    scopes: tuple[OnCallScope, ...] = ()

    def scope_text(self) -> str:
        """'Checkout escalation (Checkout); Payments escalation (for payments)'."""
        parts = []
        for sc in self.scopes:
            name = sc.escalation_policy or sc.escalation_policy_id
            where = f"for {', '.join(sc.for_services)}" if sc.for_services else (sc.service_name or "")
            parts.append(f"{name} ({where})" if where else name)
        return "; ".join(parts)


# -- building suggestions ---------------------------------------------------------------------
def build_suggestions(
    roster: OnCallRoster,
    people: Iterable[PersonView],
    holders: Iterable[RoleHolding] = (),
    role_names: Mapping[str, str] | None = None,
) -> tuple[OnCallSuggestion, ...]:
    """One suggestion per on-call user, at their lowest level, matched to the directory by e-mail
    (case-insensitive), ordered by level, then the incidents' own policy before mapped ones, then name."""
    people = list(people)
    by_email: dict[str, PersonView] = {}
    for p in people:
        if p.email:
            by_email.setdefault(p.email.strip().lower(), p)
    roles_of: dict[str, list[str]] = {}
    for h in holders:
        roles_of.setdefault(h.person.handle, []).append((role_names or {}).get(h.role, h.role))
    scope_of = {sc.escalation_policy_id: sc for sc in roster.scopes}

    def rank(sh: OnCallShift) -> tuple:
        own = not (scope_of.get(sh.escalation_policy_id) or OnCallScope("", None, None, None)).for_services
        return (sh.escalation_level or 99, not own, sh.name.lower())

    by_user: dict[str, list[OnCallShift]] = {}
    for sh in sorted(roster.shifts, key=rank):
        by_user.setdefault(sh.user_id, []).append(sh)
    taken = {p.handle.lower() for p in people}
    out = []
    for shifts in by_user.values():
        first = shifts[0]
        person = by_email.get((first.email or "").strip().lower()) if first.email else None
        also = tuple(dict.fromkeys(f"L{sh.escalation_level} {sh.escalation_policy}" for sh in shifts[1:]))
        new = None
        if person is None:
            new = new_responder(first.name, first.email, first.time_zone, taken)
            taken.add(new.handle.lower())
        scope = scope_of.get(first.escalation_policy_id)
        out.append(
            OnCallSuggestion(
                name=first.name,
                email=first.email,
                time_zone=first.time_zone,
                escalation_level=first.escalation_level,
                escalation_policy=first.escalation_policy,
                schedule=first.schedule,
                until=first.until,
                for_services=scope.for_services if scope else (),
                person=person,
                holds=tuple(roles_of.get(person.handle, ())) if person else (),
                also=also,
                new_responder=new,
            )
        )
    return tuple(sorted(out, key=lambda s: (s.escalation_level or 99, bool(s.for_services), s.name.lower())))


_HANDLE_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def new_responder(name: str, email: str | None, time_zone: str | None, taken: set[str]) -> NewResponder:
    """A directory entry for someone PagerDuty knows: the handle from the e-mail's local part (or the
    name), made unique; their PagerDuty time zone when it is a zone Sitrep knows, else UTC."""
    base = (email or "").split("@")[0] or name
    handle = _HANDLE_BAD.sub(".", base.strip().lower()).strip("._-")[:72] or "responder"
    candidate, n = handle, 2
    while candidate.lower() in taken:
        candidate, n = f"{handle}-{n}", n + 1
    try:
        tz = check_timezone(time_zone or "UTC")
    except ValidationError:
        tz = "UTC"
    return NewResponder(name, candidate, email, tz)


# -- reading with a person waiting ------------------------------------------------------------
def patiently(
    read: Callable[[], T],
    *,
    attempts: int = PATIENCE_ATTEMPTS,
    longest_wait_s: float = PATIENCE_LONGEST_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run a read that someone is waiting on. A rate-limited answer (or any with Retry-After) is
    waited out and tried again when the server asks for a short wait; anything else fails at once,
    so being offline says so without delay."""
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except TransientFailure as exc:
            wait = exc.retry_after
            if wait is None or attempt == attempts:
                raise
            if wait > longest_wait_s:
                raise
            sleep(max(wait, 0.0))
    raise AssertionError("unreachable")  # pragma: no cover


def failure_text(exc: BaseException, label: str = "PagerDuty") -> str:
    """A read's failure in words for the commander, with what to do about it."""
    if isinstance(exc, KeyringUnavailable):
        return exc.message
    if isinstance(exc, NotConfigured):
        return exc.message
    if isinstance(exc, AuthFailure):
        return (
            f"{exc.message}. Check the REST API key: Tools ▸ Backends… in the console, or "
            "`sitrep backend set pagerduty --secret api_token --token-from-stdin`."
        )
    if isinstance(exc, TransientFailure) and exc.status == 429:
        wait = f"about {exc.retry_after:.0f} s" if exc.retry_after and exc.retry_after >= 2 else "a minute"
        return f"{label} is rate limiting requests; try again in {wait}."
    if isinstance(exc, SyncFailure):
        return exc.message
    return f"{label} could not be asked ({type(exc).__name__})."


# -- remembering the last answer --------------------------------------------------------------
class OnCallCache:
    """The last good roster per set of targets (one JSON file, services.sync.json_cache)."""

    def __init__(self, config_dir: Path | None) -> None:
        self._cache = JsonCache(config_dir, CACHE_FILE, what="the on-call cache", version=CACHE_VERSION,
                                keep=CACHE_KEEP)  # fmt: skip
        self.path = self._cache.path

    def load(self, targets: tuple[str, ...]) -> tuple[datetime, OnCallRoster] | None:
        entry = self._cache.get(_key(targets))
        if not isinstance(entry, dict):
            return None
        try:
            as_of = as_utc(datetime.fromisoformat(entry["as_of"]))
            return as_of, _roster_from(entry["roster"])
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("on-call cache entry unreadable (%s); ignoring it", exc)
            return None

    def save(self, targets: tuple[str, ...], as_of: datetime, roster: OnCallRoster) -> None:
        self._cache.put(_key(targets), {"as_of": iso(as_of), "roster": _roster_doc(roster)})


def _key(targets: tuple[str, ...]) -> str:
    return "|".join(targets)


def _roster_doc(roster: OnCallRoster) -> dict[str, Any]:
    def shift(sh: OnCallShift) -> dict[str, Any]:
        d = asdict(sh)
        d["start"], d["until"] = iso(sh.start), iso(sh.until)
        return d

    return {
        "scopes": [{**asdict(sc), "for_services": list(sc.for_services)} for sc in roster.scopes],
        "shifts": [shift(sh) for sh in roster.shifts],
        "problems": list(roster.problems),
    }


def _roster_from(doc: dict[str, Any]) -> OnCallRoster:
    def when(value: Any) -> datetime | None:
        return as_utc(datetime.fromisoformat(value)) if value else None

    scopes = tuple(
        OnCallScope(
            str(sc["escalation_policy_id"]),
            sc.get("escalation_policy"),
            sc.get("service_id"),
            sc.get("service_name"),
            tuple(str(x) for x in sc.get("for_services") or ()),
        )  # fmt: skip
        for sc in doc["scopes"]
    )
    shifts = tuple(
        OnCallShift(
            str(sh["user_id"]),
            str(sh["name"]),
            sh.get("email"),
            sh.get("time_zone"),
            str(sh["escalation_policy_id"]),
            str(sh["escalation_policy"]),
            int(sh["escalation_level"]),
            sh.get("schedule"),
            when(sh.get("start")),
            when(sh.get("until")),
        )  # fmt: skip
        for sh in doc["shifts"]
    )
    return OnCallRoster(scopes, shifts, tuple(str(p) for p in doc.get("problems") or ()))


def as_of_text(report: OnCallReport) -> str:
    """'as of 2026-03-14 09:00:00 UTC' for messages; screens show it on the viewer's clock."""
    return f"as of {utc_text(report.as_of)}"


def on_call_inputs(sitrep, incident: str | None = None) -> dict[str, Any]:
    """What `SyncService.on_call_suggestions` matches against, read from the store now: the responder
    directory and, for an incident, its services and current role holders (local reads only, so a
    GUI takes them on its own thread and hands them to the worker that does the network part)."""
    inputs: dict[str, Any] = {
        "people": sitrep.people.list(),
        "role_names": {r.id: r.name for r in sitrep.catalog.roles.values()},
    }
    if incident is not None:
        inc = sitrep.incidents.get(incident)
        inputs["services"] = list(inc.services)
        inputs["holders"] = sitrep.roles.holders(inc.id)
    return inputs
