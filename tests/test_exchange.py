"""Export and import: round trips (property-tested), idempotence, extension, and malformed files."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import sqlite3
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import FakeClock
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from whole_incident import run_with_services

from models.entities import Incident
from models.enums import ALLOWED_TRANSITIONS, REOPEN_TARGETS, ClockState, MessageState, Status
from models.types import UTCDateTime
from services.comms.templates import TemplateLibrary
from services.comms.views import LOG_CHANNELS, ContactInput
from services.core import Sitrep
from services.errors import ImportFailure, SitrepError
from services.exchange.export_import import SCHEMA_VERSION
from services.exchange.sections import SECTIONS, Section
from services.record.roles import HANDOVER_FIELDS
from services.record.timeline import entry_digest
from services.storage.secrets import MemorySecrets
from tests.comms import fake_slack as fsl
from tests.comms.conftest import configure_slack
from tests.fakes import pagerduty as fpd
from tests.sync.conftest import (
    WORKER_OPTIONS,
    adapter_entry_points,  # noqa: F401 - the autouse fixture: adapters by entry point
    configure_backends,
)

TABLES = ("incidents", "timeline_entries", "role_assignments", "people", "comms_messages", "comms_log",
          "regulatory_clocks", "stakeholders", "sync_remote_links", "sync_outbox")  # fmt: skip
SECTION_NOUNS = {"messages": "messages", "stakeholder_log": "stakeholder log lines"}


def row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def without_stamp(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "exported_at"}


@pytest.fixture(scope="module")
def memory_backed_dir():
    """Where the property test keeps its stores: a RAM file system when there is one.

    The round trip is about content, not durability; hundreds of synchronous=FULL commits per run on a
    shared disk would only make it slow. The code path is the same SQLite on a real file either way.
    """
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="sitrep-roundtrip-", dir=parent) as d:
        yield Path(d)


@pytest.fixture(scope="module")
def empty_db(memory_backed_dir: Path) -> Path:
    """A migrated, empty database to copy: migrating once per module keeps the property test quick."""
    path = memory_backed_dir / "template.db"
    Sitrep.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="module")
def template_library() -> TemplateLibrary:
    """The built-in message templates, compiled once: compiling them costs ~0.6 s, per store that drafts."""
    return TemplateLibrary()


class TickingClock(FakeClock):
    """A FakeClock that, like a real one, never reads the same microsecond twice: records that change are
    merged by their updated_at, and two changes of one message in the same microsecond cannot be ordered."""

    def __call__(self) -> datetime:
        self.value += timedelta(microseconds=1)
        return self.value


class Stores:
    """Fresh stores from the template, closed at the end."""

    def __init__(self, template: Path, root: Path, library: TemplateLibrary | None = None) -> None:
        self.template, self.root, self.opened, self.n = template, root, [], 0
        self.library = library

    def new(self, clock=None, *, comms: bool = False) -> tuple[Sitrep, Path]:
        """comms: Slack configured (never reached: sending only queues) and 'ana' a configured approver."""
        self.n += 1
        path = self.root / f"s{self.n}.db"
        shutil.copyfile(self.template, path)
        config = None
        if comms:
            config = self.root / f"config{self.n}"
            config.mkdir()
            (config / "comms.toml").write_text('[approval]\napprovers = ["ana"]\n', encoding="utf-8")
        secrets = MemorySecrets({("slack", "webhook_url"): "http://127.0.0.1:9/never-reached"})
        app = Sitrep.open(f"sqlite:///{path}", now=clock or FakeClock(), config_dir=config,
                          sync_options={"secrets": secrets})  # fmt: skip
        self.opened.append(app)
        if comms:
            app.sync.configure("slack", {"enabled": True, "mode": "webhook", "url": "http://127.0.0.1:9/api"})
            app.comms._templates = self.library  # read-only data, the same for every store
        return app, path

    def close(self) -> None:
        for app in self.opened:
            app.close()


# -- random histories -----------------------------------------------------------------------
PEOPLE = [("Ana Ruiz", "ana", "Europe/Madrid"), ("Ben Okafor", "ben", "America/New_York"),
          ("Chen Wei", "chen", "Asia/Shanghai"), ("Dana Levi", "dana", "UTC")]  # fmt: skip
ROLES = ["IC", "DEPUTY", "COMMS", "SCRIBE"]
KINDS = ["note", "observation", "assumption", "decision", "action", "comms", "alert", "config_change"]
# Entry text as people type it, in any script; the first character keeps it from reading as a /prefix.
texts = st.builds(
    str.__add__,
    st.sampled_from("Aé漢4Ж"),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=29),
)
OPS = ["declare", "log", "log", "log", "status", "severity", "major", "milestone", "assign", "assign",
       "handover", "handover", "release", "person", "tick", "correct", "check", "details"]  # fmt: skip
# Half the operations are these, so an example of a few steps often has messages, log lines and clocks.
COMMS_OPS = ["stakeholder", "message", "message", "message", "submit", "approve", "reject", "edit", "send",
             "contact", "contact", "escalate", "escalate", "reg_clock", "reg_clock"]  # fmt: skip
# A new message is taken this far at once, so sent and approved ones are common, not a rare run of steps.
MESSAGE_PATHS = {"draft": [], "pending_approval": ["submit"], "approved": ["approve"], "rejected": ["submit", "reject"],
                 "sent": ["approve", "send"], "edited after approval": ["approve", "edit"]}  # fmt: skip
STAKEHOLDERS = [("cfo", "Chief Financial Officer", "executives"), ("dpo", "Data Protection Officer", "legal"),
                ("ico", "Information Commissioner's Office", "regulator")]  # fmt: skip


def apply_random_comms_operation(app: Sitrep, clock: FakeClock, data, op: str, inc) -> str | None:
    """Messages through their states, the stakeholder log, the registry, regulatory clocks."""
    if op == "stakeholder":
        handle, name, group = data.draw(st.sampled_from(STAKEHOLDERS), label="stakeholder")
        app.comms.add_stakeholder(handle, name, group, email=f"{handle}@example.com", timezone="Europe/London",
                                  severities=data.draw(st.lists(st.sampled_from(["SEV1", "SEV2"]), unique=True)))  # fmt: skip
        return op
    if op == "message":
        symptom = data.draw(texts, label="symptom")
        m = app.comms.draft(inc.id, "initial", author="bob", channels=["slack"], fields={"symptom": symptom})
        goal = data.draw(st.sampled_from([*sorted(MESSAGE_PATHS), "sent"]), label="message goal")
        for step in MESSAGE_PATHS[goal]:
            clock.advance(seconds=data.draw(st.sampled_from([0, 30]), label="wait"))
            act_on_message(app, data, step, m.ref)
        return f"message {goal}"
    if op == "contact":
        app.comms.record_contact(inc.id, ContactInput(
            channel=data.draw(st.sampled_from(LOG_CHANNELS)), audience=data.draw(st.sampled_from(["regulators", "vendors"])),
            content=data.draw(texts), recipients=data.draw(st.lists(texts, max_size=2)),
            direction=data.draw(st.sampled_from(["outbound", "inbound"])),
            occurred_at=clock() - timedelta(minutes=data.draw(st.integers(0, 20), label="contact backdate")),
        ), author="ana")  # fmt: skip
        return op
    if op == "escalate":
        app.comms.apply_escalation(inc.id, author="ana")
        return op
    if op == "reg_clock":
        clocks = [
            c
            for c in app.comms.regulatory_clocks(inc.id)
            if c.state in (ClockState.AWAITING, ClockState.RUNNING)
        ]
        if not clocks:
            return None
        c = data.draw(st.sampled_from(clocks), label="regulatory clock")
        if c.state is ClockState.AWAITING:
            app.comms.start_clock(inc.id, c.rule_id, author="ana", note="counsel: material")
            return "start clock"
        outcome = data.draw(st.sampled_from(["met", "withdrawn"]), label="outcome")
        app.comms.close_clock(inc.id, c.rule_id, author="ana", outcome=outcome, note="counsel's call")
        return f"clock {outcome}"
    messages = [m for m in app.comms.messages(inc.id) if m.state is not MessageState.SENT]
    if not messages:
        return None
    act_on_message(app, data, op, data.draw(st.sampled_from(messages), label="message").ref)
    return op


def act_on_message(app: Sitrep, data, op: str, ref: str) -> None:
    if op == "submit":
        app.comms.submit(ref, author="bob")
    elif op == "approve":
        app.comms.approve(ref, approver="ana")
    elif op == "reject":
        app.comms.reject(ref, by="ana", comment=data.draw(texts))
    elif op == "edit":
        app.comms.edit(ref, author="bob", fields={"symptom": data.draw(texts)})
    else:
        app.comms.send(ref, author="bob")


def apply_random_operation(app: Sitrep, clock: FakeClock, data) -> str | None:
    """One valid operation, chosen from what the current state allows; returns what it did, if anything."""
    clock.advance(seconds=data.draw(st.sampled_from([0, 1, 90, 600]), label="wait"))
    incidents = app.incidents.list()
    ops = data.draw(st.sampled_from([OPS, COMMS_OPS]), label="area") if incidents else ["declare", "person"]
    op = data.draw(st.sampled_from(ops), label="op")
    if op == "person":
        known = {p.handle for p in app.people.list()}
        free = [p for p in PEOPLE if p[1] not in known]
        if not free:
            return None
        name, handle, tz = data.draw(st.sampled_from(free), label="person")
        app.people.add(name, handle, email=f"{handle}@example.com", timezone=tz)
        return "person"
    if op == "declare":
        app.incidents.declare(
            data.draw(texts, label="title"),
            data.draw(st.sampled_from(["SEV1", "SEV2", "SEV3", "SEV4"]), label="sev"),
            author="ana",
            incident_type=data.draw(
                st.sampled_from(["service_outage", "data_breach", "data_breach"]), label="type"
            ),
            services=data.draw(st.lists(st.sampled_from(["checkout", "search", "auth"]), max_size=2)),
            detected_at=clock() - timedelta(minutes=data.draw(st.integers(0, 30), label="detected")),
            is_exercise=data.draw(st.booleans(), label="exercise"),
        )
        return "declare"
    inc = data.draw(st.sampled_from(incidents), label="incident")
    if op in COMMS_OPS:
        return apply_random_comms_operation(app, clock, data, op, inc)
    if op == "log":
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        app.timeline.log(
            inc.id,
            data.draw(texts, label="body"),
            author=data.draw(st.sampled_from(["ana", "ben"]), label="author"),
            kind=kind,
            rationale=data.draw(texts, label="rationale") if kind == "decision" else None,
            occurred_at=clock() - timedelta(minutes=data.draw(st.integers(0, 20), label="backdate")),
            data={"n": data.draw(st.integers(), label="n"), "f": 1.5} if data.draw(st.booleans()) else None,
        )
        return "log"
    if op == "status":
        allowed = sorted(ALLOWED_TRANSITIONS[inc.status] | (REOPEN_TARGETS if not inc.is_open else set()))
        if not allowed:
            return None
        target = data.draw(st.sampled_from(allowed), label="status")
        app.incidents.set_status(inc.id, target, author="ana", reason="the fix did not hold")
        return "reopen" if not inc.is_open and target in REOPEN_TARGETS else "status"
    if op in ("severity", "major") and not inc.is_open:
        return None
    if op == "severity":
        levels = [s for s in ("SEV1", "SEV2", "SEV3", "SEV4") if s != inc.severity]
        app.incidents.set_severity(
            inc.id, data.draw(st.sampled_from(levels)), author="ana", reason="re-triaged"
        )
        return op
    if op == "major":
        app.incidents.set_major(inc.id, not inc.is_major, author="ana", reason="impact contained")
        return op
    if op == "milestone":
        if inc.milestones["acknowledged"] is not None:
            return None
        app.incidents.set_milestone(inc.id, "acknowledged", clock(), author="ana")
        return op
    if op == "details":
        app.incidents.update_details(inc.id, author="ana", affected_users=data.draw(st.integers(0, 10**6)),
                                     error_rate_pct=data.draw(st.floats(0, 100, allow_nan=False)))  # fmt: skip
        return op
    if op == "check":
        return "breach" if app.clocks.check(inc.id) else None
    if op == "correct":
        corrected = app.timeline.superseded_ids(inc.id)
        entries = [e for e in app.timeline.entries(inc.id) if e.kind in KINDS and e.id not in corrected]
        if not entries:
            return None
        old = data.draw(st.sampled_from(entries), label="corrected")
        app.timeline.correct(old.id, data.draw(texts), author="ben", reason="typo")
        return op
    # assign, handover, release, tick: a role on an incident that is not closed
    if inc.status is Status.CLOSED:
        return None
    role = data.draw(st.sampled_from(ROLES), label="role")
    holder = next((h for h in app.roles.holders(inc.id) if h.role == role), None)
    people = [p.handle for p in app.people.list()]
    if holder is None:
        if not people:
            return None
        app.roles.assign(inc.id, role, data.draw(st.sampled_from(people)), author="ana")
        return "assign"
    if op == "handover":
        others = [h for h in people if h != holder.person.handle]
        if not others:
            return None
        brief = {k: f"{k} as of now" for k in HANDOVER_FIELDS}
        app.roles.hand_over(inc.id, role, data.draw(st.sampled_from(others)), brief, author="ana")
        return op
    if op == "release":
        app.roles.release(inc.id, role, author="ana", reason="stood down")
        return op
    app.roles.tick_checklist(inc.id, role, 0, data.draw(st.booleans()), author="ana")
    return "tick"


def write(doc: dict, path: Path) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_export_import_round_trips_and_is_idempotent(empty_db, memory_backed_dir, template_library, data):
    stores = Stores(empty_db, Path(tempfile.mkdtemp(dir=memory_backed_dir)), template_library)
    try:
        clock = TickingClock()
        src, _ = stores.new(clock, comms=True)
        for name, handle, tz in data.draw(st.lists(st.sampled_from(PEOPLE), unique=True), label="directory"):
            src.people.add(name, handle, timezone=tz)
        for _ in range(data.draw(st.integers(3, 20), label="steps")):
            try:
                done = apply_random_operation(src, clock, data)
            except SitrepError:
                done = "refused"  # a refused operation changes nothing; the history goes on
            event(f"did {done}")
        first = src.exchange.export()
        file1 = write(first, stores.root / "first.json")

        dst, dst_path = stores.new()
        report = dst.exchange.import_file(file1)
        assert sorted(report.created) == sorted(i["key"] for i in first["incidents"])
        assert report.entries_added == sum(len(i["timeline"]) for i in first["incidents"])
        for key in ("messages", "stakeholder_log", "regulatory_clocks"):
            assert report.records[key].added == sum(len(i[key]) for i in first["incidents"])
            event(f"{key}: {'some' if report.records[key].added else 'none'}")
        assert report.records["stakeholders"].added == len(first["stakeholders"])
        second = dst.exchange.export()
        assert without_stamp(second) == without_stamp(first)
        assert dst.integrity.verify().ok

        counts = row_counts(dst_path)
        again = dst.exchange.import_file(file1)
        assert not again.changed and again.entries_added == 0
        assert sorted(again.unchanged) == sorted(report.created)
        assert row_counts(dst_path) == counts
        assert without_stamp(dst.exchange.export()) == without_stamp(first)

        # The source goes on (any operations, then at least one entry); a later export extends the copy.
        for _ in range(data.draw(st.integers(0, 8), label="more steps")):
            with contextlib.suppress(SitrepError):
                event(f"then did {apply_random_operation(src, clock, data)}")
        if first["incidents"]:
            target = data.draw(st.sampled_from(first["incidents"]), label="extended")
            src.timeline.log(
                target["id"], "Later: error rate back to baseline", author="ben", kind="observation"
            )
        later = src.exchange.export()
        old = {i["id"]: len(i["timeline"]) for i in first["incidents"]}
        extended = dst.exchange.import_file(write(later, stores.root / "later.json"))
        grown = sorted(
            i["key"] for i in later["incidents"] if i["id"] in old and len(i["timeline"]) > old[i["id"]]
        )
        assert sorted(extended.extended) == grown
        assert sorted(extended.created) == sorted(i["key"] for i in later["incidents"] if i["id"] not in old)
        assert extended.entries_added == sum(len(i["timeline"]) for i in later["incidents"]) - sum(
            old.values()
        )
        assert without_stamp(dst.exchange.export()) == without_stamp(later)
        assert dst.integrity.verify().ok
    finally:
        stores.close()


def test_the_whole_incident_round_trips(sitrep, clock, tmp_path):
    """A fixed history with everything a real incident has: handover brief, breaches, backdating, corrections."""
    key = run_with_services(sitrep, clock)
    first_entry = sitrep.timeline.entries(sitrep.incidents.get(key).id)[1]
    sitrep.timeline.correct(
        first_entry.id, "Payment errors at 45% on checkout-api", author="ana", reason="misread"
    )
    sitrep.incidents.set_status(key, "investigating", author="ben", reason="errors are back")
    first = sitrep.exchange.export()
    d = tmp_path / "copy"
    d.mkdir()
    copy_app = Sitrep.open(f"sqlite:///{d / 'sitrep.db'}")
    try:
        report = copy_app.exchange.import_file(write(first, tmp_path / "incident.json"))
        assert report.created == [key] and sorted(report.people_added) == ["ana", "ben"]
        assert without_stamp(copy_app.exchange.export()) == without_stamp(first)
        assert copy_app.roles.history(key)[1].handover_brief["from"] == "ana"
        assert copy_app.timeline.superseded_ids(copy_app.incidents.get(key).id) == {first_entry.id}
        assert copy_app.integrity.verify().ok
    finally:
        copy_app.close()


def test_an_extended_import_brings_the_role_changes_its_entries_record(sitrep, target):
    app, _ = target
    sitrep.people.add("Ana Ruiz", "ana")
    sitrep.people.add("Ben Okafor", "ben")
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    sitrep.roles.assign(inc.key, "SCRIBE", "ben", author="ana")
    app.exchange.import_document(sitrep.exchange.export([inc.key]))

    sitrep.roles.tick_checklist(inc.key, "IC", 0, True, author="ana")
    sitrep.roles.release(inc.key, "SCRIBE", author="ana", reason="shift over")
    report = app.exchange.import_document(sitrep.exchange.export([inc.key]))

    local_key = app.incidents.get(inc.id).key  # renumbered: the target has its own INC-0001
    assert report.extended == [local_key]
    (ic,) = app.roles.holders(inc.id)
    assert (ic.role, ic.checklist_done) == ("IC", (0,)), "the tick its timeline records is in the state too"
    here, there = (
        app.exchange.export([inc.id])["incidents"][0],
        sitrep.exchange.export([inc.key])["incidents"][0],
    )
    for doc in (here, there):
        del doc["key"], doc["number"]
    assert here == there


# -- a fixed record for the malformed-file cases ------------------------------------------------
@pytest.fixture
def exported(sitrep, clock, tmp_path):
    sitrep.people.add("Ana Ruiz", "ana", timezone="Europe/Madrid")
    sitrep.people.add("Ben Okafor", "ben")
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana", services=["checkout"])
    clock.advance(minutes=1)
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    for text in ("Errors at 40%", "Rolled back", "Errors falling"):
        clock.advance(minutes=1)
        sitrep.timeline.log(inc.id, text, author="ana")
    second = sitrep.incidents.declare("Search slow", "SEV3", author="ben")
    sitrep.timeline.log(second.id, "p99 at 4 s", author="ben")
    return sitrep.exchange.export()


@pytest.fixture
def target(tmp_path):
    """A store that already holds one unrelated incident, so 'nothing written' is visible."""
    d = tmp_path / "target"
    d.mkdir()
    app = Sitrep.open(f"sqlite:///{d / 'sitrep.db'}")
    app.incidents.declare("Unrelated", "SEV4", author="dana")
    yield app, d / "sitrep.db"
    app.close()


def _set(path: list, value):
    def mutate(doc):
        node = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return mutate


def _tamper_body(doc):
    doc["incidents"][0]["timeline"][2]["body"] = "Errors at 4%"


def _rehash_tampered(doc):
    """Change entry #3 and recompute its own hash: the next entry no longer follows it."""
    entries = doc["incidents"][0]["timeline"]
    e = entries[2]
    e["body"] = "Errors at 4%"
    row = {**e, "incident_id": doc["incidents"][0]["id"]}
    row["occurred_at"], row["recorded_at"] = (
        datetime.fromisoformat(row[k]) for k in ("occurred_at", "recorded_at")
    )
    e["hash"] = entry_digest(e["prev_hash"], row)


