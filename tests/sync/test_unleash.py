"""Feature-flag kill switches through Unleash (admin API fake on loopback): switched through the outbox,
read back, before/after and a change record on the timeline; queued (and said queued) while Unleash is
down, then delivered exactly once; 500/429/401/404 and a missing token each said clearly."""

from __future__ import annotations

import pytest

from models.enums import EntryKind
from services.core import Sitrep
from services.errors import NotFound, ValidationError
from services.record.owed import owed_at_resolve
from services.resolution.flags import FlagMapping
from services.storage.secrets import MemorySecrets
from tests.fakes import unleash as ful
from tests.sync.conftest import WORKER_OPTIONS

FLAG = "payments.new-3ds-flow"


@pytest.fixture
def fake_unleash():
    fake = ful.FakeUnleash()
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations == [], f"Unleash fake saw requests that break the contract: {fake.violations}"


def _open(data_dir, clock, secrets) -> Sitrep:
    return Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                       config_dir=data_dir / "config", now=clock,
                       sync_options={"secrets": secrets, "worker_options": WORKER_OPTIONS})  # fmt: skip


@pytest.fixture
def secrets():
    return MemorySecrets({("unleash", "api_token"): ful.TOKEN})


@pytest.fixture
def flag_app(data_dir, clock, fake_unleash, secrets):
    app = _open(data_dir, clock, secrets)
    app.sync.configure("unleash", {"enabled": True, "timeout_s": 1.0, "max_requests_per_s": 0,
                                   "url": fake_unleash.url, "project": ful.PROJECT})  # fmt: skip
    app.flags.save_mapping([FlagMapping("payments-api", FLAG, environments=("production", "staging")),
                            FlagMapping("payments", "payments.smart-retry"),
                            FlagMapping("search", "search.semantic")])  # fmt: skip
    app.people.add("Ana Ruiz", "ana")
    yield app
    app.close()


def _incident(app):
    inc = app.incidents.declare("Payments failing", "SEV1", author="ana", services=["payments-api", "checkout"])
    app.roles.assign(inc.key, "IC", "ana", author="ana")
    return inc


def test_the_mapping_lists_the_incidents_flags_with_their_state_read_now(flag_app, data_dir):
    inc = _incident(flag_app)
    assert [f.key for f in flag_app.flags.mapped(inc.key)] == [FLAG, "payments.smart-retry"]
    rows = flag_app.flags.read(inc.key)
    assert [(r.mapping.key, r.environment, r.state.enabled) for r in rows] == [
        (FLAG, "production", True), (FLAG, "staging", True), ("payments.smart-retry", "production", True)]
    assert "payments.new-3ds-flow" in (data_dir / "config" / "flags.toml").read_text()


def test_switch_off_reads_back_and_records_before_after_and_a_change_record(flag_app, fake_unleash):
    inc = _incident(flag_app)
    request = flag_app.flags.request_switch(inc.key, FLAG, "production", on=False, author="ana",
                                            why="3DS challenge loop declines EU cards")  # fmt: skip
    assert fake_unleash.enabled(FLAG, "production")  # nothing switched before the outbox sends it
    outcome = flag_app.flags.deliver(request)
    assert outcome.state == "done" and (outcome.before, outcome.after) == (True, False)
    assert "read back off (was on)" in outcome.text
    assert not fake_unleash.enabled(FLAG, "production") and fake_unleash.enabled(FLAG, "staging")
    # Read before, switched, read back: in that order.
    paths = [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake_unleash.requests]
    assert paths == [("GET", FLAG), ("POST", "off"), ("GET", FLAG)]
    result = [e for e in flag_app.timeline.entries(inc.id) if e.kind == EntryKind.CONFIG_CHANGE.value][-1]
    assert "read back off (was on)" in result.body and result.author == "ana"
    [record] = flag_app.change_records.list(inc.key)
    assert (record.ci, record.before, record.after, record.made_through) == (f"{FLAG}@production", "on", "off", "flag")
    assert record.why == "3DS challenge loop declines EU cards" and record.undo.startswith(f"Switch {FLAG} on again")
    # A flag left off is owed before resolving, and switching it on settles that.
    assert any(o.kind == "flag" and FLAG in o.text for o in owed_at_resolve(flag_app, inc.key))
    back = flag_app.flags.deliver(flag_app.flags.request_switch(inc.key, FLAG, "production", on=True,
                                                                author="ana", why="fix deployed"))  # fmt: skip
    assert back.state == "done" and fake_unleash.enabled(FLAG, "production")
    assert not any(o.kind == "flag" for o in owed_at_resolve(flag_app, inc.key))
    assert len(flag_app.change_records.list(inc.key)) == 2


