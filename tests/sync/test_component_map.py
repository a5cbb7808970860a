"""Choosing the status page's component for each service: the picker in Tools ▸ Backends…, driven through
the real widgets against the loopback Statuspage fake, and the Qt-free parts under it (the services the
store has seen, the component list kept for offline review)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from models.enums import Status
from services.record.incident_index import IncidentIndex, ServiceSeen
from tests.fakes import statuspage as fsp
from tests.sync.conftest import configure_backends
from tests.ui.console_kit import console_context, main_window
from ui.dialogs.component_map import NOT_SHOWN, ComponentMapDialog
from ui.timefmt import viewer_time

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def ctx(app, data_dir):
    ctx = console_context(app, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot, app):
    w = main_window(ctx, qtbot, "ui.panels.sync")
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    app.sync.stop()


def declare_seen_services(app) -> None:
    app.incidents.declare("Checkout slow", "SEV3", author="ic", services=["checkout", "search"])
    done = app.incidents.declare("Search down", "SEV3", author="ic", services=["search", "web"])
    for status in (Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED):
        app.incidents.set_status(done.id, status, author="ic")


def open_picker(window, qtbot) -> tuple[object, ComponentMapDialog]:
    dialog = window.panels["sync"].open_backends()
    page = dialog.select("statuspage")
    assert page.choose_components_button is not None and page.choose_components_button.isVisible()
    qtbot.mouseClick(page.choose_components_button, LEFT)
    picker = dialog.component_picker
    assert isinstance(picker, ComponentMapDialog) and picker.isVisible()
    qtbot.waitExposed(picker)
    return dialog, picker


def wait_fetched(picker, qtbot) -> None:
    qtbot.waitUntil(lambda: not picker.fetching, timeout=10000)


def key(qtbot, row, key) -> None:
    """A key as a person presses it: to the completion list when it is open (it has the keyboard)."""
    popup = row.combo.completer().popup()
    qtbot.keyClick(popup if popup.isVisible() else row.combo.lineEdit(), key)


def has_focus(picker, row) -> bool:
    return picker.focusWidget() in (row.combo, row.combo.lineEdit())


def items(row) -> list[str]:
    return [row.combo.itemText(i) for i in range(row.combo.count())]


# -- the Qt-free parts -------------------------------------------------------------------------------
def test_the_services_seen_are_counted_once_per_incident_and_listed_a_to_z(app):
    assert IncidentIndex(app.store).services_seen() == []
    declare_seen_services(app)
    app.incidents.declare("Web login", "SEV4", author="ic", services=["Web-Edge"])
    assert IncidentIndex(app.store).services_seen() == [
        ServiceSeen("checkout", 1, 1),
        ServiceSeen("search", 2, 1),
        ServiceSeen("web", 1, 0),
        ServiceSeen("Web-Edge", 1, 1),
    ]


def test_a_fetched_component_list_is_kept_for_its_own_page_only_and_holds_no_credential(app, fake_sp, clock):
    configure_backends(app, sp=fake_sp)
    assert app.sync.cached_components("statuspage") is None
    fetched = app.sync.fetch_components("statuspage")
    assert [c["id"] for c in fetched.components] == ["cmp0001", "cmp0002", "cmp0003"]
    clock.advance(hours=3)
    kept = app.sync.cached_components("statuspage")
    assert kept is not None and kept.from_cache and kept.fetched_at == fetched.fetched_at
    assert kept.components == fetched.components
    text = app.sync.component_cache.path.read_text()
    assert fsp.API_KEY not in text and "Component 2" in text
    # Another page's list is not offered for this one.
    app.sync.configure("statuspage", {"page_id": "pgother"})
    assert app.sync.cached_components("statuspage") is None
    app.sync.configure("statuspage", {"page_id": fsp.PAGE})
    assert app.sync.cached_components("statuspage") is not None
    # A damaged file is a missing list, not a failure.
    app.sync.component_cache.path.write_text("{not json")
    assert app.sync.cached_components("statuspage") is None


# -- the picker ----------------------------------------------------------------------------------------
# The completion list is a real popup; the offscreen platform cannot give it the keyboard grab and says so.
@pytest.mark.qt_log_ignore("This plugin does not support grabbing the keyboard")
def test_choosing_a_component_per_service_saves_its_id_in_the_backend_settings(
    window, app, fake_sp, qtbot, data_dir
):
    configure_backends(app, sp=fake_sp)
    gid = fake_sp.add_group("Payments", ["cmp0002", "cmp0003"])
    fake_sp.components["cmp0003"]["status"] = "degraded_performance"
    declare_seen_services(app)
    dialog, picker = open_picker(window, qtbot)
    wait_fetched(picker, qtbot)

    # One row per service seen on an incident, plus those only in the map, A to Z.
    assert [r.service for r in picker.rows] == ["checkout", "payments", "search", "web"]
    assert [r.hint.text() for r in picker.rows] == [
        "1 incident, 1 open",
        "only in the map",
        "2 incidents, 1 open",
        "1 incident",
    ]
    search = picker.row("search")
    # By name, with the current status, grouped as the page groups them; the group itself is a heading.
    assert items(search) == [
        NOT_SHOWN,
        "Component 1 (operational)",
        "Payments",
        "Payments › Component 2 (operational)",
        "Payments › Component 3 (degraded performance)",
    ]
    heading = search.model.item(2)
    assert heading.data(Qt.ItemDataRole.UserRole) is None and not heading.isEnabled()
    assert gid not in {search.combo.itemData(i) for i in range(search.combo.count())}
    assert search.combo.currentText() == NOT_SHOWN
    assert picker.row("checkout").combo.currentText() == "Component 1 (operational)"
    assert picker.row("payments").combo.currentText() == "Payments › Component 2 (operational)"
    assert picker.source_label.text() == "3 components on the page, fetched 09:00."
    assert not picker.message.isVisible()

    # The keyboard alone: into the first row, Tab to search, type part of a name, Tab on to settle it.
    assert has_focus(picker, picker.row("checkout"))
    qtbot.keyClick(picker.focusWidget(), Qt.Key.Key_Tab)
    qtbot.keyClick(picker.focusWidget(), Qt.Key.Key_Tab)
    assert has_focus(picker, search)
    search.combo.lineEdit().selectAll()
    qtbot.keyClicks(search.combo.lineEdit(), "component 3")
    key(qtbot, search, Qt.Key.Key_Tab)
    assert search.combo.currentText() == "Payments › Component 3 (degraded performance)"
    # Part of a name that only one component has is enough (what the completion list offers).
    web = picker.row("web")
    assert has_focus(picker, web)
    qtbot.keyClicks(web.combo.lineEdit(), "nent 2")
    key(qtbot, web, Qt.Key.Key_Tab)
    assert web.combo.currentText() == "Payments › Component 2 (operational)"
    # Tab goes on from the last row to adding a service, then Save, then Cancel.
    assert picker.focusWidget() is picker.add_edit
    qtbot.keyClick(picker.add_edit, Qt.Key.Key_Tab)
    assert picker.focusWidget() is picker.add_button
    qtbot.keyClick(picker.add_button, Qt.Key.Key_Tab)
    assert picker.focusWidget() is picker.save_button
    web.combo.setCurrentIndex(0)
    # Payments no longer shown on the page.
    picker.row("payments").combo.setCurrentIndex(0)
    # A service no incident has named yet: Enter in the box adds its row (it does not save).
    qtbot.keyClicks(picker.add_edit, "mobile-app")
    qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert picker.isVisible()
    mobile = picker.row("mobile-app")
    assert mobile is not None and mobile.hint.text() == "added now" and has_focus(picker, mobile)
    # Typing an id works too; Down picks the one completion, Enter takes it, and Enter again saves.
    qtbot.keyClicks(mobile.combo.lineEdit(), "Component 1")
    key(qtbot, mobile, Qt.Key.Key_Down)
    key(qtbot, mobile, Qt.Key.Key_Return)
    assert mobile.combo.currentText() == "Component 1 (operational)" and picker.isVisible()
    key(qtbot, mobile, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.component_picker is None)

    assert app.sync.settings.backend("statuspage")["component_map"] == {
        "checkout": "cmp0001",
        "search": "cmp0003",
        "mobile-app": "cmp0001",
    }
    assert dialog.result.text() == "Statuspage: component map saved (3 services mapped)."
    page = dialog.pages["statuspage"]
    assert "search = cmp0003" in page.inputs["component_map"].toPlainText() and not page.dirty()
    assert fsp.API_KEY not in (data_dir / "config" / "components.json").read_text()
    dialog.reject()


@pytest.mark.qt_log_ignore("This plugin does not support grabbing the keyboard")
def test_a_component_deleted_on_the_page_shows_as_unknown_and_is_kept_until_changed(
    window, app, fake_sp, qtbot
):
    configure_backends(app, sp=fake_sp)
    app.sync.configure("statuspage", {"component_map": {"checkout": "cmp0001", "payments": "cmp0099"}})
    dialog, picker = open_picker(window, qtbot)
    wait_fetched(picker, qtbot)
    payments = picker.row("payments")
    assert payments.combo.currentText() == "cmp0099 — not on the page any more"
    assert payments.hint.text() == "not on the page"
    assert (
        picker.message.isVisible()
        and "no longer has the component mapped for payments" in picker.message.text()
    )
    assert picker.row("checkout").hint.text() == "only in the map"

    # Saving as it is keeps it: nothing is dropped behind the person's back.
    qtbot.mouseClick(picker.save_button, LEFT)
    qtbot.waitUntil(lambda: dialog.component_picker is None)
    assert dialog.result.text() == (
        "Statuspage: component map unchanged. Still mapped to a component the page no longer has: payments."
    )
    assert app.sync.settings.backend("statuspage")["component_map"]["payments"] == "cmp0099"

    # A typed name that is no component is refused next to its row; choosing "not shown" removes it.
    _, picker = open_picker(window, qtbot)
    wait_fetched(picker, qtbot)
    payments = picker.row("payments")
    payments.combo.lineEdit().setText("Compo")  # matches three components: not a choice
    qtbot.mouseClick(picker.save_button, LEFT)
    assert picker.isVisible() and picker.message.text().startswith(
        "payments: “Compo” is not one of the page's components."
    )
    assert payments.hint.text() == "no such component" and has_focus(picker, payments)
    payments.combo.setCurrentIndex(payments.combo.findText(NOT_SHOWN))
    assert payments.hint.text() == "only in the map"
    assert not picker.message.isVisible()  # the warning about it went with it
    qtbot.keyClick(payments.combo, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.component_picker is None)
    assert app.sync.settings.backend("statuspage")["component_map"] == {"checkout": "cmp0001"}
    dialog.reject()


def test_offline_the_picker_says_why_and_shows_the_list_kept_from_the_last_fetch(
    window, app, fake_sp, qtbot, clock
):
    configure_backends(app, sp=fake_sp)
    fake_sp.stop()
    dialog, picker = open_picker(window, qtbot)
    wait_fetched(picker, qtbot)
    # Never fetched, and unreachable: the map's ids as they are, said to be unchecked.
    assert picker.message.text().startswith("Statuspage is unreachable")
    assert "No component list has been fetched for this page yet" in picker.message.text()
    assert picker.source_label.text() == "No component list fetched for this page yet."
    checkout = picker.row("checkout")
    assert checkout.combo.currentText() == "cmp0001 — not checked (no component list yet)"
    assert checkout.hint.text() == "not checked"
    picker.reject()
    qtbot.waitUntil(lambda: dialog.component_picker is None)

    fake_sp.restart()
    app.sync.fetch_components("statuspage")  # as `sitrep backend components statuspage` would
    then = clock()
    clock.advance(days=1)
    fake_sp.stop()
    page = dialog.pages["statuspage"]
    qtbot.mouseClick(page.choose_components_button, LEFT)
    picker = dialog.component_picker
    wait_fetched(picker, qtbot)
    when = viewer_time(then, clock())
    assert picker.message.text().startswith("Statuspage is unreachable")
    assert picker.message.text().endswith(f"Showing the list fetched {when}.")
    assert (
        picker.source_label.text() == f"3 components on the page, fetched {when} (kept from the last fetch)."
    )
    assert picker.row("checkout").combo.currentText() == "Component 1 (operational)"
    assert picker.row("payments").hint.text() == "only in the map"
    picker.reject()
    qtbot.waitUntil(lambda: dialog.component_picker is None)
    dialog.reject()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("wrong_key", "Statuspage refused the credentials (401): Could not authenticate"),
        ("rate_limited", "Statuspage is rate limiting us (429)"),
        ("no_page", "Statuspage: set 'page_id' (Page id)."),
    ],
)
def test_the_picker_passes_on_the_clear_reason_a_fetch_failed(window, app, fake_sp, qtbot, setup, expected):
    configure_backends(app, sp=fake_sp)
    if setup == "wrong_key":
        app.sync.set_secret("statuspage", "api_key", "not-the-key")
    elif setup == "rate_limited":
        fake_sp.add_fault(status=429, headers={"Retry-After": "30"}, body={"message": "Rate limit exceeded"})
    else:
        app.sync.configure("statuspage", {}, unset=("page_id",))
    dialog, picker = open_picker(window, qtbot)
    wait_fetched(picker, qtbot)
    assert picker.message.text().startswith(expected)
    assert "#" in picker.message.styleSheet()  # said in the error colour
    assert fsp.API_KEY not in picker.message.text()
    picker.reject()
    dialog.reject()


def test_with_no_service_anywhere_the_picker_says_so_and_starts_at_adding_one(window, app, fake_sp, qtbot):
    configure_backends(app, sp=fake_sp)
    app.sync.configure("statuspage", {"component_map": {}})
    dialog, picker = open_picker(window, qtbot)
    wait_fetched(picker, qtbot)
    assert picker.rows == [] and picker.empty_label.isVisible()
    assert picker.focusWidget() is picker.add_edit
    qtbot.keyClicks(picker.add_edit, "checkout")
    qtbot.keyClick(picker.add_edit, Qt.Key.Key_Return)
    assert not picker.empty_label.isVisible() and [r.service for r in picker.rows] == ["checkout"]
    qtbot.keyClick(picker, Qt.Key.Key_Escape)  # Esc leaves without saving
    qtbot.waitUntil(lambda: dialog.component_picker is None)
    assert app.sync.settings.backend("statuspage")["component_map"] == {}
    dialog.reject()