def _drop_entry(doc):
    del doc["incidents"][0]["timeline"][2]


MALFORMED = {
    "wrong format tag": (_set(["format"], "pagerduty.export"), "the file", "not a Sitrep export"),
    "newer schema": (_set(["schema_version"], 99), "the file", "newer Sitrep (export schema 99"),
    "schema as text": (_set(["schema_version"], "1"), "the file", "'schema_version'"),
    "incidents not a list": (_set(["incidents"], {"a": 1}), "'incidents'", "expected a list"),
    "major as text": (_set(["incidents", 0, "is_major"], "yes"), "incidents[0] (INC-0001)", "'is_major'"),
    "seq as text": (_set(["incidents", 0, "timeline", 1, "seq"], "2"), "incidents[0] (INC-0001).timeline[1]", "'seq'"),
    "time without zone": (_set(["incidents", 1, "created_at"], "2026-03-14T09:00:00"), "incidents[1] (INC-0002)", "'created_at'"),
    "unknown severity": (_set(["incidents", 1, "severity"], "SEV9"), "incidents[1] (INC-0002)", "severity 'SEV9'"),
    "unknown kind": (_set(["incidents", 0, "timeline", 3, "kind"], "gossip"), "timeline[3]", "unknown entry kind"),
    "tampered entry": (_tamper_body, "incidents[0] (INC-0001)", "hash chain is broken at entry #3"),
    "re-hashed entry": (_rehash_tampered, "incidents[0] (INC-0001)", "broken at entry #4"),
    "deleted entry": (_drop_entry, "incidents[0] (INC-0001)", "entry #3 is missing"),
    "bad handle": (_set(["people", 0, "handle"], "ana ruiz"), "people[0]", "'handle' is not valid"),
    "bad time zone": (_set(["people", 0, "timezone"], "Mars/Olympus"), "people[0]", "Unknown time zone"),
    "unknown role": (_set(["incidents", 0, "roles", 0, "role"], "JANITOR"), "roles[0]", "role catalog"),
    "unknown person": (_set(["incidents", 0, "roles", 0, "person_id"], "nobody"), "roles[0]", "not in the file's 'people'"),
    "milestones out of order": (_set(["incidents", 1, "milestones", "resolved"], "2000-01-01T00:00:00.000000Z"), "incidents[1] (INC-0002)", "must happen first"),
    "dangling correction": (_set(["incidents", 1, "timeline", 0, "supersedes_id"], "elsewhere"), "timeline[0]", "supersedes_id"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_is_refused_whole_naming_where(exported, target, tmp_path, case):
    mutate, where, what = MALFORMED[case]
    doc = copy.deepcopy(exported)
    mutate(doc)
    app, db = target
    before = row_counts(db)
    with pytest.raises(ImportFailure) as err:
        app.exchange.import_file(write(doc, tmp_path / "bad.json"))
    message = str(err.value)
    assert where in message and what in message, message
    assert message.endswith("Nothing was imported.")
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"this is not json", "not valid JSON (line 1, column 1"),
        (b"", "not valid JSON"),
        (b"\xff\xfe garbage", "cannot be read"),
        (b"[1, 2]", "the file: expected an object"),
    ],
)
def test_unreadable_files_are_refused(target, tmp_path, content, what):
    app, db = target
    before = row_counts(db)
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ImportFailure, match="bad.json") as err:
        app.exchange.import_file(path)
    assert what in str(err.value)
    assert row_counts(db) == before


