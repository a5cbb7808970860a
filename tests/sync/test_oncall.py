"""Who is on call in PagerDuty, as role suggestions: read from the loopback fake (which checks every
request against the spec), matched to the responder directory, remembered for when the network is gone."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta

import keyring
import pytest
from keyring.backends import fail

from services.core import Sitrep
from services.storage.secrets import MemorySecrets, SecretStore
from services.sync.oncall import CACHE_FILE, OnCallNotSetUp, OnCallUnavailable, on_call_inputs
from tests.fakes import pagerduty as fpd
from tests.fakes.openapi import specs_dir
from tests.sync.conftest import WORKER_OPTIONS, configure_backends

CHECKOUT_POLICY, PAYMENTS_POLICY = "PEP0001", "PEP0002"
RATE_LIMITED = {"ratelimit-limit": "960", "ratelimit-remaining": "0"}


@pytest.fixture
def on_call(fake_pd, clock):
    """Checkout's rota at 09:00 on the test clock: Ana primary, Dee secondary (not in Sitrep's
    directory), Bo always on the policy's third level; Payments has its own."""
    now = clock()
    fake_pd.add_user("PDEE001", "Dee Patel", "Dee.Patel@Example.com", "Asia/Kolkata")
    fake_pd.add_user("PCAS001", "Cas Moreau", "cas@example.com", "Mars/Olympus")  # not a real zone
    fake_pd.put_on_call(CHECKOUT_POLICY, 1, "PANA001", ("PSCH001", "Checkout primary"),
                        now - timedelta(hours=1), now + timedelta(hours=8))  # fmt: skip
    # Yesterday's and tomorrow's shifts are not "now".
    fake_pd.put_on_call(CHECKOUT_POLICY, 1, "PBO0001", ("PSCH001", "Checkout primary"),
                        now - timedelta(hours=25), now - timedelta(hours=1))  # fmt: skip
    fake_pd.put_on_call(CHECKOUT_POLICY, 1, "PCAS001", ("PSCH001", "Checkout primary"),
                        now + timedelta(hours=8), now + timedelta(hours=32))  # fmt: skip
    fake_pd.put_on_call(CHECKOUT_POLICY, 2, "PDEE001", ("PSCH002", "Checkout secondary"),
                        now - timedelta(hours=3), now + timedelta(hours=21))  # fmt: skip
    fake_pd.put_on_call(CHECKOUT_POLICY, 3, "PBO0001")
    fake_pd.put_on_call(PAYMENTS_POLICY, 1, "PCAS001", ("PSCH003", "Payments primary"),
                        now - timedelta(hours=2), now + timedelta(hours=4))  # fmt: skip
    return fake_pd


@pytest.fixture
def incident(app):
    app.people.add("Ana Ruiz", "ana", email="ANA@example.com", timezone="Europe/Madrid")
    app.people.add("Bo Chen", "bo")  # no e-mail: a name alone is never taken as a match
    inc = app.incidents.declare("Checkout failing", "SEV1", author="ic", services=["Checkout", "payments"])
    app.roles.assign(inc.id, "IC", "ana", author="ic")
    return inc


def rows(report) -> list[tuple]:
    return [(s.level_text, s.name, s.schedule, s.person.handle if s.person else None, s.holds, s.for_services)
            for s in report.suggestions]  # fmt: skip


def oncall_requests(fake) -> list:
    return [r for r in fake.requests if r.path == "/oncalls"]


