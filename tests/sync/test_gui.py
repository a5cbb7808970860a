"""Sync in the console: the status-bar indicator, the queue panel, the backends dialog, the remote links
and "Send to…" from the timeline, driven through the real widgets against the loopback vendor fakes.
The background worker runs on its own thread, as the console runs it."""

from __future__ import annotations

import json

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMenu

from models.enums import EntryKind, Status
from services.adapters.pagerduty import PagerDutyAdapter
from services.core import Sitrep
from services.storage.secrets import SecretStore
from tests.fakes import pagerduty as fpd
from tests.sync.conftest import WORKER_OPTIONS, configure_backends, fake_secrets
from tests.sync.test_delivery import assert_delivered_once_in_order
from tests.ui.console_kit import add_people, console_context, main_window
from ui.item_models.timeline import COL_BODY, COL_KIND, EntryRole
from ui.panels.sync import COL_ANSWER, COL_BACKEND, COL_OP, COL_STATE, ItemRole, SyncQueueModel

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def ctx(app, data_dir):
    add_people(app)
    ctx = console_context(app, data_dir)
    yield ctx
    ctx.notifier.close()


def _window(ctx, qtbot, *modules):
    w = main_window(ctx, qtbot, *modules)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def window(ctx, qtbot, app):
    w = _window(ctx, qtbot, "ui.panels.timeline", "ui.panels.sync")
    yield w
    app.sync.stop()


def rows(panel) -> list[dict]:
    m = panel.model
    return [
        {"item": m.data(m.index(r, 0), ItemRole), "state": m.data(m.index(r, COL_STATE)),
         "backend": m.data(m.index(r, COL_BACKEND)), "op": m.data(m.index(r, COL_OP)),
         "answer": m.data(m.index(r, COL_ANSWER))}
        for r in range(m.rowCount())
    ]  # fmt: skip


def select_rows(panel, predicate) -> None:
    panel.view.clearSelection()
    sel = panel.view.selectionModel()
    for r, row in enumerate(rows(panel)):
        if predicate(row):
            sel.select(panel.model.index(r, 0), sel.SelectionFlag.Select | sel.SelectionFlag.Rows)