def test_a_truncated_file_is_refused(exported, target, tmp_path):
    app, db = target
    text = json.dumps(exported)
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    before = row_counts(db)
    with pytest.raises(ImportFailure, match="not valid JSON.*cut short. Nothing was imported"):
        app.exchange.import_file(path)
    assert row_counts(db) == before


def test_a_diverged_copy_is_refused_and_earlier_incidents_in_the_file_are_not_kept(sitrep, target, tmp_path):
    """The first incident of the file is new; the second disagrees with the local copy: all or nothing."""
    app, db = target
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    app.exchange.import_document(sitrep.exchange.export([inc.key]))
    sitrep.timeline.log(inc.id, "Rolled back", author="ana")  # here ...
    app.timeline.log(inc.id, "Failed over", author="ben")  # ... and there: the copies now disagree at #2
    fresh = sitrep.incidents.declare("Search slow", "SEV3", author="ana")
    doc = sitrep.exchange.export([fresh.key, inc.key])
    before = row_counts(db)
    with pytest.raises(ImportFailure, match=r"INC-0002 has a different record here from entry #2"):
        app.exchange.import_document(doc, origin="diverged.json")
    assert row_counts(db) == before


def test_an_import_of_a_taken_key_is_renumbered(sitrep, target):
    app, _ = target  # already has its own INC-0001
    sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    report = app.exchange.import_document(sitrep.exchange.export())
    assert report.renumbered == {"INC-0001": "INC-0002"}
    assert app.incidents.get("INC-0002").title == "Checkout down"
    assert app.integrity.verify().ok