def test_suggestions_are_the_people_on_call_now_matched_by_email_and_ordered_by_level(
    app, on_call, incident, clock
):
    configure_backends(app, pd=on_call)
    report = app.sync.on_call_suggestions(**on_call_inputs(app, incident.key))

    assert rows(report) == [
        ("L1", "Ana Ruiz", "Checkout primary", "ana", ("Incident Commander",), ()),
        ("L2", "Dee Patel", "Checkout secondary", None, (), ()),
        ("L3", "Bo Chen", None, None, (), ()),
    ]
    ana, dee, bo = report.suggestions
    assert ana.until == clock() + timedelta(hours=8) and bo.until is None
    assert bo.schedule_text == "on the policy directly"
    assert not report.from_cache and report.problem is None and report.as_of == clock()
    assert report.scope_text() == "Checkout escalation (Checkout)"
    # Someone not in the directory comes with what adding them takes: handle from the e-mail, their zone.
    assert dee.new_responder.handle == "dee.patel" and dee.new_responder.timezone == "Asia/Kolkata"
    assert dee.new_responder.email == "Dee.Patel@Example.com" and ana.new_responder is None
    # Bo Chen the local responder has no e-mail: the PagerDuty Bo is offered as someone to add,
    # with a handle that does not collide with @bo.
    assert bo.new_responder.handle == "bo-2"

    # The service's escalation policy, then one /oncalls read of it, as the spec spells it.
    assert [r.path for r in on_call.requests] == ["/services/PSVC001", "/oncalls"]
    (req,) = oncall_requests(on_call)
    assert req.query["escalation_policy_ids[]"] == [CHECKOUT_POLICY]
    assert req.query["earliest"] == ["true"] and req.query["include[]"] == ["users"]
    assert req.query["since"] == req.query["until"] == ["2026-03-14T09:00:00Z"]
    assert req.headers.get("Authorization") == f"Token token={fpd.TOKEN}"


def test_an_incidents_mapped_services_add_their_on_call_and_a_bad_mapping_is_named(app, on_call, incident):
    configure_backends(app, pd=on_call)
    app.sync.configure("pagerduty", {"service_map": {"payments": "PSVC002", "checkout": "PSVC001",
                                                     "search": "PNOSUCH"}})  # fmt: skip
    inc = app.incidents.declare("Search and payments", "SEV2", author="ic", services=["payments", "search"])
    report = app.sync.on_call_suggestions(**on_call_inputs(app, inc.id))

    # Cas is on call for Payments (mapped) and tomorrow for Checkout (not now): one row, for payments.
    assert [(s.level_text, s.name, s.for_services) for s in report.suggestions] == [
        ("L1", "Ana Ruiz", ()),
        ("L1", "Cas Moreau", ("payments",)),
        ("L2", "Dee Patel", ()),
        ("L3", "Bo Chen", ()),
    ]
    cas = report.suggestions[1]
    assert cas.new_responder.timezone == "UTC"  # PagerDuty's zone was not one Sitrep knows
    assert report.scope_text() == "Checkout escalation (Checkout); Payments escalation (for payments)"
    assert report.problem == "PagerDuty has no service PNOSUCH ('service_map': search)"
    (req,) = oncall_requests(on_call)
    assert sorted(req.query["escalation_policy_ids[]"]) == [CHECKOUT_POLICY, PAYMENTS_POLICY]

    # A person on two of the policies is listed once, at their lowest level, with the other noted.
    on_call.put_on_call(PAYMENTS_POLICY, 2, "PANA001")
    again = app.sync.on_call_suggestions(**on_call_inputs(app, inc.id))
    assert [s.name for s in again.suggestions].count("Ana Ruiz") == 1
    assert again.suggestions[0].also == ("L2 Payments escalation",)


def test_a_configured_escalation_policy_is_read_directly(app, on_call, incident):
    configure_backends(app, pd=on_call)
    app.sync.configure("pagerduty", {"escalation_policy_id": PAYMENTS_POLICY})
    report = app.sync.on_call_suggestions(**on_call_inputs(app, incident.id))
    assert [s.name for s in report.suggestions] == ["Cas Moreau"]
    assert [r.path for r in on_call.requests] == ["/oncalls"]
    assert report.scope_text() == "Payments escalation"


def test_every_page_is_read(app, on_call, incident):
    configure_backends(app, pd=on_call)
    on_call.max_page = 2
    for n in range(5):
        on_call.add_user(f"PEXTRA{n}", f"Extra {n}", f"extra{n}@example.com")
        on_call.put_on_call(CHECKOUT_POLICY, 4 + n, f"PEXTRA{n}")
    report = app.sync.on_call_suggestions(**on_call_inputs(app))
    assert [s.name for s in report.suggestions] == ["Ana Ruiz", "Dee Patel", "Bo Chen"] + [
        f"Extra {n}" for n in range(5)
    ]
    assert [r.query["offset"] for r in oncall_requests(on_call)] == [["0"], ["2"], ["4"], ["6"]]