def test_down_is_queued_and_said_queued_then_delivered_exactly_once(flag_app, fake_unleash):
    inc = _incident(flag_app)
    fake_unleash.stop()
    request = flag_app.flags.request_switch(inc.key, FLAG, None, on=False, author="ana", why="kill it")
    outcome = flag_app.flags.deliver(request)
    assert outcome.state == "queued" and "unreachable" in outcome.detail
    assert outcome.text.startswith("Queued, not done")
    assert flag_app.change_records.list(inc.key) == []
    assert any("still queued to be switched off" in o.text for o in owed_at_resolve(flag_app, inc.key))
    fake_unleash.restart()
    flag_app.sync.drain_once()
    flag_app.sync.drain_once()
    assert flag_app.flags.outcome(request).state == "done"
    assert fake_unleash.count("POST", r"/off$") == 1 and not fake_unleash.enabled(FLAG, "production")
    results = [e for e in flag_app.timeline.entries(inc.id) if "Kill switch:" in e.body and
               e.kind == EntryKind.CONFIG_CHANGE.value]  # fmt: skip
    assert len(results) == 1 and "read back off (was on)" in results[0].body
    assert len(flag_app.change_records.list(inc.key)) == 1


@pytest.mark.parametrize("status,headers,said", [
    (500, {}, "Unleash answered 500"),
    (429, {"Retry-After": "1"}, "rate limiting"),
])  # fmt: skip
def test_500_and_429_leave_it_queued_with_a_clear_message(flag_app, fake_unleash, status, headers, said):
    inc = _incident(flag_app)
    fake_unleash.add_fault(method="POST", path=r"/off$", status=status, headers=headers, count=50)
    outcome = flag_app.flags.deliver(flag_app.flags.request_switch(inc.key, FLAG, None, on=False, author="ana",
                                                                   why="kill it"))  # fmt: skip
    assert outcome.state == "queued" and said in outcome.detail
    assert fake_unleash.enabled(FLAG, "production")


def test_unknown_flag_is_a_clear_refusal_not_a_retry(flag_app, fake_unleash):
    inc = _incident(flag_app)
    fake_unleash.projects[ful.PROJECT].pop("payments.smart-retry")
    outcome = flag_app.flags.deliver(flag_app.flags.request_switch(inc.key, "payments.smart-retry", None,
                                                                   on=False, author="ana", why="x"))  # fmt: skip
    assert outcome.state == "failed" and "no flag 'payments.smart-retry'" in outcome.detail
    with pytest.raises(NotFound, match="not mapped"):
        flag_app.flags.request_switch(inc.key, "search.semantic", None, on=False, author="ana", why="x")


def test_wrong_token_pauses_with_unleashs_words(flag_app, fake_unleash, secrets):
    inc = _incident(flag_app)
    secrets.set("unleash", "api_token", "*:*.not-the-token")
    outcome = flag_app.flags.deliver(flag_app.flags.request_switch(inc.key, FLAG, None, on=False, author="ana",
                                                                   why="kill it"))  # fmt: skip
    assert outcome.state == "queued" and "invalid or has expired" in outcome.detail
    assert fake_unleash.enabled(FLAG, "production")


def test_no_token_says_how_to_set_it_up(data_dir, clock, fake_unleash):
    app = _open(data_dir, clock, MemorySecrets({}))
    try:
        app.people.add("Ana Ruiz", "ana")
        app.flags.save_mapping([FlagMapping("payments-api", FLAG)])
        inc = _incident(app)
        name, problem = app.flags.backend()
        assert name is None and "backend set unleash" in problem and "Tools ▸ Backends" in problem
        app.sync.configure("unleash", {"enabled": True, "url": fake_unleash.url})
        with pytest.raises(ValidationError, match="no api token in the keyring.*--secret api_token"):
            app.flags.request_switch(inc.key, FLAG, None, on=False, author="ana", why="x")
        assert fake_unleash.requests == []
    finally:
        app.close()
