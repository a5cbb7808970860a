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
from whole_incident import run_with_services

from models.enums import ALLOWED_TRANSITIONS, REOPEN_TARGETS, ClockState, MessageState, Status
from services.comms.service import LOG_CHANNELS, ContactInput
from services.comms.templates import TemplateLibrary
from services.core import Sitrep
from services.errors import ImportFailure, SitrepError
from services.roles import HANDOVER_FIELDS
from services.secrets import MemorySecrets
from services.timeline import entry_digest

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