def test_a_rate_limited_answer_is_waited_out_then_read(app, on_call, incident):
    configure_backends(app, pd=on_call)
    on_call.add_fault(path="^/oncalls$", status=429, headers={**RATE_LIMITED, "ratelimit-reset": "1"},
                      body={"error": {"code": 2020, "message": "Rate Limit Exceeded"}})  # fmt: skip
    report = app.sync.on_call_suggestions(**on_call_inputs(app))
    assert [s.name for s in report.suggestions] == ["Ana Ruiz", "Dee Patel", "Bo Chen"]
    refused, answered = oncall_requests(on_call)
    assert refused.status == 429 and answered.status == 200
    assert answered.at - refused.at >= 0.9  # it waited the second PagerDuty asked for


def test_a_rate_limit_that_lasts_is_said_in_words(app, on_call, incident):
    configure_backends(app, pd=on_call)
    on_call.add_fault(
        path="^/oncalls$", status=429, count=10, headers={**RATE_LIMITED, "ratelimit-reset": "0"}
    )
    with pytest.raises(OnCallUnavailable) as err:
        app.sync.on_call_suggestions(**on_call_inputs(app))
    assert err.value.message == "PagerDuty is rate limiting requests; try again in a minute."
    assert len(oncall_requests(on_call)) == 3  # a few tries, then the person is told

    # Asked to wait long, it does not keep the person waiting: one try, and when to come back.
    on_call.faults.clear()
    on_call.requests.clear()
    on_call.add_fault(path="^/oncalls$", status=429, headers={**RATE_LIMITED, "ratelimit-reset": "120"})
    with pytest.raises(OnCallUnavailable) as err:
        app.sync.on_call_suggestions(**on_call_inputs(app))
    assert err.value.message == "PagerDuty is rate limiting requests; try again in about 120 s."
    assert len(oncall_requests(on_call)) == 1


def test_refused_credentials_say_which_key_to_fix(app, on_call, incident):
    configure_backends(app, pd=on_call)
    app.sync.set_secret("pagerduty", "api_token", "not-the-token")
    with pytest.raises(OnCallUnavailable) as err:
        app.sync.on_call_suggestions(**on_call_inputs(app))
    assert err.value.message.startswith("PagerDuty refused the credentials (401): Invalid Credentials.")
    assert "--secret api_token --token-from-stdin" in err.value.message
    assert "not-the-token" not in err.value.message and err.value.exit_code == 8


def test_a_server_error_is_said_in_the_vendors_words(app, on_call, incident):
    configure_backends(app, pd=on_call)
    on_call.add_fault(path="^/oncalls$", status=500)
    with pytest.raises(OnCallUnavailable) as err:
        app.sync.on_call_suggestions(**on_call_inputs(app))
    assert err.value.message == "PagerDuty answered 500: injected failure; injected failure"


def test_a_garbled_or_late_answer_is_said_not_raised(app, on_call, incident):
    configure_backends(app, pd=on_call)
    on_call.add_fault(path="^/oncalls$", kind="malformed")
    with pytest.raises(OnCallUnavailable) as err:
        app.sync.on_call_suggestions(**on_call_inputs(app))
    assert err.value.message.startswith("PagerDuty answered 200 with a body that is not JSON")
    on_call.add_fault(path="^/oncalls$", kind="timeout", delay=3)  # the backend's timeout_s is 1
    with pytest.raises(OnCallUnavailable) as err:
        app.sync.on_call_suggestions(**on_call_inputs(app))
    assert err.value.message.startswith("PagerDuty did not answer in time")


def test_offline_with_no_earlier_answer_says_pagerduty_is_unreachable(app, on_call, incident):
    configure_backends(app, pd=on_call)
    on_call.stop()
    with pytest.raises(OnCallUnavailable) as err:
        app.sync.on_call_suggestions(**on_call_inputs(app))
    assert err.value.message.startswith("PagerDuty is unreachable (")


