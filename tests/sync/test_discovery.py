"""A third-party backend that fails to load is reported in a line, and sync goes on without it."""

from __future__ import annotations

import logging
import sys

from services.adapters.discovery import discover_adapters


def _plugin(tmp_path, name: str, target: str) -> None:
    info = tmp_path / f"sitrep_{name}-1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: sitrep-{name}\nVersion: 1\n")
    (info / "entry_points.txt").write_text(f"[sitrep.adapters]\n{name} = {target}\n")


def test_a_plugin_whose_package_is_missing_is_one_line_not_a_traceback(tmp_path, caplog, monkeypatch):
    _plugin(tmp_path, "opsgenie", "sitrep_opsgenie_gone.adapter:OpsgenieAdapter")
    (tmp_path / "sitrep_broken_plugin.py").write_text("raise RuntimeError('plugin bug at import')\n")
    _plugin(tmp_path, "broken", "sitrep_broken_plugin:Adapter")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="services.adapters.discovery"):
        found = discover_adapters()
    assert {"pagerduty", "jira", "statuspage"} <= set(found.adapters)
    assert "opsgenie" not in found.adapters and "broken" not in found.adapters
    (missing,) = [p for p in found.problems if "opsgenie" in p]
    assert "ModuleNotFoundError" in missing and "sitrep_opsgenie_gone" in missing
    by_plugin = {r.getMessage().split()[1]: r for r in caplog.records}
    assert not by_plugin["sitrep_opsgenie_gone.adapter:OpsgenieAdapter"].exc_info
    assert by_plugin["sitrep_broken_plugin:Adapter"].exc_info  # a plugin's own bug keeps its trace
    sys.modules.pop("sitrep_broken_plugin", None)
