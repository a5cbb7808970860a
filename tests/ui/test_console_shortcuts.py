"""Keyboard-first: in the whole console, no two actions answer to the same keys."""

from __future__ import annotations

from collections import defaultdict

import pytest
from console_kit import add_people, console_context, main_window
from PySide6.QtGui import QAction, QKeySequence


@pytest.fixture
def window(sitrep, data_dir, qtbot):
    add_people(sitrep)
    sitrep.incidents.declare("Checkout failing in EU", "SEV1", author="tester", services=["checkout"])
    ctx = console_context(sitrep, data_dir)
    w = main_window(ctx, qtbot)  # every registered panel
    yield w
    w.close()
    ctx.notifier.close()


def test_no_two_actions_share_a_shortcut(window):
    by_keys: dict[str, list[str]] = defaultdict(list)
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            if not seq.isEmpty():
                by_keys[seq.toString(QKeySequence.SequenceFormat.PortableText)].append(action.text())
    clashes = {keys: names for keys, names in by_keys.items() if len(names) > 1}
    assert clashes == {}


def test_every_panel_and_the_directory_are_reachable_from_the_palette(window):
    names = [a.text() for a in window.commands]
    for panel_id in ("incidents", "roles"):
        assert f"Go to {window.docks[panel_id].windowTitle()}" in names
    assert "Responder directory…" in names
    assert "Assign a role…" in names and "Hand over a role…" in names