def test_cli_import_of_a_bad_file_exits_2_with_one_clear_line(run_cli, exported, tmp_path):
    doc = copy.deepcopy(exported)
    _tamper_body(doc)
    bad = write(doc, tmp_path / "bad.json")
    elsewhere = tmp_path / "elsewhere"  # not the data folder the export came from
    code, out, err = run_cli("import", str(bad), data=elsewhere)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"sitrep: error: {bad}: incidents[0] (INC-0001)")
    assert "entry #3" in err and "Traceback" not in err
    code, out, _ = run_cli("list", data=elsewhere)
    assert out.strip() == "No incidents."


# -- the communications and sync records ---------------------------------------------------------
def build_store_with_records(root: Path, clock: FakeClock) -> Sitrep:
    """A data breach with every kind of record an export's sections carry, delivered to real fakes on loopback:
    messages sent (approved), drafted and rejected; a stakeholder log of a message and a contact; regulatory
    clocks running, started and awaiting; PagerDuty links to the incident and to a note; a stakeholder."""
    (root / "config").mkdir(parents=True)
    (root / "config" / "comms.toml").write_text('[approval]\napprovers = ["ana"]\n', encoding="utf-8")
    pd, slack = fpd.FakePagerDuty(), fsl.FakeSlack()
    pd.start()
    slack.start()
    secrets = MemorySecrets(
        {("pagerduty", "api_token"): fpd.TOKEN, ("slack", "webhook_url"): slack.webhook_url}
    )
    app = Sitrep.open(f"sqlite:///{root / 'sitrep.db'}", config_dir=root / "config", now=clock,
                      sync_options={"secrets": secrets, "worker_options": WORKER_OPTIONS})  # fmt: skip
    try:
        configure_backends(app, pd=pd)
        configure_slack(app, slack)
        app.people.add("Ana Ruiz", "ana", email="ana@example.com")
        app.people.add("Ben Okafor", "ben")
        app.comms.add_stakeholder("cfo", "Chief Financial Officer", "executives", email="cfo@example.com",
                                  severities=["SEV1"])  # fmt: skip
        inc = app.incidents.declare(
            "Customer records exposed", "SEV1", author="ana", incident_type="data_breach",
            impact={"data_exposure": "confirmed", "affected_pct": 12, "regulatory": True},
        )
        delegation = app.delegations.add("talk_to_regulators", "ana", "ben", author="ben", )
        app.delegations.confirm(delegation.id, by="ben", note="Still the DPO's contact")
        clock.advance(minutes=1)
        app.roles.assign(inc.key, "IC", "ana", author="ana")
        app.timeline.log(
            inc.id, "Revoke the leaked key", author="ana", kind="decision", rationale="it is public"
        )
        app.comms.apply_escalation(inc.key, author="ana")
        clock.advance(minutes=1)
        app.comms.start_clock(inc.key, "sec_8k_item_1_05", author="ana", note="counsel: material")
        sent = app.comms.draft(
            inc.key, "initial", author="ben", channels=["slack"], fields={"symptom": "Data exposed"}
        )
        clock.advance(minutes=1)
        app.comms.approve(sent.ref, approver="ana")
        app.comms.send(sent.ref, author="ben")
        app.comms.draft(
            inc.key, "initial", author="ben", channels=["slack"], fields={"symptom": "Still exposed"}
        )
        rejected = app.comms.draft(
            inc.key, "initial", author="ben", channels=["slack"], fields={"symptom": "Oops"}
        )
        app.comms.reject(rejected.ref, by="ana", comment="Not yet")
        clock.advance(minutes=1)
        app.comms.record_contact(inc.key, ContactInput(channel="phone", audience="regulators", content="Told the ICO",
                                                       recipients=["ICO duty desk"]), author="ana")  # fmt: skip
        # A vendor case answered and closed: every one of its columns filled (two more stakeholder log lines).
        app.vendors.open_case(inc.key, "meridian", "P1", author="ana", ticket_ref="MP-1")
        app.vendors.reply("VND-0001", "Engineer assigned", author="ana")
        app.vendors.close("VND-0001", author="ana", note="Key revoked on their side")
        # A SEV1 resolved: its post-incident review opens; one section written, a factor, an action item.
        app.incidents.set_status(inc.key, "resolved", author="ana")
        app.reviews.write_section(inc.key, "summary", "Customer records were exposed for an hour.", author="ana")
        app.reviews.add_factor(inc.key, "The key was kept in a public repository", kind="systemic", author="ana")
        app.action_items.add(inc.key, "Scan repositories for keys before every push", category="prevent",
                             owner="ana", due_on="2026-04-01", author="ana")  # fmt: skip
        # Its cause: a problem (a known error) and the change that may have brought it (schema 5).
        problem = app.problems.add("Keys kept in repositories", author="ana", workaround="Rotate the key")
        app.problems.link(inc.key, problem.key, author="ana")
        app.change_links.link(inc.key, author="ana", ref="CHG0001", summary="Repository made public", ci="git")
        report = app.sync.drain_once()
        assert (report.failed, report.left_pending) == (0, 0)
        other = app.incidents.declare("Search slow", "SEV3", author="ben")
        app.timeline.log(other.id, "p99 at 4 s", author="ben")
        window = app.maintenance.plan("Database upgrade", clock() + timedelta(days=1),
                                      clock() + timedelta(days=1, hours=2), author="ana",
                                      description="Checkout is read-only.", services=["checkout"])  # fmt: skip
        app.maintenance.post_update(window.key, "Rescheduling is not expected.", author="ana")
        app.sync.drain_once()
    except BaseException:
        app.close()
        raise
    finally:
        pd.stop()
        slack.stop()
    return app