def test_offline_the_last_answer_is_shown_with_its_time(app, on_call, incident, clock, data_dir):
    configure_backends(app, pd=on_call)
    first = app.sync.on_call_suggestions(**on_call_inputs(app, incident.id))
    cache = data_dir / "config" / CACHE_FILE
    text = cache.read_text()
    assert fpd.TOKEN not in text and "Dee.Patel@Example.com" in text
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600

    clock.advance(minutes=25)
    on_call.stop()
    app.people.add("Dee Patel", "dee", email="dee.patel@example.com")  # added since: matched now
    report = app.sync.on_call_suggestions(**on_call_inputs(app, incident.id))
    assert report.from_cache and report.as_of == first.as_of == clock() - timedelta(minutes=25)
    assert report.problem.startswith("PagerDuty is unreachable (")
    assert rows(report)[:2] == [
        ("L1", "Ana Ruiz", "Checkout primary", "ana", ("Incident Commander",), ()),
        ("L2", "Dee Patel", "Checkout secondary", "dee", (), ()),
    ]
    # What is remembered is per set of targets: another mapping was never read, so nothing to show.
    app.sync.configure("pagerduty", {"service_map": {"payments": "PSVC002"}})
    with pytest.raises(OnCallUnavailable):
        app.sync.on_call_suggestions(**on_call_inputs(app, incident.id))


def test_a_garbled_memory_is_ignored_not_fatal(app, on_call, incident, data_dir):
    configure_backends(app, pd=on_call)
    (data_dir / "config" / CACHE_FILE).write_text("{not json")
    report = app.sync.on_call_suggestions(**on_call_inputs(app))
    assert len(report.suggestions) == 3
    assert json.loads((data_dir / "config" / CACHE_FILE).read_text())["version"] == 1


def test_not_set_up_is_said_before_any_request(app, fake_pd, incident):
    assert app.sync.on_call_problem() == (
        "PagerDuty: set 'service_id' (or 'escalation_policy_id') to read who is on call. "
        "(Tools ▸ Backends… in the console, or `sitrep backend set pagerduty`)"
    )
    with pytest.raises(OnCallNotSetUp):
        app.sync.on_call_suggestions(**on_call_inputs(app, incident.id))
    # Reading on-call needs neither sending turned on nor the From e-mail.
    app.sync.configure("pagerduty", {"url": fake_pd.url, "service_id": "PSVC001", "timeout_s": 1.0})
    assert app.sync.on_call_problem() is None
    app.sync.configure("pagerduty", {"mode": "events"})
    assert "Events v2 only" in app.sync.on_call_problem()
    assert fake_pd.requests == []


def test_a_missing_token_or_keyring_is_said_in_words(data_dir, clock, on_call):
    def open_app(secrets):
        return Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=data_dir / "config", now=clock,
                           sync_options={"secrets": secrets, "worker_options": WORKER_OPTIONS})  # fmt: skip

    app = open_app(MemorySecrets())
    try:
        app.sync.configure("pagerduty", {"url": on_call.url, "service_id": "PSVC001", "timeout_s": 1.0})
        with pytest.raises(OnCallUnavailable) as err:
            app.sync.on_call_suggestions(people=[])
        assert err.value.message == (
            "No PagerDuty api token in the keyring. Set it with "
            "`sitrep backend set pagerduty --secret api_token --token-from-stdin`."
        )
    finally:
        app.close()
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    app = open_app(SecretStore())
    try:
        with pytest.raises(OnCallUnavailable) as err:
            app.sync.on_call_suggestions(people=[])
        assert "no OS keyring was found" in err.value.message
    finally:
        app.close()
        keyring.set_keyring(previous)
    assert on_call.requests == []


