"""Delivery through the outbox to real servers on loopback: SMTP (STARTTLS and TLS, with a login), a Slack
that checks webhook and chat.postMessage requests, and the Statuspage fake."""

from __future__ import annotations

from tests.comms.conftest import DRAFTER, IC, configure_email, configure_slack, configure_statuspage
from tests.comms.smtp_server import PASSWORD, SmtpServer

RECIPIENTS = {"email_to": ["customers@example.com"], "email_cc": ["support@example.com"]}


def _approved_initial(app, inc, channels):
    m = app.comms.draft(inc.key, "initial", author=DRAFTER, channels=channels,
                        fields={"symptom": "Checkout is failing <for> some customers"}, recipients=RECIPIENTS)  # fmt: skip
    app.comms.approve(m.ref, approver=IC)
    return m


def test_a_message_approved_while_the_mail_server_is_down_goes_out_once_when_it_comes_up(app, sev1, smtp):
    configure_email(app, smtp)
    m = _approved_initial(app, sev1, ["email"])
    app.comms.send(m.ref, author=DRAFTER)  # the server is not running: nothing can be delivered yet
    report = app.sync.drain_once(max_wait_s=0.2)
    assert report.sent == 0 and report.left_pending == 1
    [d] = app.comms.deliveries(m.ref)
    assert d.state == "queued" and "unreachable" in d.last_error and d.attempts >= 1
    smtp.start()
    app.sync.retry(d.item_id)  # as the panel's retry does; the back-off would also get there
    app.sync.drain_once(max_wait_s=2)
    app.sync.drain_once(max_wait_s=0.2)  # and again: nothing more goes out
    assert len(smtp.mailbox.envelopes) == 1
    [d] = app.comms.deliveries(m.ref)
    assert d.state == "sent"
    sender, rcpts, _raw = smtp.mailbox.envelopes[0]
    assert sender == "incidents@example.com" and rcpts == ["customers@example.com", "support@example.com"]
    mail = smtp.mailbox.messages()[0]
    assert mail["Subject"] == "Checkout is failing <for> some customers" and mail["X-Sitrep-Message"] == m.ref
    assert mail["Message-ID"].startswith("<sitrep.") and mail["Message-ID"].endswith("@example.com>")
    assert "failing <for> some" in mail.get_body(("plain",)).get_content()
    assert "failing &lt;for&gt; some" in mail.get_body(("html",)).get_content()
    [row] = app.comms.log(sev1.key)
    assert row.approver == IC and app.comms.log_delivery([row])[row.id].startswith("delivered")


def test_implicit_tls_with_a_login(app, sev1, tmp_path):
    server = SmtpServer(tmp_path, implicit_tls=True).start()
    try:
        configure_email(app, server)
        assert "TLS, logged in as sitrep" in app.sync.test_connection("email")
        m = _approved_initial(app, sev1, ["email"])
        app.comms.send(m.ref, author=DRAFTER)
        app.sync.drain_once(max_wait_s=2)
        assert len(server.mailbox.envelopes) == 1
        assert server.mailbox.messages()[0]["To"] == "customers@example.com"
    finally:
        server.stop()


def test_slack_webhook_and_chat_post_message_as_the_spec_says(app, sev1, fake_slack):
    configure_slack(app, fake_slack, mode="webhook")
    m = _approved_initial(app, sev1, ["slack"])
    app.comms.send(m.ref, author=DRAFTER)
    assert app.sync.drain_once(max_wait_s=2).sent == 1
    [post] = fake_slack.webhook_posts
    assert post["text"].startswith("*Checkout is failing &lt;for&gt; some customers*")
    assert post["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Checkout is failing <for> some customers", "emoji": True},
    }
    configure_slack(app, fake_slack, mode="api")
    m2 = app.comms.draft(sev1.key, "status_update", author=DRAFTER, channels=["slack"],
                         fields={"what_changed": "Rolled back"}, recipients={"slack_channel": "#status-updates"})  # fmt: skip
    app.comms.send(m2.ref, author=DRAFTER)
    assert app.sync.drain_once(max_wait_s=2).sent == 1
    [msg] = fake_slack.messages
    assert msg["channel"] == "C0STATUS" and "Rolled back" in msg["text"]
    [d] = app.comms.deliveries(m2.ref)
    assert d.state == "sent"
    auth = fake_slack.requests[-1].headers.get("Authorization")
    assert auth == "Bearer xoxb-test-0000"
    assert "Example" in app.sync.test_connection("slack")


