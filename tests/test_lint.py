"""The code stays lint-clean, formatted, strictly typed and layered: the suite runs the same tools as a developer.

``lint-imports`` checks the import-linter contract in pyproject.toml: data flows one way through the layers
(names and config, metrics, pipeline, surfaces, components, entry points), so the pipeline never imports a
component and no two layers import each other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["lint-imports"],
    ],
    ids=" ".join,
)
def test_the_tree_passes(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