@pytest.mark.skipif(specs_dir() is None, reason="needs the vendor specs (SITREP_SPECS or ../shared/specs)")
def test_the_fakes_on_call_answers_follow_the_spec(on_call, clock):
    """The fake's /oncalls (and the service it starts from) against the spec's response schemas."""
    import httpx

    headers = {
        "Authorization": f"Token token={fpd.TOKEN}",
        "Accept": fpd.ACCEPT,
        "Content-Type": "application/json",
    }
    at = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = on_call.rest
    with httpx.Client(base_url=on_call.url, headers=headers) as client:
        plain = client.get("/oncalls", params={"since": at, "until": at}).json()
        spec.check_schema({"$ref": f"{spec.uri}#/paths/~1oncalls/get/responses/200/content/application~1json/schema"},
                          plain, "GET /oncalls answer")  # fmt: skip
        assert {oc["user"]["type"] for oc in plain["oncalls"]} == {"user_reference"}
        full = client.get("/oncalls", params={"since": at, "until": at, "include[]": "users"}).json()
        for oc in full["oncalls"]:
            spec.check_schema(
                {"$ref": f"{spec.uri}#/components/schemas/User"}, oc["user"], "an included user"
            )
        service = client.get("/services/PSVC001").json()
        spec.check_schema(
            {"$ref": f"{spec.uri}#/components/schemas/Service"}, service["service"], "a service"
        )
        # since after until is refused, as PagerDuty refuses it
        assert (
            client.get("/oncalls", params={"since": at, "until": "2026-03-13T00:00:00Z"}).status_code == 400
        )


# -- the command line ------------------------------------------------------------------------------
def test_sitrep_oncall_lists_who_is_on_call_and_adds_who_is_missing(secret_service, tmp_path, cli, fake_pd):
    data = tmp_path / "data"
    now = datetime.now(UTC)  # the CLI reads the wall clock
    fake_pd.add_user("PDEE001", "Dee Patel", "Dee.Patel@Example.com", "Asia/Kolkata")
    fake_pd.put_on_call(CHECKOUT_POLICY, 1, "PANA001", ("PSCH001", "Checkout primary"),
                        now - timedelta(hours=1), now + timedelta(hours=8))  # fmt: skip
    fake_pd.put_on_call(CHECKOUT_POLICY, 2, "PDEE001", ("PSCH002", "Checkout secondary"),
                        now - timedelta(hours=1), now + timedelta(hours=20))  # fmt: skip
    res = cli(data, "oncall")
    assert res.returncode == 2 and res.stderr.startswith("sitrep: error: PagerDuty: set 'service_id'")
    res = cli(data, "backend", "set", "pagerduty", "--url", fake_pd.url, "--set", "service_id=PSVC001",
              "--set", "timeout_s=2", "--token-from-stdin", stdin=fpd.TOKEN + "\n")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert cli(data, "people", "add", "Ana Ruiz", "ana", "--email", "ana@example.com").returncode == 0
    assert cli(data, "declare", "Checkout failing", "-s", "SEV1", "--service", "checkout").returncode == 0
    assert cli(data, "role", "assign", "INC-0001", "IC", "ana").returncode == 0

    res = cli(data, "oncall", "--incident", "INC-0001")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("On call in PagerDuty, as of ") and lines[0].endswith(
        ": Checkout escalation (Checkout)"
    )
    assert lines[1].split()[:3] == ["L1", "Ana", "Ruiz"] and lines[1].endswith(
        "@ana, holds Incident Commander"
    )
    assert lines[2].split()[:3] == ["L2", "Dee", "Patel"] and lines[2].endswith("not in the directory")
    assert "Checkout secondary" in lines[2]
    assert "`sitrep oncall --add EMAIL`" in lines[3] and "--add Dee.Patel@Example.com" in lines[3]

    res = cli(data, "oncall", "--add", "dee.patel@example.com")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Added Dee Patel (@dee.patel) to the responder directory.\n"
    dee = [p for p in json.loads(cli(data, "people", "list", "--json").stdout) if p["handle"] == "dee.patel"]
    assert dee and dee[0]["timezone"] == "Asia/Kolkata" and dee[0]["email"] == "Dee.Patel@Example.com"
    res = cli(data, "oncall", "--add", "ana@example.com")
    assert res.returncode == 2 and "already in the directory as @ana" in res.stderr
    res = cli(data, "oncall", "--add", "nobody@example.com")
    assert res.returncode == 3 and "Nobody with the e-mail nobody@example.com is on call" in res.stderr

    doc = json.loads(cli(data, "oncall", "--incident", "INC-0001", "--json").stdout)
    assert doc["from_cache"] is False and doc["problem"] is None
    assert [(s["escalation_level"], s["person"]["handle"], s["holds"]) for s in doc["suggestions"]] == [
        (1, "ana", ["Incident Commander"]),
        (2, "dee.patel", []),
    ]

    # Offline: the last answer, said to be that, and when it was read.
    fake_pd.stop()
    res = cli(data, "oncall", "--incident", "INC-0001")
    assert res.returncode == 0
    assert (
        res.stderr.startswith("sitrep: PagerDuty is unreachable (")
        and "Showing the last known on-call, as of" in res.stderr
    )
    assert "@dee.patel" in res.stdout and "@ana, holds Incident Commander" in res.stdout
    assert fpd.TOKEN not in (data / "config" / "oncall-cache.json").read_text()
    # Never read for this data folder: nothing to fall back on.
    other = tmp_path / "other"
    cli(other, "backend", "set", "pagerduty", "--url", fake_pd.url, "--set", "service_id=PSVC001",
        "--set", "timeout_s=2")  # fmt: skip
    res = cli(other, "oncall")
    assert res.returncode == 8 and res.stderr.startswith("sitrep: error: PagerDuty is unreachable (")
    assert "Traceback" not in res.stderr


