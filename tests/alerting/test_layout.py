"""The alerting package stays livable: small modules, one class with a lifecycle per module, a thin front."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "nethical_otel" / "alerting"
MODULES = sorted(PACKAGE.rglob("*.py"))
LIFECYCLE = {"start", "stop", "close", "shutdown"}


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_every_module_is_at_most_400_lines_with_at_most_one_class_that_has_a_lifecycle(module):
    assert lines(module) <= 400
    tree = ast.parse(module.read_text(encoding="utf-8"))
    with_lifecycle = [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and LIFECYCLE & {item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    ]
    assert len(with_lifecycle) <= 1, with_lifecycle


def test_the_alert_manager_is_a_thin_front():
    assert lines(PACKAGE / "manager.py") <= 250
