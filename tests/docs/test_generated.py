"""The generated parts of the docs match the code they describe (semconv, the config schema)."""

from __future__ import annotations

import pytest

from docgen.blocks import read_block
from docgen.pages import GENERATED
from tests._support.docs import DOCS


@pytest.mark.parametrize("block", GENERATED, ids=lambda block: block.where)
def test_the_generated_block_is_current(block):
    assert block.is_current(), f"{block.where} is out of date: run scripts/docs generate"


def test_the_performance_page_has_the_benchmarks_table_and_chart():
    table = read_block(DOCS / "performance.md", "benchmark")
    assert "Command: `./scripts/benchmark" in table
    assert "| budget | measured | |" in table
    chart = DOCS / "assets" / "performance.png"
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