class UrlCatcher(QObject):
    """Stands where the browser would: QDesktopServices hands it the http(s) URLs the console opens."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def browser():
    catcher = UrlCatcher()
    for scheme in ("http", "https"):
        QDesktopServices.setUrlHandler(scheme, catcher, "open")
    yield catcher
    for scheme in ("http", "https"):
        QDesktopServices.unsetUrlHandler(scheme)


# -- the model ------------------------------------------------------------------------------------
def test_the_queue_model_holds_plain_rows_and_passes_the_model_tester(app, fake_pd, fake_jira, qtmodeltester):
    configure_backends(app, fake_pd, fake_jira)
    app.sync.configure("jira", {"issue_type": "Epic"})  # Jira will refuse the ticket
    inc = app.incidents.declare("Checkout down", "SEV1", author="ic")
    app.timeline.log(inc.id, "Roll back", author="ic", kind="decision", rationale="the deploy matches")
    model = SyncQueueModel({n: c.label for n, c in app.sync.available.items()})
    model.set_rows(app.sync.items())
    qtmodeltester.check(model)
    assert model.rowCount() == 4 and {model.data(model.index(r, COL_STATE)) for r in range(4)} == {"pending"}

    app.sync.drain_once()
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    model.set_rows(app.sync.items())  # same items, new states: rows change in place, no reset
    assert changed and not resets
    qtmodeltester.check(model)
    by_op = {model.data(model.index(r, COL_OP)): r for r in range(model.rowCount())}
    refused = by_op["create ticket"]
    assert model.data(model.index(refused, COL_STATE)) == "failed"
    assert model.data(model.index(refused, COL_ANSWER)) == (
        "Jira refused the request (400): issuetype: valid issue type is required"
    )
    assert "issuetype: valid issue type is required" in model.data(
        model.index(refused, COL_STATE), Qt.ItemDataRole.ToolTipRole
    )
    assert isinstance(model.data(model.index(refused, 0), ItemRole).id, int)  # a plain row, not an ORM object
    created = by_op["create incident"]
    assert model.data(model.index(created, COL_ANSWER)) == f"sent → {next(iter(fake_pd.incidents))}"


# -- indicator and queue ---------------------------------------------------------------------------
def test_the_indicator_and_the_queue_follow_an_item_from_pending_to_sent(
    window, app, ctx, fake_pd, qtbot, browser
):
    configure_backends(app, fake_pd)
    fake_pd.stop()
    panel = window.panels["sync"]
    indicator = panel.indicator
    assert indicator.parent() is not None and indicator in window.statusBar().findChildren(type(indicator))
    assert not window.docks["sync"].isVisible()
    inc = app.incidents.declare("Checkout down", "SEV1", author="ic")
    window.reload_incidents(select=inc.id)
    qtbot.waitUntil(lambda: indicator.text() == "Sync: online, 1 pending")
    qtbot.mouseClick(indicator, LEFT)  # the indicator opens the queue
    assert window.docks["sync"].isVisible()
    assert [(r["backend"], r["op"], r["state"]) for r in rows(panel)] == [
        ("PagerDuty", "create incident", "pending")
    ]

    app.sync.start()  # what the console does when it opens
    qtbot.waitUntil(lambda: indicator.text() == "Sync: offline, 1 pending", timeout=5000)
    assert indicator.look == "offline"
    # The worker keeps trying, so the item goes pending -> in flight -> pending; the queue shows whichever
    # it was at the last refresh. Wait for a refresh that shows it waiting, with the reason.
    qtbot.waitUntil(
        lambda: (
            rows(panel)[0]["item"].state == "pending"
            and "PagerDuty is unreachable" in rows(panel)[0]["answer"]
        )
    )
    waiting = rows(panel)[0]["item"]
    assert waiting.attempts >= 1
    assert "PagerDuty is unreachable" in indicator.toolTip()

    fake_pd.restart()
    qtbot.mouseClick(panel.sync_button, LEFT)  # past the back-off: try now
    qtbot.waitUntil(lambda: rows(panel)[0]["state"] == "sent", timeout=10000)
    qtbot.waitUntil(lambda: indicator.text() == "Sync: online")
    (remote,) = fake_pd.incidents.values()
    assert rows(panel)[0]["answer"] == f"sent → {remote['id']}"
    assert len(fake_pd.incidents) == 1

    # The incident's counterpart shows on the timeline and the queue, and opens in the browser.
    strip = window.panels["timeline"].remote_links
    qtbot.waitUntil(lambda: strip.isVisible())
    assert f"PagerDuty {remote['id']}" in strip.text() and f'href="{remote["html_url"]}"' in strip.text()
    strip.setFocus()
    qtbot.keyClick(strip, Qt.Key.Key_Tab)  # keyboard: to the link, then open it
    qtbot.keyClick(strip, Qt.Key.Key_Return)
    assert browser.opened == [remote["html_url"]]


def test_a_refused_item_shows_the_vendors_words_and_is_retried_or_cancelled_from_the_queue(
    window, app, ctx, fake_jira, fake_pd, qtbot
):
    configure_backends(app, fake_pd, fake_jira)
    app.sync.configure("jira", {"issue_type": "Epic"})
    inc = app.incidents.declare("DB failover", "SEV1", author="ic")
    app.timeline.log(inc.id, "Promote the replica", author="ic", kind="decision", rationale="primary gone")
    panel = window.panels["sync"]
    window.focus_panel(window.docks["sync"])
    qtbot.waitUntil(lambda: len(rows(panel)) == 4)

    # No worker is running here: "Sync now" drains once on a pool thread; the click returns at once.
    fake_jira.add_fault(kind="slow", delay=0.3, method="POST", path=r"/issue$")
    qtbot.mouseClick(panel.sync_button, LEFT)
    assert not panel.sync_button.isEnabled()  # still draining, and the GUI is answering us
    qtbot.waitUntil(lambda: panel.sync_button.isEnabled(), timeout=15000)
    assert window._status_label.text() == "Sync: sent 2, failed 1, still pending 1."
    refused = next(r for r in rows(panel) if r["state"] == "failed")
    assert refused["answer"] == "Jira refused the request (400): issuetype: valid issue type is required"
    assert panel.indicator.text() == "Sync: online, 1 pending, 1 failed" and panel.indicator.look == "failed"

    # Filters: by state and by backend.
    panel.state_filter.setCurrentIndex(panel.state_filter.findText("Failed"))
    assert [r["op"] for r in rows(panel)] == ["create ticket"]
    panel.state_filter.setCurrentIndex(panel.state_filter.findText("All states"))
    panel.backend_filter.setCurrentIndex(panel.backend_filter.findText("PagerDuty"))
    assert {r["backend"] for r in rows(panel)} == {"PagerDuty"} and len(rows(panel)) == 2
    panel.backend_filter.setCurrentIndex(panel.backend_filter.findText("Jira"))
    assert len(rows(panel)) == 2

    # A sent item can be neither retried nor cancelled; the refused one can.
    select_rows(panel, lambda r: r["backend"] == "Jira" and r["state"] == "pending")
    assert panel.cancel_button.isEnabled()
    select_rows(panel, lambda r: r["state"] == "failed")
    assert "issuetype: valid issue type is required" in panel.detail.toPlainText()
    app.sync.configure("jira", {"issue_type": "Incident"})  # the person fixes the mapping...
    qtbot.mouseClick(panel.retry_button, LEFT)  # ...and retries
    qtbot.waitUntil(lambda: all(r["state"] == "pending" for r in rows(panel)))
    assert [r["item"].op for r in rows(panel) if r["state"] == "failed"] == []
    qtbot.mouseClick(panel.sync_button, LEFT)
    qtbot.waitUntil(lambda: all(r["state"] == "sent" for r in rows(panel)), timeout=15000)
    assert len(fake_jira.issues) == 1 and len(fake_jira.comments["OPS-1"]) == 1

    # Cancel: an item not yet sent is dropped and never goes.
    fake_jira.stop()
    app.timeline.log(inc.id, "Freeze deploys", author="ic", kind="decision", rationale="mid-incident")
    qtbot.waitUntil(lambda: any(r["state"] == "pending" for r in rows(panel)))
    select_rows(panel, lambda r: r["state"] == "pending")
    qtbot.mouseClick(panel.cancel_button, LEFT)
    qtbot.waitUntil(lambda: any(r["state"] == "cancelled" for r in rows(panel)))
    select_rows(panel, lambda r: r["state"] == "cancelled")
    assert not panel.retry_button.isEnabled() and not panel.cancel_button.isEnabled()
    fake_jira.restart()
    app.sync.drain_once()
    assert len(fake_jira.comments["OPS-1"]) == 1
    assert [i.state for i in app.sync.items(backend="jira") if i.op == "comment"] == ["cancelled", "sent"]


# -- the backends dialog -------------------------------------------------------------------------------
def test_backend_settings_come_from_the_adapters_declaration_and_test_connection_runs_off_the_gui_thread(
    window, app, data_dir, fake_pd, qtbot
):
    panel = window.panels["sync"]
    backends = next(a for a in window.commands if a.text() == "Backends…")
    assert backends in window.menus["Tools"].actions()
    backends.trigger()
    dialog = panel.dialog
    assert dialog.isVisible() and dialog.windowModality() == Qt.WindowModality.WindowModal
    page = dialog.select("pagerduty")
    assert set(page.inputs) == {f.key for f in PagerDutyAdapter.all_fields()}
    assert set(page.secret_inputs) == {"api_token", "routing_key"}
    assert page.secret_inputs["api_token"].echoMode() == page.secret_inputs["api_token"].EchoMode.Password

    qtbot.keyClicks(page.inputs["url"], fake_pd.url)
    qtbot.keyClicks(page.inputs["from_email"], fpd.BOT_EMAIL)
    qtbot.keyClicks(page.inputs["service_id"], "PSVC001")
    qtbot.keyClicks(page.inputs["max_requests_per_s"], "0")
    page.inputs["priority_map"].setPlainText("SEV1 = P1\nSEV2 = P2")
    page.inputs["enabled"].click()
    qtbot.keyClicks(page.secret_inputs["api_token"], fpd.TOKEN)
    qtbot.mouseClick(dialog.apply_button, LEFT)
    assert dialog.result.text() == "PagerDuty: settings saved; api token stored in the keyring."
    saved = app.sync.settings.backend("pagerduty")
    assert saved == {"url": fake_pd.url, "from_email": fpd.BOT_EMAIL, "service_id": "PSVC001", "enabled": True,
                     "max_requests_per_s": 0.0, "priority_map": {"SEV1": "P1", "SEV2": "P2"}}  # fmt: skip
    assert app.sync.secrets.get("pagerduty", "api_token") == fpd.TOKEN
    assert fpd.TOKEN not in (data_dir / "config" / "backends.json").read_text()
    assert page.secret_inputs["api_token"].text() == "" and page.secret_states["api_token"].text() == "stored"

    # The test goes out on a pool thread: the dialog says so at once and stays usable while it waits.
    fake_pd.add_fault(kind="slow", delay=0.5, path=r"^/services/")
    qtbot.mouseClick(dialog.test_button, LEFT)
    assert dialog.result.text() == "Testing PagerDuty…" and not dialog.test_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert dialog.result.text() == f"Connected to PagerDuty: service 'Checkout', acting as {fpd.BOT_EMAIL}."

    # A value the adapter would not accept is refused next to its field; nothing changes.
    page.inputs["url"].setText("not a url")
    qtbot.mouseClick(dialog.apply_button, LEFT)
    assert "'url' must be an http:// or https:// URL" in dialog.result.text()
    assert dialog.focusWidget() is page.inputs["url"]
    assert app.sync.settings.backend("pagerduty")["url"] == fake_pd.url
    page.inputs["url"].setText(fake_pd.url)

    fake_pd.stop()
    qtbot.mouseClick(dialog.test_button, LEFT)
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert dialog.result.text().startswith("PagerDuty is unreachable")
    assert "#d13438" in dialog.result.styleSheet()

    # The page's list says what is set up.
    items = [dialog.backend_list.item(r).text() for r in range(dialog.backend_list.count())]
    assert "PagerDuty (on)" in items and "Jira (off)" in items
    dialog.reject()


def test_statuspage_components_are_fetched_off_the_gui_thread(window, app, fake_sp, qtbot):
    configure_backends(app, sp=fake_sp)
    dialog = window.panels["sync"].open_backends()
    page = dialog.select("statuspage")
    assert page.choose_components_button.isVisible()
    fake_sp.add_fault(kind="slow", delay=0.5, path=r"/components$")
    qtbot.mouseClick(page.choose_components_button, LEFT)
    picker = dialog.component_picker
    # The picker opens at once and says it is fetching; the answer arrives later.
    assert picker.isVisible() and picker.fetching and not picker.refresh_button.isEnabled()
    assert picker.message.text() == "Fetching the Statuspage page's components…"
    qtbot.waitUntil(lambda: not picker.fetching, timeout=10000)
    assert picker.source_label.text().startswith("3 components on the page")
    picker.reject()
    # Jira's component map names Jira components; Sitrep does not list them, so it stays a text field.
    assert dialog.select("jira").choose_components_button is None
    dialog.reject()


@pytest.fixture
def keyring_backend():
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


def test_without_a_usable_keyring_the_dialog_refuses_to_keep_a_credential(
    data_dir, qtbot, keyring_backend, clock
):
    keyring_backend(fail.Keyring())
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=data_dir / "config", now=clock,
                      sync_options={"secrets": SecretStore(), "worker_options": WORKER_OPTIONS})  # fmt: skip
    ctx = console_context(app, data_dir)
    try:
        window = _window(ctx, qtbot, "ui.panels.sync")
        dialog = window.panels["sync"].open_backends()
        assert dialog.keyring_label.text().startswith("No usable keyring: no OS keyring was found")
        assert "cannot store them here" in dialog.keyring_label.text()
        page = dialog.select("jira")
        assert not page.secret_inputs["api_token"].isEnabled()
        assert page.secret_states["api_token"].text() == "keyring unavailable"
        # Settings still save; they never hold a credential.
        qtbot.keyClicks(page.inputs["email"], "bot@example.com")
        qtbot.mouseClick(dialog.apply_button, LEFT)
        assert dialog.result.text() == "Jira: settings saved."
        # Were a secret typed anyway (the keyring went away after the dialog opened), it is refused aloud.
        page.secret_inputs["api_token"].setEnabled(True)
        page.secret_inputs["api_token"].setText("s3cr3t-token")
        qtbot.mouseClick(dialog.apply_button, LEFT)
        assert dialog.result.text().startswith("Cannot store the jira api token: no OS keyring was found")
        assert "s3cr3t-token" not in dialog.result.text()
        assert "s3cr3t-token" not in (data_dir / "config" / "backends.json").read_text()
        dialog.reject()
        window.close()
    finally:
        ctx.notifier.close()
        app.close()


def test_credentials_typed_in_the_dialog_go_to_the_real_keyring(secret_service, data_dir, qtbot, clock):
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=data_dir / "config", now=clock,
                      sync_options={"secrets": SecretStore(), "worker_options": WORKER_OPTIONS})  # fmt: skip
    ctx = console_context(app, data_dir)
    try:
        window = _window(ctx, qtbot, "ui.panels.sync")
        dialog = window.panels["sync"].open_backends()
        assert dialog.keyring_label.text().startswith("Credentials are kept in the OS keyring")
        page = dialog.select("statuspage")
        qtbot.keyClicks(page.secret_inputs["api_key"], "sp-key-from-the-dialog")
        qtbot.mouseClick(dialog.apply_button, LEFT)
        assert SecretStore().get("statuspage", "api_key") == "sp-key-from-the-dialog"
        assert page.secret_states["api_key"].text() == "stored" and page.forget_buttons["api_key"].isEnabled()
        qtbot.mouseClick(page.forget_buttons["api_key"], LEFT)
        assert SecretStore().get("statuspage", "api_key") is None
        assert page.secret_states["api_key"].text() == "not stored"
        dialog.reject()
        window.close()
    finally:
        ctx.notifier.close()
        app.close()


# -- Send to… from the timeline ---------------------------------------------------------------------------
# The context menu is a real popup; the offscreen platform cannot give it the keyboard grab and says so.
@pytest.mark.qt_log_ignore("This plugin does not support grabbing the keyboard")
def test_an_entry_is_sent_to_the_chosen_backends_from_the_timeline_menu(
    window, app, ctx, fake_pd, fake_sp, qtbot
):
    configure_backends(app, fake_pd, sp=fake_sp)
    inc = app.incidents.declare("Checkout: payments failing", "SEV1", author="ic", services=["checkout"])
    window.reload_incidents(select=inc.id)
    timeline = window.panels["timeline"]
    qtbot.keyClicks(timeline.entry, "/obs Card payments failing for 40% of EU customers")
    qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
    row = timeline.model.rowCount() - 1
    timeline.view.setCurrentIndex(timeline.model.index(row, COL_BODY))
    observed = timeline.model.data(timeline.model.index(row, COL_BODY), EntryRole)

    def choose_from_menu() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        (send,) = [a for a in menu.actions() if a.text().startswith("Send to PagerDuty")]
        menu.close()
        send.trigger()

    QTimer.singleShot(0, choose_from_menu)
    rect = timeline.view.visualRect(timeline.model.index(row, COL_BODY))
    timeline.view.customContextMenuRequested.emit(rect.center())
    dialog = timeline.send_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.text.toPlainText() == observed.body
    assert set(dialog.targets) == {"pagerduty", "jira", "statuspage"}  # e-mail and Slack carry comms messages
    assert not dialog.targets["jira"].isEnabled()  # not set up here
    assert "not set up to send" in dialog.targets["jira"].toolTip()
    assert not dialog.send_button.isEnabled()  # nothing chosen yet
    dialog.targets["pagerduty"].click()
    dialog.targets["statuspage"].click()
    dialog.notify.click()  # no subscriber e-mails for this one
    qtbot.mouseClick(dialog.send_button, LEFT)
    assert not dialog.isVisible()

    posted = app.timeline.entries(inc.id)[-1]
    assert posted.kind == EntryKind.COMMS.value and posted.body == observed.body
    assert posted.data == {"sync": ["pagerduty", "statuspage"], "notify": False, "about_seq": observed.seq}
    last = timeline.model.index(timeline.model.rowCount() - 1, COL_BODY)
    qtbot.waitUntil(lambda: timeline.model.data(last.siblingAtColumn(COL_KIND)) == "Comms")
    assert timeline.model.data(last).endswith("  → PagerDuty, Statuspage")  # where it went, on the record
    queued = {(i.backend, i.op) for i in app.sync.items() if i.entry_id == posted.id}
    assert queued == {("pagerduty", "status_update"), ("statuspage", "update_incident")}
    assert app.sync.drain_once().failed == 0
    (pd_inc,) = fake_pd.incidents.values()
    assert [u["message"] for u in fake_pd.status_updates[pd_inc["id"]]] == [observed.body]
    (page_inc,) = fake_sp.incidents.values()
    assert page_inc["incident_updates"][0]["body"] == observed.body
    sp_posts = [json.loads(r.body) for r in fake_sp.requests if r.method == "PATCH"]
    assert sp_posts[-1]["incident"]["deliver_notifications"] is False


def test_the_cli_post_and_the_console_refuse_a_backend_that_would_not_receive_it(app, fake_pd, cli, data_dir):
    configure_backends(app, fake_pd)
    inc = app.incidents.declare("Drill: region loss", "SEV2", author="facilitator", is_exercise=True)
    app.close()
    res = cli(data_dir, "sync", "post", inc.key, "We are drilling", "--to", "pagerduty")
    assert res.returncode == 2
    assert "is an exercise and PagerDuty is set not to receive exercises" in res.stderr
    res = cli(data_dir, "sync", "post", inc.key, "We are drilling", "--to", "jira")
    assert res.returncode == 2 and "Jira is not set up to send" in res.stderr
    res = cli(data_dir, "sync", "post", inc.key, "We are drilling", "--to", "slack")
    assert res.returncode == 2 and "Slack does not take posted updates" in res.stderr
    res = cli(data_dir, "sync", "post", inc.key, "We are drilling", "--to", "nowhere")
    assert res.returncode == 3 and "No sync backend 'nowhere'" in res.stderr
    reopened = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")
    try:
        assert [e.kind for e in reopened.timeline.entries(inc.id)] == ["status_change"]  # no refusal logged
    finally:
        reopened.close()


# -- the issue's "done when", through the console ---------------------------------------------------
def test_an_incident_made_in_the_console_while_the_backends_are_down_reaches_them_once_in_order(
    app, ctx, clock, fake_pd, fake_jira, fake_sp, qtbot
):
    """The whole incident is made in the console while all three fakes are down, with the sync worker
    running as the console runs it. When they come back it arrives in each once, in order; a note
    added in PagerDuty then shows on the timeline."""
    configure_backends(app, fake_pd, fake_jira, fake_sp)
    for fake in (fake_pd, fake_jira, fake_sp):
        fake.stop()
    window = _window(ctx, qtbot)  # every panel, as `sitrep` opens it
    header, timeline, board = window.panels["header"], window.panels["timeline"], window.panels["roles"]
    indicator = window.panels["sync"].indicator
    app.sync.start()
    try:
        declare = header.declare_incident()
        qtbot.keyClicks(declare.title_edit, "Checkout: payments failing")
        qtbot.keyClicks(declare.services, "checkout")
        declare.choose_severity("SEV1")
        qtbot.mouseClick(declare.ok_button, LEFT)
        incident = ctx.selection.current
        assert incident is not None and incident.severity == "SEV1"

        board.select_role("IC")
        assign = board.open_assign()
        assign.responder.lineEdit().setText("Ana Ruiz")
        qtbot.mouseClick(assign.ok_button, LEFT)
        qtbot.keyClicks(timeline.entry, "/decision Roll back the 10:02 deploy because errors began with it")
        qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
        qtbot.keyClicks(timeline.entry, "/comms Payments are failing for some customers; we are on it.")
        qtbot.keyClick(timeline.entry, Qt.Key.Key_Return)
        # The same words on the status page and as a PagerDuty status update, chosen from the
        # timeline's menu (a quick /comms note goes nowhere by itself).
        last = timeline.model.rowCount() - 1
        timeline.view.setCurrentIndex(timeline.model.index(last, COL_BODY))
        send = timeline.send_selected()
        send.targets["statuspage"].click()
        send.targets["pagerduty"].click()
        qtbot.mouseClick(send.send_button, LEFT)
        for target in (Status.IDENTIFIED, Status.RESOLVED):
            clock.advance(minutes=5)
            status = header.change_status()
            status.choose(target)
            if status.owed_label.isVisible():  # resolving names what is owed; going on takes a reason
                status.reason.setText("Review booked")
            qtbot.mouseClick(status.ok_button, LEFT)
            assert not status.isVisible()
        assert app.incidents.get(incident.id).status is Status.RESOLVED

        qtbot.waitUntil(lambda: indicator.text() == "Sync: offline, 15 pending", timeout=10000)
        assert fake_pd.requests == [] and fake_jira.requests == [] and fake_sp.requests == []

        for fake in (fake_pd, fake_jira, fake_sp):
            fake.restart()
        qtbot.mouseClick(window.panels["sync"].sync_button, LEFT)
        qtbot.waitUntil(lambda: indicator.text() == "Sync: online", timeout=20000)
        assert_delivered_once_in_order(fake_pd, fake_jira, fake_sp)
        strip = timeline.remote_links
        qtbot.waitUntil(lambda: "OPS-1" in strip.text())
        assert "PagerDuty" in strip.text() and "Statuspage" in strip.text()

        # Someone adds a note in PagerDuty: it comes back onto the timeline with its source.
        (pd_id,) = fake_pd.incidents
        fake_pd.add_note_as(pd_id, "ana@example.com", "DB team paged, joining the bridge")
        qtbot.mouseClick(window.panels["sync"].sync_button, LEFT)
        qtbot.waitUntil(
            lambda: (
                timeline.model.data(timeline.model.index(timeline.model.rowCount() - 1, COL_BODY))
                == "DB team paged, joining the bridge"
            ),
            timeout=10000,
        )
        pulled = timeline.model.data(timeline.model.index(timeline.model.rowCount() - 1, COL_BODY), EntryRole)
        assert pulled.source == "pagerduty" and pulled.author == "Ana Ruiz (PagerDuty)"
        # Nothing went out twice, and the pulled note is not sent back.
        assert app.sync.items(states=["pending", "in_flight", "failed"]) == []
        assert len(fake_pd.notes[pd_id]) == 2 and len(fake_pd.incidents) == 1
    finally:
        app.sync.stop()
        window.close()


def test_the_console_starts_the_worker_and_stops_it_on_close(data_dir, clock, qtbot, monkeypatch):
    """run_console's wiring: the worker thread runs while the window is open, and is gone after."""
    from services.storage.paths import Paths
    from ui import console

    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=data_dir / "config", now=clock,
                      sync_options={"secrets": fake_secrets(), "worker_options": WORKER_OPTIONS})  # fmt: skip
    seen = {}

    def exec_then_close():
        seen["running"] = app.sync.running
        for w in QApplication.topLevelWidgets():
            if w.objectName() == "sitrep-main":
                w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(exec_then_close))
    try:
        paths = Paths(data_dir, data_dir / "config", data_dir / "logs", data_dir / "backups")
        assert console.run_console(app, paths=paths, author="tester") == 0
        assert seen["running"] is True
        assert not app.sync.running
    finally:
        app.close()