def test_a_slack_refusal_is_a_failed_delivery_with_the_reason(app, sev1, fake_slack):
    configure_slack(app, fake_slack, mode="api")
    m = app.comms.draft(sev1.key, "status_update", author=DRAFTER, channels=["slack"],
                        fields={"what_changed": "x"}, recipients={"slack_channel": "#nowhere"})  # fmt: skip
    app.comms.send(m.ref, author=DRAFTER)
    app.sync.drain_once(max_wait_s=2)
    [d] = app.comms.deliveries(m.ref)
    assert d.state == "failed" and "channel_not_found" in d.last_error and "check the channel" in d.last_error


def test_the_status_page_gets_its_own_rendering_and_status(app, sev1, fake_sp, fake_slack, smtp):
    smtp.start()
    configure_statuspage(app, fake_sp)
    configure_slack(app, fake_slack)
    configure_email(app, smtp)
    m = _approved_initial(app, sev1, ["statuspage", "slack", "email"])
    app.comms.send(m.ref, author=DRAFTER)
    app.sync.drain_once(max_wait_s=3)
    assert {d.channel: d.state for d in app.comms.deliveries(m.ref)} == {
        "statuspage": "sent",
        "slack": "sent",
        "email": "sent",
    }
    [inc] = fake_sp.incidents.values()
    assert inc["name"] == "Checkout is failing <for> some customers" and inc["status"] == "investigating"
    assert inc["incident_updates"][0]["body"].startswith(
        "We are investigating reports that checkout is failing"
    )
    m2 = app.comms.draft(sev1.key, "statuspage_update", author=DRAFTER, channels=["statuspage"],
                         fields={"statuspage_status": "identified", "customer_effect": "Payments fail",
                                 "progress": "We found the cause"})  # fmt: skip
    app.comms.approve(m2.ref, approver=IC)
    app.comms.send(m2.ref, author=DRAFTER)
    app.sync.drain_once(max_wait_s=3)
    [inc] = fake_sp.incidents.values()
    assert inc["status"] == "identified" and len(fake_sp.incidents) == 1


def test_a_lost_smtp_answer_is_not_resent_blindly(app, sev1, smtp):
    """The server takes the message but its answer never arrives: SMTP offers no way to ask, so the item
    waits for a person instead of sending a second copy."""
    import asyncio

    original = smtp.mailbox.handle_DATA

    async def slow_answer(server, session, envelope):
        result = await original(server, session, envelope)
        await asyncio.sleep(1.5)  # longer than the client waits
        return result

    smtp.mailbox.handle_DATA = slow_answer
    smtp.start()
    configure_email(app, smtp, timeout_s=0.5)
    m = _approved_initial(app, sev1, ["email"])
    app.comms.send(m.ref, author=DRAFTER)
    app.sync.drain_once(max_wait_s=1)
    app.sync.drain_once(max_wait_s=1)
    assert len(smtp.mailbox.envelopes) == 1
    [d] = app.comms.deliveries(m.ref)
    assert d.state == "failed" and "may have reached" in d.last_error


def test_a_wrong_mail_password_holds_the_message_says_why_and_never_shows_the_password(
    app, sev1, smtp, caplog
):
    configure_email(app, smtp)
    wrong = "not-the-pass-9f3k"
    app.sync.set_secret("email", "password", wrong)
    smtp.start()
    m = _approved_initial(app, sev1, ["email"])
    app.comms.send(m.ref, author=DRAFTER)
    report = app.sync.drain_once(max_wait_s=0.2)
    assert report.sent == 0 and len(smtp.mailbox.envelopes) == 0
    [d] = app.comms.deliveries(m.ref)
    assert d.state == "queued" and "refused the login" in d.last_error  # held, not failed: nothing is lost
    status = app.sync.status()
    shown = [d.last_error, status.headline(), *(str(lane) for lane in status.lanes)]
    assert all(wrong not in text for text in shown)
    assert wrong not in caplog.text

    app.sync.set_secret("email", "password", PASSWORD)  # the person fixes it in the backend settings
    app.sync.retry(d.item_id)
    app.sync.drain_once(max_wait_s=2)
    app.sync.drain_once(max_wait_s=0.2)
    assert len(smtp.mailbox.envelopes) == 1
    [d] = app.comms.deliveries(m.ref)
    assert d.state == "sent"