# -- the console -----------------------------------------------------------------------------------
@pytest.fixture
def board(app, data_dir, incident, qtbot):
    """The role board of the console on the incident, with the console's sync bridge."""
    from tests.ui.console_kit import console_context, main_window
    from ui.sync_support import sync_bridge

    ctx = console_context(app, data_dir)
    window = main_window(ctx, qtbot, "ui.panels.timeline", "ui.panels.roles")
    window.show()
    qtbot.waitExposed(window)
    yield window.panels["roles"]
    sync_bridge(ctx).tasks.wait()
    ctx.notifier.close()


def on_call_rows(section) -> list[tuple[str, ...]]:
    from ui.oncall import COLUMNS

    items = [section.list.topLevelItem(i) for i in range(section.list.topLevelItemCount())]
    return [tuple(item.text(c) for c in range(len(COLUMNS))) for item in items]


def test_the_assign_dialog_fills_the_responder_from_pagerduty_asked_off_the_gui_thread(
    app, on_call, board, qtbot, clock
):
    from PySide6.QtCore import Qt

    from ui.timefmt import viewer_time

    configure_backends(app, pd=on_call)
    dialog = board.open_assign()
    section = dialog.on_call
    assert dialog.role_id() == "DEPUTY" and section.isVisible() and not section.list.isVisible()

    # PagerDuty takes its time: the click returns at once, the dialog says it is asking.
    on_call.add_fault(kind="slow", delay=0.3, path="^/oncalls$")
    qtbot.mouseClick(section.fetch_button, Qt.MouseButton.LeftButton)
    assert section.status.text() == "Asking PagerDuty who is on call…"
    assert not section.fetch_button.isEnabled() and section.list.topLevelItemCount() == 0
    qtbot.waitUntil(lambda: section.list.topLevelItemCount() == 3)
    assert section.list.isVisible() and section.fetch_button.isEnabled()
    assert dialog.focusWidget() is section.list  # the person asked and waited: the list is where they go
    at = viewer_time(clock(), clock())
    assert section.status.text() == f"As of {at}: Checkout escalation (Checkout)"
    eight = viewer_time(clock() + timedelta(hours=8), clock())
    assert on_call_rows(section) == [
        (
            "L1",
            "Ana Ruiz",
            "Checkout primary",
            f"{eight} (8 h 00 min left)",
            "@ana · holds Incident Commander",
        ),
        (
            "L2",
            "Dee Patel",
            "Checkout secondary",
            section.list.topLevelItem(1).text(3),
            "not in the directory",
        ),
        ("L3", "Bo Chen", "on the policy directly", "no end", "not in the directory"),
    ]
    # Keyboard: from the button, Tab reaches the list, whose Enter picks (and does not submit the dialog).
    section.fetch_button.setFocus()
    dialog.focusNextPrevChild(True)
    assert dialog.focusWidget() is section.list
    assert section.pick_button.text() == "Pic&k"
    qtbot.keyClick(section.list, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.responder.handle() == "ana"
    assert dialog.other_roles.text() == "Ana Ruiz also holds Incident Commander here."

    # Someone PagerDuty pages but the directory lacks: one form, filled from PagerDuty, then picked.
    section.select("Dee Patel")
    assert section.pick_button.text() == "Add to directory and pic&k…"
    qtbot.mouseClick(section.pick_button, Qt.MouseButton.LeftButton)
    editor = dialog.editor
    assert (editor.name.text(), editor.handle.text(), editor.email.text(), editor.timezone.currentText()) == (
        "Dee Patel", "dee.patel", "Dee.Patel@Example.com", "Asia/Kolkata",
    )  # fmt: skip
    assert editor.submit()
    assert dialog.responder.handle() == "dee.patel"
    assert on_call_rows(section)[1][4] == "@dee.patel" and section.pick_button.text() == "Pic&k"
    assert dialog.submit()
    holders = {h.role: h.person.handle for h in app.roles.holders(board.incident.id)}
    assert holders == {"IC": "ana", "DEPUTY": "dee.patel"}
    assert app.people.get("dee.patel").timezone == "Asia/Kolkata"


def test_the_handover_dialog_shows_the_last_known_on_call_when_pagerduty_is_unreachable(
    app, on_call, board, qtbot, clock
):
    from PySide6.QtCore import Qt

    from ui.timefmt import viewer_time

    configure_backends(app, pd=on_call)
    first = board.handover_dialog("IC")
    first.open()
    qtbot.mouseClick(first.on_call.fetch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: first.on_call.list.topLevelItemCount() == 3)
    first.reject()
    asked_at = viewer_time(clock(), clock())

    clock.advance(hours=9)  # Ana's shift is over by now, as far as the remembered answer says
    on_call.stop()
    dialog = board.handover_dialog("IC")
    dialog.open()
    section = dialog.on_call
    qtbot.mouseClick(section.fetch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: section.list.topLevelItemCount() == 3)
    assert section.status.text().startswith("PagerDuty is unreachable (")
    assert section.status.text().endswith(f" Last known on-call, as of {asked_at}:")
    assert on_call_rows(section)[0][3].endswith("(off call by now)")
    section.select("Bo Chen")
    qtbot.mouseClick(section.pick_button, Qt.MouseButton.LeftButton)
    assert dialog.editor.handle.text() == "bo-2"  # @bo is the directory's Bob; this Bo gets another handle
    dialog.editor.reject()


def test_without_pagerduty_set_up_the_control_says_so_and_asks_nobody(app, fake_pd, board, qtbot):
    from PySide6.QtCore import Qt

    dialog = board.open_assign()
    section = dialog.on_call
    assert section.status.text() == "PagerDuty is not set up for on-call (Tools ▸ Backends…)."
    assert "set 'service_id'" in section.fetch_button.toolTip()
    qtbot.mouseClick(section.fetch_button, Qt.MouseButton.LeftButton)
    assert section.status.text().startswith("PagerDuty: set 'service_id' (or 'escalation_policy_id')")
    assert not section.list.isVisible() and fake_pd.requests == []


def test_an_unreachable_pagerduty_with_nothing_remembered_is_said_in_the_dialog(app, on_call, board, qtbot):
    from PySide6.QtCore import Qt

    configure_backends(app, pd=on_call)
    on_call.stop()
    dialog = board.open_assign()
    qtbot.mouseClick(dialog.on_call.fetch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.on_call.fetch_button.isEnabled())
    assert dialog.on_call.status.text().startswith("PagerDuty is unreachable (")
    assert not dialog.on_call.list.isVisible()
