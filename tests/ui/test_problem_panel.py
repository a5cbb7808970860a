"""The problem and cause panel and the incidents list grouped by problem, through their real widgets, against a
real store and the loopback Jira fake; and the acceptance story: an older incident imported from another
machine's export shares a problem with a new one, and the list and metrics grouped by problem show both."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from console_kit import console_context, main_window

from services.core import Sitrep
from tests.itil_kit import app_fixture, fake_jira_fixture, jira_time  # noqa: F401 - fixtures
from tests.sync.conftest import adapter_entry_points, configure_backends  # noqa: F401 - the autouse fixture
from ui.panels.incidents import IncidentListModel


@pytest.fixture
def panel(app, data_dir, qtbot, fake_jira):
    configure_backends(app, jira=fake_jira)
    app.people.add("Ana Ruiz", "tester")
    inc = app.incidents.declare("Payments failing", "SEV1", author="tester", services=["payments-api"])
    ctx = console_context(app, data_dir)
    window = main_window(ctx, qtbot, "ui.panels.incidents", "ui.panels.timeline", "ui.panels.problems")
    window.show()
    qtbot.waitExposed(window)
    ctx.selection.set(app.incidents.get(inc.key))
    window.open_panel(window.docks["problems"])
    yield window.panels["problems"]
    ctx.notifier.close()


def test_a_jira_problem_and_a_jira_change_are_linked_from_the_panel(app, clock, panel, qtbot, fake_jira):
    inc = panel.incident
    problem_key = fake_jira.add_made_elsewhere("Problem", "Payments DB pool exhausted", created=jira_time(clock()),
                                               status="In Progress")  # fmt: skip
    change_key = fake_jira.add_made_elsewhere("Change", "payments-api 4.12 rollout",
                                              created=jira_time(clock() - timedelta(hours=2)), components=("payments-api",))  # fmt: skip
    assert "is not linked to a problem" in panel.heading.text()
    panel.jira_key.setText(problem_key.lower())
    panel.jira_button.click()
    qtbot.waitUntil(lambda: panel.problem is not None and panel.problem.remote_key == problem_key)
    assert "Payments DB pool exhausted" in panel.heading.text() and f"Jira {problem_key}: In Progress" in panel.heading.text()
    # The candidate changes come from Jira on the worker; one is picked and linked.
    panel.find_changes_button.click()
    qtbot.waitUntil(lambda: panel.dialog is not None and panel.dialog.objectName() == "dialog-jira-changes"
                    and panel.dialog.isVisible())  # fmt: skip
    assert panel.dialog.list.count() == 1 and change_key in panel.dialog.list.item(0).text()
    panel.dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1)
    assert panel.table.item(0, 0).text() == change_key and panel.table.item(0, 2).text() == "payments-api"
    assert [c.ref for c in app.change_links.list(inc.key)] == [change_key]


def test_jira_failing_is_said_in_the_panel_and_nothing_is_linked(app, panel, qtbot, fake_jira):
    fake_jira.add_fault(status=500, path=r"/issue/", body={"errorMessages": ["Internal server error"]})
    panel.jira_key.setText("OPS-77")
    panel.jira_button.click()
    qtbot.waitUntil(lambda: "nothing was linked" in panel.status.text())
    assert panel.problem is None and app.problems.list() == []
    assert panel.jira_button.isEnabled()


def test_the_known_error_workaround_shows_when_a_new_incident_is_linked(app, panel, qtbot):
    old = app.incidents.declare("Card auth timeouts", "SEV2", author="tester")
    p = app.problems.add("Auth pool exhausted", author="tester", workaround="Pause settle-eu, recycle the pods")
    app.problems.link(old.key, p.key, author="tester")
    qtbot.waitUntil(lambda: panel.problem_combo.findData(p.key) >= 0)
    panel.problem_combo.setCurrentIndex(panel.problem_combo.findData(p.key))
    panel.link_button.click()
    qtbot.waitUntil(lambda: panel.problem is not None)
    assert panel.workaround.isVisible() and "Pause settle-eu, recycle the pods" in panel.workaround.text()
    assert old.key in panel.details.text() and "Known error — workaround" in panel.status.text()
    # A change by hand, through its form (opened by its command, as the Ctrl+K palette does); a bad time stays
    # on the form.
    panel.ctx.shell.command("act-link-change").trigger()
    form = panel.dialog
    qtbot.waitUntil(lambda: form is not None and form.isVisible())
    form.edits["ref"].setText("CHG0030012")
    form.edits["summary"].setText("pool resize")
    form.edits["when"].setText("in a while")
    form.buttons.accepted.emit()
    assert form.isVisible() and form.error.text()
    form.edits["when"].setText("1h ago")
    form.buttons.accepted.emit()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1)


# -- the acceptance story -------------------------------------------------------------------------------------
def test_an_older_imported_incident_shares_a_problem_with_a_new_one_in_the_list_and_the_metrics(
    run_cli, data_dir, tmp_path, qtbot
):
    """As a user would: another machine exports an older resolved incident; here it is imported, a problem is
    recorded, both incidents are linked to it; `metrics --by problem` and the incidents list grouped by problem
    show the two together."""
    elsewhere = tmp_path / "elsewhere"
    assert run_cli("declare", "Card payments declined in the EU", "--severity", "SEV2", "--service", "payments-api",
                   "--impact-started", "2h ago", data=elsewhere)[0] == 0  # fmt: skip
    assert run_cli("status", "INC-0001", "resolved", data=elsewhere)[0] == 0
    export = tmp_path / "older.json"
    assert run_cli("export", "-o", str(export), data=elsewhere)[0] == 0

    assert run_cli("declare", "Unrelated search slowness", "--severity", "SEV3")[0] == 0
    code, out, err = run_cli("import", str(export))
    assert code == 0, err
    assert run_cli("declare", "Payments failing", "--severity", "SEV1", "--service", "payments-api",
                   "--impact-started", "40m ago")[0] == 0  # fmt: skip
    code, out, err = run_cli("problem", "add", "payments-db-eu pool exhausted by settle-eu", "--workaround",
                             "Pause settle-eu and recycle the payments-api pods", "--link", "INC-0002")  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli("problem", "link", "INC-0003", "PRB-0001")
    assert code == 0 and "Workaround: Pause settle-eu" in out and "Also linked to it: INC-0002" in out
    assert run_cli("status", "INC-0003", "resolved")[0] == 0

    code, out, err = run_cli("metrics", "--by", "problem", "--metric", "time_to_resolve", "--json")
    assert code == 0, err
    (table,) = json.loads(out)["metrics"]
    groups = {g["group"]: g["count"] for g in table["groups"]}
    assert groups["PRB-0001 payments-db-eu pool exhausted by settle-eu"] == 2

    store = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")
    try:
        imported = store.incidents.get("INC-0002")
        assert imported.title == "Card payments declined in the EU"  # came in by the import, not declared here
        ctx = console_context(store, data_dir)
        window = main_window(ctx, qtbot, "ui.panels.incidents")
        panel = window.panels["incidents"]
        panel.group_by_problem()
        model = panel.model
        qtbot.waitUntil(lambda: not panel.view.isColumnHidden(IncidentListModel.COL_PROBLEM))
        shown = [(model.summary(r).key, model.data(model.index(r, IncidentListModel.COL_PROBLEM)))
                 for r in range(model.rowCount())]  # fmt: skip
        assert shown[:2] == [("INC-0003", "PRB-0001"), ("INC-0002", "PRB-0001")]  # one problem's together, newest first
        assert shown[2] == ("INC-0001", "")
        # Filtering by the problem leaves the two.
        panel.problem_filter.setCurrentIndex(panel.problem_filter.findData("PRB-0001"))
        assert sorted(model.summary(r).key for r in range(model.rowCount())) == ["INC-0002", "INC-0003"]
        ctx.notifier.close()
    finally:
        store.close()