@pytest.fixture(scope="module")
def with_records(tmp_path_factory):
    """The export of build_store_with_records, made once for the module (the malformed cases copy it)."""
    app = build_store_with_records(tmp_path_factory.mktemp("records"), FakeClock())
    try:
        doc = app.exchange.export()
    finally:
        app.close()
    inc = doc["incidents"][0]
    assert [len(inc[k]) for k in ("messages", "stakeholder_log", "remote_links")] == [3, 4, 2]
    assert len(inc["regulatory_clocks"]) == 5 and len(doc["stakeholders"]) == 1
    return doc


def _records(doc) -> dict:
    return doc["incidents"][0]


def _sent(doc) -> dict:
    return next(m for m in _records(doc)["messages"] if m["state"] == "sent")


def _edit(section: str, pick, key: str, value):
    def mutate(doc):
        pick(doc[section] if section == "stakeholders" else _records(doc)[section])[key] = value

    return mutate


def _first(rows):
    return rows[0]


def _incident_link(rows):
    return next(r for r in rows if r["local_kind"] == "incident")


def _entry_link(rows):
    return next(r for r in rows if r["local_kind"] == "entry")


def _running(rows):
    return next(r for r in rows if r["state"] == "running")


def _sent_message(rows):
    return next(r for r in rows if r["state"] == "sent")


def _delete_log_line(doc):
    del _records(doc)["stakeholder_log"][0]


def _rehash_log_line(doc):
    """Change line #1 and recompute its own hash: line #2 no longer follows it."""
    from services.comms.log import log_digest

    line = _records(doc)["stakeholder_log"][0]
    line["content"] = "Told nobody"
    row = {**line, "incident_id": _records(doc)["id"]}
    for k in ("approved_at", "occurred_at", "recorded_at"):
        row[k] = datetime.fromisoformat(row[k]) if row[k] else None
    line["hash"] = log_digest(line["prev_hash"], row)


def _sent_by_the_declaration(doc):
    _sent(doc)["sent_entry_id"] = _records(doc)["timeline"][0]["id"]


def _move_message(doc):
    """File the sent message under the other incident (whose timeline does not have its sending)."""
    doc["incidents"][1]["messages"].append(_records(doc)["messages"].pop(0))


def _twice(doc):
    msgs = _records(doc)["messages"]
    msgs[2]["number"] = msgs[1]["number"]


def _drop(key):
    def mutate(doc):
        if key == "stakeholders":
            del doc[key]
        else:
            del _records(doc)[key]

    return mutate


def _change_rendering(doc):
    _sent(doc)["rendered"]["slack"]["text"] = "Nothing to see here"


R = "incidents[0] (INC-0001)"
MALFORMED_RECORDS = {
    "log line changed": (_edit("stakeholder_log", _first, "content", "Told nobody"), f"{R}.stakeholder_log",
                         "hash chain is broken at stakeholder log line #1: its content was changed"),
    "log line deleted": (_delete_log_line, f"{R}.stakeholder_log", "line #2: log line #1 is missing"),
    "log line re-hashed": (_rehash_log_line, f"{R}.stakeholder_log", "line #2: does not follow the log line before it"),
    "log line of a missing message": (_edit("stakeholder_log", _first, "message_id", "nowhere"),
                                      "stakeholder_log[0] (stakeholder log line #1)",
                                      "'message_id' names a message that is not among this incident's messages"),
    "sent by a missing entry": (_edit("messages", _sent_message, "sent_entry_id", "nowhere"), "(message 1)",
                                "'sent_entry_id' names a timeline entry that is not in this incident's timeline"),
    # Its log line, under the first incident, is the first thing that no longer holds.
    "sent by another entry": (_sent_by_the_declaration, "(message 1)",
                              "'sent_entry_id' names a timeline entry that is not the sending of this message"),
    "message filed under another incident": (_move_message, f"{R}.stakeholder_log[0] (stakeholder log line #1)",
                                             "'message_id' names a message that is not among this incident's messages"),
    "unknown message state": (_edit("messages", _first, "state", "published"), f"{R}.messages[0]",
                              "state 'published' is not one of draft, pending_approval"),
    "sent content changed": (_change_rendering, "(message 1)", "does not match its content_hash"),
    "approval of other content": (_edit("messages", _sent_message, "approved_hash", "0" * 64), "(message 1)",
                                  "not the content that was approved"),
    "message number twice": (_twice, f"{R}.messages[2] (message 2)", "number 2 appears twice"),
    "unknown channel": (_edit("messages", _first, "channels", ["fax"]), "(message 1)", "channel 'fax'"),
    "unknown clock state": (_edit("regulatory_clocks", _first, "state", "paused"), f"{R}.regulatory_clocks[0]",
                            "state 'paused' is not one of awaiting, running, met, withdrawn"),
    "running clock without deadline": (_edit("regulatory_clocks", _running, "deadline_at", None), "regulatory clock",
                                       "a running record needs 'deadline_at'"),
    "clock time without zone": (_edit("regulatory_clocks", _first, "created_at", "2026-03-14T09:00:00"),
                                f"{R}.regulatory_clocks[0]", "'created_at'"),
    "link naming another incident": (_edit("remote_links", _incident_link, "local_id", "another-incident"),
                                     "remote_links", "an incident link must sit under the incident it names"),
    "link to a missing entry": (_edit("remote_links", _entry_link, "local_id", "nowhere"), "remote_links",
                                "names an entry that is not in this incident's timeline"),
    "link origin unknown": (_edit("remote_links", _first, "origin", "elsewhere"), "remote_links[0]",
                            "origin 'elsewhere' is not one of sitrep, remote"),
    "messages missing": (_drop("messages"), f"{R}.messages", "expected a list"),
    "stakeholders missing": (_drop("stakeholders"), "'stakeholders'", "expected a list"),
    "stakeholder's zone": (_edit("stakeholders", _first, "timezone", "Mars/Olympus"), "'stakeholders'[0] (stakeholder @cfo)",
                           "'timezone' 'Mars/Olympus' is not a time zone"),
    "external_ref too long": (_set(["incidents", 0, "external_ref"], "x" * 201), R, "'external_ref' is longer than 200"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED_RECORDS))
