"""A ransomware exercise played to its end on a fake clock at ten times real time, against a store whose
backends point at loopback fakes: injects arrive on time, the sheet scores what the players did, nothing
leaves the machine, and the real store is untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.core import Sitrep
from services.exercises.scenario import load_scenarios
from services.exercises.workspace import build_vocabulary, create_exercise, holds_exercise
from tests.comms.smtp_server import SmtpServer
from tests.exercises.conftest import real_store_with_backends


def _sheet(state):
    return {row.expectation.id: row for row in state.sheet}


def test_ransomware_on_a_compressed_clock(world, clock):
    real, fakes, secrets = world["real"], world["fakes"], world["secrets"]
    shelf = load_scenarios(world["config"], build_vocabulary(real.catalog, real.comms))
    scenario = shelf.scenarios["ransomware-data-theft"]
    folder = create_exercise(real, scenario, facilitator="fran", data_dir=world["data"], config_dir=world["config"])
    assert not holds_exercise(real.store)
    ex = Sitrep.open(f"sqlite:///{folder / 'sitrep.db'}", backups_dir=folder / "backups", config_dir=folder / "config",
                     now=clock, sync_options={"secrets": secrets})  # fmt: skip
    try:
        assert ex.in_exercise
        assert {p.handle for p in ex.people.list()} >= {"alice", "bob", "carol", "lena"}
        ex.exercises.start(by="fran", speed=10)
        state = ex.exercises.state()
        assert [r.id for r in state.msel if r.status == "delivered"] == ["I1"]

        clock.advance(seconds=30)  # T+0:05
        inc = ex.incidents.declare("FS-FIN-02 encrypting files", "SEV1", author="alice", incident_type="ransomware")
        assert inc.is_exercise
        ex.roles.assign(inc.key, "IC", "alice", author="alice")
        ex.exercises.tick()
        entries = ex.timeline.entries(inc.id)
        injects = [e for e in entries if e.kind == "inject"]
        assert len(injects) == 1 and "EXERCISE INJECT I1" in injects[0].body

        clock.advance(seconds=29)  # T+0:09:50: I2 is not due yet
        assert ex.exercises.tick() == []
        clock.advance(seconds=1)  # T+0:10
        assert ex.exercises.tick() == ["I2"]

        clock.advance(seconds=60)  # T+0:20
        assert ex.exercises.tick() == ["I3"]
        clock.advance(seconds=18)  # T+0:23
        for role, who in (("COMMS", "bob"), ("SCRIBE", "carol"), ("LEGAL", "lena")):
            ex.roles.assign(inc.key, role, who, author="alice")
        ex.comms.start_clock(inc.key, "gdpr_sa", author="lena")

        clock.advance(seconds=180)  # T+0:53
        assert ex.exercises.tick() == ["I4", "I5"]
        clock.advance(seconds=24)  # T+0:57
        draft = ex.comms.draft(inc.key, "media_holding_statement", author="bob",
                               fields={"journalist": "Sam Reporter, Daily Tech"})  # fmt: skip
        assert draft.state == "draft"

        sheet = _sheet(ex.exercises.state())
        assert sheet["I1-declare"].status == "met" and sheet["I1-declare"].delay_text == "5 min 00 s"
        assert sheet["I1-ic"].status == "met"
        assert sheet["I3-gdpr"].status == "met" and sheet["I3-gdpr"].delay_text == "3 min 00 s"
        assert sheet["I3-roles"].status == "met"
        assert sheet["I5-holding"].status == "met" and sheet["I5-holding"].delay_text == "4 min 00 s"  # from its delivery at T+0:53
        assert sheet["I1-isolate"].status == "missed"  # nobody logged isolating the host within 15 min
        assert sheet["I5-approved"].status == "not yet due"
        assert sheet["I6-materiality"].status == "waiting"
        assert sheet["I1-channel"].status == "to mark"
        assert sheet["I1-declare"].evidence.who == "alice"

        ex.exercises.mark("I1-channel", "met", by="fran", note="Moved to #op-lockd within minutes")
        ex.exercises.rate("O1", "S", by="fran", notes="Declared fast; legal came in late")
        ex.exercises.hotwash("improvement", "Nobody owned isolating the host", by="fran")
        ex.exercises.add_action("Host isolation had no owner", "Name the security lead as owner of isolation in the runbook",
                                owner="Security team", due=clock() + timedelta(days=14), by="fran", objective="O2")  # fmt: skip
        ex.exercises.end(by="fran")
        state = ex.exercises.state()
        sheet = _sheet(state)
        assert sheet["I5-approved"].status == "missed" and sheet["I1-channel"].marked_by == "fran"
        assert state.ratings["O1"][0] == "S" and state.actions[0].owner == "Security team"

        # What the players did was planned for every backend, and recorded instead of sent.
        report = ex.sync.drain_once(max_wait_s=5)
        items = ex.sync.items()
        assert items and all(i.state == "sent" for i in items), [(i.backend, i.state, i.last_error) for i in items]
        assert {i.backend for i in items} >= {"pagerduty", "jira", "statuspage"}
        assert report is not None
    finally:
        ex.close()
    for name, fake in fakes.items():
        assert fake_requests(fake) == 0, f"{name} received requests during the exercise"
    assert real.incidents.list() == []  # the exercise's incident is in its own store only


def fake_requests(fake) -> int:
    if isinstance(fake, SmtpServer):
        return len(fake.mailbox.messages())
    return len(fake.requests)


@pytest.fixture
def world(data_dir, clock, tmp_path):
    yield from real_store_with_backends(data_dir, clock, tmp_path)
