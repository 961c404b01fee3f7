"""The docs match the code: generated blocks are current, settings tables state the schema's defaults."""

from __future__ import annotations

import re

import pytest

from docgen.blocks import read_block
from docgen.config_reference import default_of
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


_STATED = re.compile(r"`?(\d+(?:,\d{3})*(?:\.\d+)?|true|false|unset)`?(?: [a-zA-Z ]+)?")


def _table_defaults(page: str) -> list[tuple[str, str]]:
    """(setting, the default the page states) for every table row that names settings and a plain default."""
    pairs = []
    for line in (DOCS / page).read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or not re.fullmatch(r"`[a-z_.]+`(, `[a-z_.]+`)*", cells[0]):
            continue
        keys = re.findall(r"`([a-z_.]+)`", cells[0])
        parts = [_STATED.fullmatch(part) for part in cells[1].split(", ")]
        if not all(parts):
            continue  # a default given in words ("user data dir"), checked by reading
        stated = [part.group(1) for part in parts if part]
        if stated == ["unset"]:
            stated *= len(keys)
        assert len(stated) == len(keys), f"{page}: one default per setting expected in {line!r}"
        pairs.extend(zip(keys, stated, strict=True))
    return pairs


def _as_stated(value: object) -> str:
    if value is None or value == ():
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{float(value):g}" if isinstance(value, (int, float)) else str(value)


# The section a page's short keys belong to; security.md names most keys in full.
SECTIONS = {
    "security.md": "alerting",
    "alerting.md": "alerting",
    "channels.md": "alerting",
    "profiling.md": "profiling",
}


def _default(section: str, key: str) -> object:
    try:
        return default_of(key)
    except (KeyError, ValueError):
        return default_of(f"{section}.{key}")


@pytest.mark.parametrize("page", sorted(SECTIONS))
def test_the_defaults_a_page_states_are_the_schemas(page):
    pairs = _table_defaults(page)
    assert pairs
    for key, stated in pairs:
        expected = _as_stated(_default(SECTIONS[page], key))
        value = stated if stated in ("true", "false", "unset") else f"{float(stated.replace(',', '')):g}"
        assert value == expected, f"{page}: {key} is stated as {stated}, the schema's default is {expected}"