def test_a_malformed_record_is_refused_whole_naming_where(with_records, target, tmp_path, case):
    mutate, where, what = MALFORMED_RECORDS[case]
    doc = copy.deepcopy(with_records)
    mutate(doc)
    app, db = target
    before = row_counts(db)
    with pytest.raises(ImportFailure) as err:
        app.exchange.import_file(write(doc, tmp_path / "bad.json"))
    message = str(err.value)
    assert where in message and what in message, message
    assert message.endswith("Nothing was imported.")
    assert row_counts(db) == before


def test_the_untouched_records_import_and_verify(with_records, target):
    """The control for the cases above: the same file, unchanged, imports whole."""
    app, db = target
    report = app.exchange.import_document(copy.deepcopy(with_records))
    expected = {
        "stakeholders": 1,
        "maintenance_windows": 1,
        "maintenance_updates": 2,
        "messages": 3,
        "stakeholder_log": 4,
        "regulatory_clocks": 5,
        "remote_links": 3,
        "post_incident_review": 1,
        "action_items": 1,
        "impact": 1,
        "delegations": 1,
        "delegation_reviews": 2,
        "problems": 1,
        "problem_links": 1,
        "change_links": 1,
        "vendor_cases": 1,
    }
    assert {k: m.added for k, m in report.records.items()} == {
        s.key: expected.get(s.key, 0) for s in SECTIONS
    }
    verified = app.integrity.verify()
    assert verified.ok and verified.log_entries == 4

    def renumbering_aside(doc):  # the target has its own INC-0001
        return [{k: v for k, v in i.items() if k not in ("key", "number")} for i in doc["incidents"]]

    here = app.exchange.export()
    assert renumbering_aside(here)[1:] == renumbering_aside(with_records)
    assert here["stakeholders"] == with_records["stakeholders"] and here["people"] == with_records["people"]
    assert not app.exchange.import_document(copy.deepcopy(with_records)).changed


# -- state against the timeline ----------------------------------------------------------------------
def _milestone_by_hand(doc):
    inc = doc["incidents"][0]
    inc["milestones"]["acknowledged"] = inc["milestones"]["declared"]


