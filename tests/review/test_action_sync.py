"""Action items queue while Jira is unreachable and reach it once when it is back; a changed owner and due
date follow; a reopen in Jira moves the item back."""

from __future__ import annotations

from models.enums import Status


def _action_issues(fake):
    return {k: i for k, i in fake.issues.items() if "sitrep-action" in i["fields"]["labels"]}


def test_items_queue_offline_and_arrive_once(wired, fake_jira):
    app = wired
    app.people.add("Ana Ruiz", "ana", email="ana@example.com")
    app.people.add("Bob Chen", "bob", email="bob@example.com")
    fake_jira.add_user("ana@example.com", "Ana Ruiz")
    fake_jira.add_user("bob@example.com", "Bob Chen")
    inc = app.incidents.declare("Search down", "SEV2", author="ana", services=["search"])
    app.sync.drain_once(max_wait_s=5)
    app.incidents.set_status(inc.key, Status.RESOLVED, author="ana")
    fake_jira.stop()
    first = app.action_items.add(inc.key, "Alert on search 5xx", category="detect", owner="ana",
                                 due_on="2026-04-01", author="ana")  # fmt: skip
    app.action_items.add(inc.key, "Add a second search replica", category="prevent", owner="bob", author="ana")
    app.sync.drain_once(max_wait_s=0.2)
    assert _action_issues(fake_jira) == {}
    assert app.sync.status().pending + app.sync.status().failed >= 2  # queued, not lost

    fake_jira.restart()
    app.sync.wake()
    for _ in range(3):
        app.sync.drain_once(max_wait_s=5)
    issues = _action_issues(fake_jira)
    assert len(issues) == 2

    app.action_items.update(first.key, author="ana", owner="bob", due_on="2026-05-01")
    app.sync.drain_once(max_wait_s=5)
    issue = next(i for i in _action_issues(fake_jira).values() if first.key in i["fields"]["summary"])
    assert issue["fields"]["duedate"] == "2026-05-01" and issue["fields"]["assignee"] == {"accountId": "acc-2"}

    app.action_items.update(first.key, author="ana", status="done")
    app.sync.drain_once(max_wait_s=5)
    assert issue["fields"]["status"] == "Done"
    fake_jira.move(issue["key"], "In Progress")
    app.sync.drain_once(pull=True, max_wait_s=5)
    assert app.action_items.get(first.key).status == "in_progress"
    assert len(_action_issues(fake_jira)) == 2
