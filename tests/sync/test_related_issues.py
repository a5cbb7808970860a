"""Linking a related Jira issue to the incident's ticket: logged now, linked in Jira when it is
reachable, once; refused with nothing logged when it cannot be."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from services.errors import ValidationError
from services.sync.posting import link_related
from tests.sync.conftest import configure_backends
from tests.sync.test_gui import _window, ctx  # noqa: F401  (the console context fixture)

LEFT = Qt.MouseButton.LeftButton


def test_a_related_issue_is_linked_once_even_when_jira_was_down(app, fake_jira):
    configure_backends(app, jira=fake_jira)
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic")
    fake_jira.stop()
    entry = link_related(app, inc.key, "jira", " ops-900 ", author="ana", why="the deploy that started it")
    assert entry.kind == "note" and entry.author == "ana"
    assert entry.body == "Related Jira issue OPS-900 linked: the deploy that started it"
    assert app.sync.drain_once().sent == 0

    fake_jira.restart()
    report = app.sync.drain_once(max_wait_s=2)
    assert report.left_pending == 0
    assert fake_jira.links == {("Relates", "OPS-1", "OPS-900")}
    links = app.sync.links(inc.id)
    assert [(lk.remote_kind, lk.url) for lk in links] == [
        ("issue", f"{fake_jira.url}/browse/OPS-1"),
        ("related_issue", f"{fake_jira.url}/browse/OPS-900"),
    ]
    # Linking the same issue again adds a note but no second link in Jira or in the strip.
    link_related(app, inc.id, "jira", "OPS-900", author="ana")
    app.sync.drain_once()
    assert len(fake_jira.links) == 1 and len(app.sync.links(inc.id)) == 2


def test_a_key_jira_does_not_have_is_refused_by_jira_with_its_words(app, fake_jira):
    configure_backends(app, jira=fake_jira)
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic")
    link_related(app, inc.id, "jira", "OPS-4242", author="ana")
    app.sync.drain_once()
    (failed,) = app.sync.items(states=["failed"])
    assert failed.op == "link_issue" and "Issue Does Not Exist: OPS-4242" in failed.last_error


@pytest.mark.parametrize(
    ("backend", "ref", "why"),
    [
        ("jira", "not a key", "is not a Jira issue key"),
        ("jira", "", "is not a Jira issue key"),
        ("pagerduty", "OPS-1", "does not link related items"),
    ],
)
def test_what_cannot_be_linked_is_refused_with_nothing_logged(app, fake_jira, backend, ref, why):
    configure_backends(app, jira=fake_jira)
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic")
    before = app.timeline.count(inc.id)
    with pytest.raises(ValidationError, match=why):
        link_related(app, inc.id, backend, ref, author="ana")
    assert app.timeline.count(inc.id) == before


def test_jira_not_set_up_is_said_plainly(app):
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic")
    with pytest.raises(ValidationError, match="Jira is not set up to send"):
        link_related(app, inc.id, "jira", "OPS-9", author="ana")


def test_the_cli_links_a_related_issue(cli, app, data_dir, fake_jira):
    configure_backends(app, jira=fake_jira)
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic")
    app.close()
    done = cli(data_dir, "sync", "link", inc.key, "OPS-900", "--why", "same symptom last week")
    assert done.returncode == 0, done.stderr
    assert "Related Jira issue OPS-900 linked: same symptom last week" in done.stdout
    bad = cli(data_dir, "sync", "link", inc.key, "nonsense")
    assert bad.returncode == 2 and "is not a Jira issue key" in bad.stderr and "Traceback" not in bad.stderr


def test_the_console_links_a_related_issue_from_the_keyboard(ctx, app, fake_jira, qtbot):  # noqa: F811
    configure_backends(app, jira=fake_jira)
    inc = app.incidents.declare("Checkout down", "SEV2", author="ic")
    window = _window(ctx, qtbot, "ui.panels.timeline", "ui.panels.sync")
    try:
        window.reload_incidents(select=inc.id)
        timeline = window.panels["timeline"]
        dialog = timeline.link_related()
        qtbot.waitUntil(dialog.isVisible)
        assert not dialog.link_button.isEnabled()
        qtbot.keyClicks(dialog.ref, "bad key")
        qtbot.keyClick(dialog.ref, Qt.Key.Key_Return)
        assert dialog.isVisible() and "is not a Jira issue key" in dialog.error.text()
        dialog.ref.clear()
        qtbot.keyClicks(dialog.ref, "OPS-900")
        qtbot.keyClick(dialog.ref, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not dialog.isVisible())
        last = app.timeline.entries(inc.id)[-1]
        assert last.body == "Related Jira issue OPS-900 linked."
        app.sync.drain_once()
        assert fake_jira.links == {("Relates", "OPS-1", "OPS-900")}
        strip = timeline.remote_links
        strip.refresh()
        assert "related OPS-900" in strip.text()
    finally:
        app.sync.stop()
        window.close()