STATE_EDITS = {
    "status": (_set(["incidents", 0, "status"], "mitigated"), "its status is 'mitigated' but its timeline says 'declared' (entry #1)"),
    "severity": (_set(["incidents", 1, "severity"], "SEV1"), "its severity is 'SEV1' but its timeline says 'SEV3' (entry #1)"),
    "major": (_set(["incidents", 0, "is_major"], False), "its major flag is False but its timeline says True (entry #1)"),
    "milestone": (_milestone_by_hand, "its 'acknowledged' milestone is 2026-03-14T09:00:00.000000Z but its timeline says unset (no entry sets it)"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(STATE_EDITS))
def test_state_edited_by_hand_is_refused_naming_the_incident(exported, target, case):
    mutate, what = STATE_EDITS[case]
    doc = copy.deepcopy(exported)
    mutate(doc)
    app, db = target
    before = row_counts(db)
    with pytest.raises(ImportFailure) as err:
        app.exchange.import_document(doc, origin="edited.json")
    key = doc["incidents"][0 if case != "severity" else 1]["key"]
    assert str(err.value).startswith(
        f"edited.json: incidents[{0 if case != 'severity' else 1}] ({key}): {what}"
    )
    assert "edited by hand" in str(err.value)
    assert row_counts(db) == before


def test_state_changes_the_timeline_records_pass_the_check(sitrep, target):
    """Every way the services change state leaves a timeline that says so: reopen, backdated status,
    severity down and up, de-escalation, milestones moved and cleared, the IC milestone from a role."""
    sitrep.people.add("Ana Ruiz", "ana")
    inc = sitrep.incidents.declare("Checkout down", "SEV2", author="ana")
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    sitrep.incidents.set_severity(inc.key, "SEV1", author="ana")
    sitrep.incidents.set_major(inc.key, False, author="ana", reason="contained")
    sitrep.incidents.set_milestone(inc.key, "acknowledged", sitrep.now(), author="ana")
    sitrep.incidents.set_milestone(inc.key, "acknowledged", None, author="ana")
    sitrep.incidents.set_status(inc.key, "resolved", author="ana")
    sitrep.incidents.set_status(inc.key, "investigating", author="ana", reason="back again")
    sitrep.incidents.set_severity(inc.key, "SEV3", author="ana", reason="fewer users")
    app, _ = target
    assert app.exchange.import_document(sitrep.exchange.export()).created == ["INC-0002"]


# -- what an import brings into a store that has the same records ----------------------------------
def test_a_later_version_of_a_message_or_clock_replaces_the_older_and_not_the_reverse(sitrep, clock, target):
    app, _ = target
    sitrep.people.add("Ana Ruiz", "ana")
    inc = sitrep.incidents.declare(
        "Customer records exposed", "SEV1", author="ana", incident_type="data_breach"
    )
    sitrep.roles.assign(inc.key, "IC", "ana", author="ana")
    sitrep.comms.apply_escalation(inc.key, author="ana")
    m = sitrep.comms.draft(
        inc.key, "initial", author="ana", channels=["slack"], fields={"symptom": "Data exposed"}
    )
    older = sitrep.exchange.export([inc.key])
    app.exchange.import_document(older)

    clock.advance(minutes=5)
    sitrep.comms.submit(m.ref, author="ana")  # no timeline entry: only updated_at says which is later
    sitrep.comms.start_clock(inc.key, "sec_8k_item_1_05", author="ana")
    report = app.exchange.import_document(sitrep.exchange.export([inc.key]))
    assert (report.records["messages"].updated, report.records["regulatory_clocks"].updated) == (1, 1)
    assert app.comms.get(m.id).state is MessageState.PENDING_APPROVAL
    states = {c.rule_id: c.state for c in app.comms.regulatory_clocks(inc.id)}
    assert states["sec_8k_item_1_05"] is ClockState.RUNNING

    again = app.exchange.import_document(older)  # the older file changes nothing back
    assert not again.changed
    assert app.comms.get(m.id).state is MessageState.PENDING_APPROVAL


def test_a_message_number_taken_by_another_message_here_is_refused(sitrep, target):
    app, db = target
    sitrep.people.add("Ana Ruiz", "ana")
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    app.exchange.import_document(sitrep.exchange.export([inc.key]))
    sitrep.comms.draft(inc.key, "initial", author="ana", channels=["slack"], fields={"symptom": "here"})
    app.comms.draft(inc.id, "initial", author="ana", channels=["slack"], fields={"symptom": "there"})
    before = row_counts(db)
    with pytest.raises(
        ImportFailure, match=r"INC-0002: message 1 is a different record here \(the two copies diverged\)"
    ):
        app.exchange.import_document(sitrep.exchange.export([inc.key]), origin="x.json")
    assert row_counts(db) == before


def test_a_stakeholder_log_that_diverged_is_refused(sitrep, target):
    app, db = target
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    app.exchange.import_document(sitrep.exchange.export([inc.key]))
    sitrep.comms.record_contact(
        inc.key, ContactInput(channel="phone", audience="vendors", content="Called"), author="ana"
    )
    app.comms.record_contact(
        inc.id, ContactInput(channel="email", audience="vendors", content="Wrote"), author="ben"
    )
    before = row_counts(db)
    with pytest.raises(ImportFailure, match="diverged") as err:
        app.exchange.import_document(sitrep.exchange.export([inc.key]), origin="x.json")
    # The timeline diverged too (a contact is also a note); whichever is found first is named.
    assert "INC-0002" in str(err.value)
    assert row_counts(db) == before


def test_the_same_source_record_imported_on_two_machines_is_refused(sitrep, target, tmp_path):
    """Both stores imported the same Statuspage history: one incident, two different records of it."""
    app, db = target
    history = Path(__file__).parent / "data" / "statuspage" / "incidents.json"
    page = json.loads(history.read_text(encoding="utf-8"))
    page["incidents"] = page["incidents"][:1]
    small = write(page, tmp_path / "incidents.json")
    sitrep.history.import_file(small, author="ana")
    app.history.import_file(small, author="ben")
    before = row_counts(db)
    with pytest.raises(
        ImportFailure, match=r"is the same statuspage record \(statuspage:.*\) as INC-0002 here"
    ):
        app.exchange.import_document(sitrep.exchange.export(), origin="x.json")
    assert row_counts(db) == before


# -- schema 1 -----------------------------------------------------------------------------------------
V1 = Path(__file__).parent / "data" / "exchange" / "export-v1.json"


def test_a_schema_1_file_from_main_still_imports(target):
    """tests/data/exchange/export-v1.json was written by main's exporter before schema 2 (see its script)."""
    app, _ = target
    doc = json.loads(V1.read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1
    report = app.exchange.import_file(V1)
    assert len(report.created) == 5 and report.entries_added == sum(
        len(i["timeline"]) for i in doc["incidents"]
    )
    assert sorted(report.people_added) == ["ana", "ben"]
    assert app.integrity.verify().ok
    here = app.exchange.export()
    assert here["schema_version"] == SCHEMA_VERSION and all(here[k] == [] for k in TOP_KEYS)
    by_id = {i["id"]: i for i in here["incidents"]}
    for old in doc["incidents"]:
        new = by_id[old["id"]]
        assert new["external_ref"] is None and all(new[k] == [] for k in SECTION_KEYS)
        # Schema 4 added the Identified milestone and flagged pairs: a schema 1 file has neither.
        assert new["flagged_pairs"] == [] and new["milestones"].pop("identified") is None
        assert {
            k: v
            for k, v in new.items()
            if k not in (*SECTION_KEYS, "external_ref", "key", "number", "flagged_pairs", "chain_heads")
        } == {k: v for k, v in old.items() if k not in ("key", "number")}
    assert not app.exchange.import_file(V1).changed


SECTION_KEYS = tuple(s.key for s in SECTIONS if s.scope == "incident")
TOP_KEYS = {s.key for s in SECTIONS if s.scope == "store" or s.has_storewide_rows}


def test_schema_2_is_schema_1_plus_the_new_records(exported):
    """So a schema 1 file is a schema 2 file without them, and reading it as such is right."""
    old = json.loads(V1.read_text(encoding="utf-8"))
    assert set(exported) == set(old) | TOP_KEYS
    assert set(exported["incidents"][0]) == set(old["incidents"][0]) | {
        "external_ref",
        "flagged_pairs",
        "chain_heads",
        *SECTION_KEYS,
    }
    assert set(exported["incidents"][0]["milestones"]) == set(old["incidents"][0]["milestones"]) | {"identified"}
    for part in ("timeline", "roles"):
        assert set(exported["incidents"][0][part][0]) == set(old["incidents"][0][part][0])
    assert set(exported["people"][0]) == set(old["people"][0]) | {"working_hours", "trained_roles"}  # schema 5


def test_a_schema_2_export_fills_the_external_ref_a_schema_1_import_left_out(sitrep, target, tmp_path):
    app, _ = target
    page = json.loads(
        (Path(__file__).parent / "data" / "statuspage" / "incidents.json").read_text(encoding="utf-8")
    )
    page["incidents"] = page["incidents"][:1]
    sitrep.history.import_file(write(page, tmp_path / "incidents.json"), author="ana")
    doc = sitrep.exchange.export()
    as_v1 = copy.deepcopy(doc)  # what main's exporter wrote: the same, without the schema 2 keys
    as_v1["schema_version"] = 1
    for k in TOP_KEYS:
        del as_v1[k]
    for inc in as_v1["incidents"]:
        for k in (*SECTION_KEYS, "external_ref"):
            del inc[k]
    app.exchange.import_document(as_v1)
    assert app.exchange.export()["incidents"][1]["external_ref"] is None
    report = app.exchange.import_document(doc)
    assert report.refs_filled == ["INC-0002"] and report.changed
    assert app.exchange.export([doc["incidents"][0]["id"]])["incidents"][0]["external_ref"].startswith(
        "statuspage:"
    )
    assert not app.exchange.import_document(doc).changed


# -- what the exchange carries ----------------------------------------------------------------------
def test_every_table_is_exported_or_named_machine_local():
    """A new table (a migration) fails here until it is a Section in services/exchange/sections.py, or is
    named in MACHINE_LOCAL with the reason it stays on this machine."""
    from models.entities import Base
    from services.exchange.sections import CORE_TABLES, MACHINE_LOCAL, declaration_problems

    carried = set(CORE_TABLES) | {s.table.name for s in SECTIONS}
    assert carried.isdisjoint(MACHINE_LOCAL)
    assert set(Base.metadata.tables) | {"alembic_version"} == carried | set(MACHINE_LOCAL)
    assert declaration_problems() == []
    assert max(s.since for s in SECTIONS) <= SCHEMA_VERSION


def test_every_column_of_a_carried_table_is_in_the_export(with_records):
    """A new column (a migration) fails here until the exchange writes it."""
    from models.entities import Incident, Person, RoleAssignment, TimelineEntry
    from models.enums import Milestone

    inc = with_records["incidents"][0]
    milestone_columns = {m.column for m in Milestone}
    # The milestones' numbers are computed from their text by the store (models/milestone_numbers.py).
    derived = {c.name for c in Incident.__table__.columns if c.info.get("derived_from")}
    assert derived == {f"{m.column}_num" for m in Milestone}
    assert {c.name for c in Incident.__table__.columns} - milestone_columns - derived == set(inc) - {
        "milestones", "timeline", "roles", "chain_heads", *SECTION_KEYS,
    }  # fmt: skip
    assert set(inc["milestones"]) == {m.value for m in Milestone}
    assert {c.name for c in TimelineEntry.__table__.columns} - {"incident_id"} == set(inc["timeline"][0])
    assert {c.name for c in RoleAssignment.__table__.columns} - {"incident_id"} == set(inc["roles"][0])
    assert {c.name for c in Person.__table__.columns} == set(with_records["people"][0])
    for sec in SECTIONS:
        rows = with_records[sec.key] if sec.scope == "store" else inc[sec.key]
        assert rows, f"build_store_with_records makes no {sec.nouns[0]}: add one, so its columns are checked"
        assert {c.name for c in sec.columns} == set(rows[0]), sec.key


def test_cli_import_says_what_came_with_the_incidents(run_cli, with_records, tmp_path):
    path = write(with_records, tmp_path / "records.json")
    elsewhere = tmp_path / "elsewhere"
    code, out, err = run_cli("import", str(path), data=elsewhere)
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "Imported: created 2, extended 0, unchanged 0, 21 timeline entries added, 2 responders added",
        "  added: 1 stakeholder, 1 maintenance window, 2 maintenance updates, 3 messages, 4 stakeholder log lines, "
        "5 regulatory clocks, 1 post-incident review, 1 action item, 1 impact record, 1 delegation, "
        "2 delegation reviews, 1 problem, 1 problem link, 1 change link, 1 vendor case, 3 remote links",
    ]
    code, out, _ = run_cli("import", str(path), "--json", data=elsewhere)
    report = json.loads(out)
    assert code == 0 and report["unchanged"] == ["INC-0001", "INC-0002"] and report["entries_added"] == 0
    assert report["records"]["messages"] == {"added": 0, "updated": 0}
    code, out, _ = run_cli("verify", data=elsewhere)
    assert code == 0 and "4 stakeholder log lines; every chain holds" in out


# -- a new table is one Section ------------------------------------------------------------------------
class _ElsewhereBase(DeclarativeBase):
    """Kept out of models.entities' metadata (which the migrations are checked against)."""

    metadata = MetaData()


Incident.__table__.to_metadata(_ElsewhereBase.metadata)  # so its foreign key has a table to name


class PlannedMaintenance(_ElsewhereBase):
    """Shaped like the planned maintenance windows another branch adds: store-wide, numbered MNT-0001 on,
    optionally one incident's."""

    __tablename__ = "test_planned_work"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


WINDOWS = Section("planned_work", PlannedMaintenance, ("planned work window", "planned work windows"),
                  "store", since=2, merge="newer", order_by=("number",), renumber=("number", "key", "MNT-{:04d}"),
                  name_row=lambda r: f"maintenance {r['key']}")  # fmt: skip


def test_a_new_table_is_one_section_declaration(sitrep, clock, target):
    """Everything but the Section line comes from the table: writing, reading back, references, merging."""
    from services.exchange.export_import import Exchange
    from services.exchange.sections import declaration_problems

    sections = (*SECTIONS, WINDOWS)
    assert declaration_problems(sections) == []
    app, db = target
    here, there = (Exchange(a.store, a.catalog, a.now, lambda *_: None, sections) for a in (sitrep, app))
    for a in (sitrep, app):
        PlannedMaintenance.__table__.create(a.store.writer)
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    other = sitrep.incidents.declare("Search slow", "SEV3", author="ana")
    t0 = clock()
    rows = [{"id": "w1", "number": 1, "key": "MNT-0001", "title": "Database failover test", "services": ["checkout"],
             "starts_at": t0, "ends_at": t0 + timedelta(hours=1), "incident_id": inc.id, "updated_at": t0},
            {"id": "w2", "number": 2, "key": "MNT-0002", "title": "Kernel patching", "services": [],
             "starts_at": t0 + timedelta(days=1), "ends_at": t0 + timedelta(days=1, hours=2), "incident_id": None,
             "updated_at": t0}]  # fmt: skip
    with sitrep.store.write_connection() as c:
        c.execute(PlannedMaintenance.__table__.insert(), rows)
    with app.store.write_connection() as c:  # the target planned its own MNT-0001
        c.execute(
            PlannedMaintenance.__table__.insert(), {**rows[1], "id": "w9", "number": 1, "key": "MNT-0001"}
        )

    doc = here.export()
    assert [w["id"] for w in doc["planned_work"]] == ["w1", "w2"]
    assert doc["planned_work"][0]["starts_at"] == "2026-03-14T09:00:00.000000Z"
    assert [w["id"] for w in here.export([other.key])["planned_work"]] == ["w2"]
    report = there.import_document(copy.deepcopy(doc))
    assert report.records["planned_work"].added == 2
    assert report.records["planned_work"].renumbered == {
        "MNT-0001": "MNT-0002",
        "MNT-0002": "MNT-0003",
    }
    assert not there.import_document(copy.deepcopy(doc)).changed
    mine = {w["id"]: w for w in there.export()["planned_work"]}
    for w in doc["planned_work"]:
        assert {k: v for k, v in mine[w["id"]].items() if k not in ("number", "key")} == {
            k: v for k, v in w.items() if k not in ("number", "key")
        }

    bad = copy.deepcopy(doc)
    bad["planned_work"][1]["incident_id"] = "nowhere"
    bad["planned_work"][0]["ends_at"] = "tomorrow"
    before = row_counts(db)
    with pytest.raises(ImportFailure, match=r"'planned_work'\[0\]: 'ends_at' is not a timestamp"):
        there.import_document(bad, origin="x.json")
    bad["planned_work"][0]["ends_at"] = doc["planned_work"][0]["ends_at"]
    with pytest.raises(
        ImportFailure, match=r"\[1\] \(maintenance MNT-0002\): 'incident_id' names an incident that is not in"
    ):
        there.import_document(bad, origin="x.json")
    assert row_counts(db) == before

    later = copy.deepcopy(doc)
    later["planned_work"][1].update(title="Kernel patching (moved)", updated_at="2026-03-14T10:00:00.000000Z")
    assert there.import_document(later).records["planned_work"].updated == 1
    moved = next(w for w in there.export()["planned_work"] if w["id"] == "w2")
    assert (moved["title"], moved["key"]) == ("Kernel patching (moved)", "MNT-0003"), "its number here stays"


def test_a_link_to_no_incident_sits_at_the_top_and_is_never_dropped(sitrep, clock, target, monkeypatch):
    """A link whose local record is not an incident's (main's maintenance windows have them) is written at the
    top of a whole export. A kind this Sitrep does not know (here an invented 'runbook') is refused loudly,
    never dropped; once its kind is in LINK_KINDS it imports and round-trips like the others."""
    from models.entities import RemoteLink
    from services.exchange.sections import LINK_KINDS

    link = {"id": "l1", "backend": "statuspage", "local_kind": "runbook", "local_id": "rb1", "incident_id": None,
            "remote_kind": "page", "remote_id": "rb-1", "url": None, "origin": "sitrep",
            "remote_state": "scheduled", "created_at": clock(), "updated_at": clock()}  # fmt: skip
    with sitrep.store.write_connection() as c:
        c.execute(RemoteLink.__table__.insert(), link)
    inc = sitrep.incidents.declare("Checkout down", "SEV1", author="ana")
    doc = sitrep.exchange.export()
    assert [lk["id"] for lk in doc["remote_links"]] == ["l1"] and doc["incidents"][0]["remote_links"] == []
    assert sitrep.exchange.export([inc.key])["remote_links"] == []

    app, db = target
    before = row_counts(db)
    with pytest.raises(ImportFailure, match=r"'remote_links'\[0\] .*local_kind 'runbook' is not one of"):
        app.exchange.import_document(copy.deepcopy(doc), origin="x.json")
    assert row_counts(db) == before

    monkeypatch.setitem(LINK_KINDS, "runbook", lambda ctx: None)
    assert app.exchange.import_document(copy.deepcopy(doc)).records["remote_links"].added == 1
    assert app.exchange.export()["remote_links"] == doc["remote_links"]
    assert not app.exchange.import_document(copy.deepcopy(doc)).changed
