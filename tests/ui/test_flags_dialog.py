"""Feature flags… through its real widgets: opened from the checklists panel, it says how to set Unleash up
when it is not; set up against the loopback fake, it lists the incident's flags read live, switches one off
off the GUI thread and shows it read back; with Unleash down it says queued, not done."""

from __future__ import annotations

import pytest
from console_kit import console_context, main_window

from models.enums import Status
from services.core import Sitrep
from services.resolution.flags import FlagMapping
from services.storage.secrets import MemorySecrets
from tests.fakes import unleash as ful
from ui.dialogs.incident import StatusDialog

FLAG = "payments.new-3ds-flow"


@pytest.fixture
def fake_unleash():
    fake = ful.FakeUnleash().start()
    yield fake
    fake.stop()
    assert fake.violations == []


@pytest.fixture
def app(data_dir):
    secrets = MemorySecrets({("unleash", "api_token"): ful.TOKEN})
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups",
                      config_dir=data_dir / "config", sync_options={"secrets": secrets})  # fmt: skip
    app.flags.save_mapping([FlagMapping("payments-api", FLAG, environments=("production",), note="3DS flow")])
    app.people.add("Ana Ruiz", "tester")
    yield app
    app.close()


@pytest.fixture
def panel(app, data_dir, qtbot):
    inc = app.incidents.declare("Payments failing", "SEV1", author="tester", services=["payments-api"])
    app.roles.assign(inc.key, "IC", "tester", author="tester")
    ctx = console_context(app, data_dir)
    window = main_window(ctx, qtbot, "ui.panels.timeline", "ui.panels.checklists")
    window.show()
    qtbot.waitExposed(window)
    ctx.selection.set(app.incidents.get(inc.key))
    window.open_panel(window.docks["checklists"])
    yield window.panels["checklists"]
    ctx.notifier.close()


def test_without_unleash_it_says_how_to_set_it_up(panel, qtbot):
    assert panel.ctx.shell.command("act-feature-flags") is not None  # in the menu and the Ctrl+K palette
    panel.flags_button.click()
    dialog = panel.dialog
    qtbot.waitUntil(dialog.isVisible)
    assert "backend set unleash" in dialog.setup_note.text() and dialog.setup_note.isVisible()
    assert dialog.table.topLevelItemCount() == 1 and dialog.table.topLevelItem(0).text(0) == FLAG
    assert not dialog.off_button.isEnabled()
    dialog.reject()


def test_switch_off_shows_the_read_back_and_queued_when_down(app, panel, fake_unleash, qtbot):
    app.sync.configure("unleash", {"enabled": True, "timeout_s": 1.0, "url": fake_unleash.url})
    panel.open_flags()
    dialog = panel.dialog
    qtbot.waitUntil(lambda: dialog.table.topLevelItem(0).text(2) == "on", timeout=10000)
    dialog.why.setText("3DS loop declines EU cards")
    dialog.off_button.click()
    qtbot.waitUntil(lambda: "Done." in dialog.result.text() or "read back" in dialog.result.text(), timeout=15000)
    assert "read back off (was on)" in dialog.result.text() and not fake_unleash.enabled(FLAG, "production")
    qtbot.waitUntil(lambda: dialog.table.topLevelItem(0).text(2) == "off", timeout=10000)
    fake_unleash.stop()
    dialog.on_button.click()
    qtbot.waitUntil(lambda: "Queued" in dialog.result.text(), timeout=20000)
    assert "not done" in dialog.result.text()
    dialog.reject()


def test_resolving_offers_to_switch_a_flag_left_off_back_on(app, panel, fake_unleash, qtbot):
    app.sync.configure("unleash", {"enabled": True, "timeout_s": 1.0, "url": fake_unleash.url})
    inc = panel.incident
    app.flags.deliver(app.flags.request_switch(inc.id, FLAG, None, on=False, author="tester", why="kill it"))
    dialog = StatusDialog(panel.ctx, app.incidents.get(inc.id), panel)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.choose(Status.RESOLVED)
    assert dialog.flags_button.isVisible() and FLAG in dialog.owed_label.text()
    dialog.flags_button.click()
    flags = dialog.flags_dialog
    qtbot.waitUntil(lambda: flags.table.topLevelItem(0).text(2) == "off", timeout=10000)
    flags.why.setText("fixed: 4.11.3 is live")
    flags.on_button.click()
    qtbot.waitUntil(lambda: "read back on" in flags.result.text(), timeout=15000)
    flags.reject()
    qtbot.waitUntil(lambda: not dialog.flags_button.isVisible())
    assert FLAG not in dialog.owed_label.text()
