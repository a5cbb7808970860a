"""The one rule of docs/architecture.md, checked: imports point down (app -> ui -> services -> models), services
never import Qt, and a project module imported inside a function is a start-up deferral that says so."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("app", "ui", "services", "models")
# What each layer may not import (anything above it, and for the Qt-free layers, Qt).
FORBIDDEN = {
    "ui": {"app"},
    "services": {"app", "ui", "PySide6", "shiboken6", "pyqtgraph"},
    "models": {"app", "ui", "services", "PySide6", "shiboken6", "pyqtgraph"},
}


def _sources(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "migrations" not in p.parts)


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down(layer):
    wrong = []
    for path in _sources(layer):
        for node, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.split(".")[0] in FORBIDDEN[layer]:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_a_function_local_project_import_is_a_documented_start_up_deferral():
    undocumented = []
    for layer in ("app", "ui", "services"):
        for path in _sources(layer):
            rel = path.relative_to(ROOT).as_posix()
            lines = path.read_text(encoding="utf-8").splitlines()
            tree = ast.parse("\n".join(lines))
            for func in ast.walk(tree):
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node, module in _imports(func):
                    if module.split(".")[0] not in LAYERS:
                        continue
                    # The reason sits on the import line or in the comment lines just above it.
                    above = lines[max(0, node.lineno - 4) : node.end_lineno]
                    if not any("deferred" in line.lower() or "start-up" in line for line in above):
                        undocumented.append(f"{rel}:{node.lineno} imports {module} inside {func.name}()")
    assert not undocumented, "\n".join(undocumented)


def test_a_command_module_does_not_import_the_command_table():
    """app/cli.py imports every command area; an area importing it back would be the old import loop."""
    loops = []
    for path in sorted((ROOT / "app").glob("cli_*.py")):
        for node, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module == "app.cli":
                loops.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not loops, "\n".join(loops)
