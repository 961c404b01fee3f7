"""Blocks of a Markdown file that a program owns, between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``."""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def _split(text: str, name: str, path: Path) -> tuple[str, str, str]:
    start, end = markers(name)
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"{path}: expected one {start} ... {end} block")
    head, _, rest = text.partition(start)
    body, _, tail = rest.partition(end)
    return head, body, tail


def read_block(path: Path, name: str) -> str:
    """The content of block ``name`` in ``path``, without the markers and the newlines next to them."""
    return _split(path.read_text(encoding="utf-8"), name, path)[1].strip("\n")


def write_block(path: Path, name: str, content: str) -> bool:
    """Replace block ``name`` in ``path`` with ``content``; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    head, _, tail = _split(text, name, path)
    start, end = markers(name)
    updated = f"{head}{start}\n{content.strip(chr(10))}\n{end}{tail}"
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


def cell(text: str) -> str:
    """Prose as a Markdown table cell: Slack's ``<!here>`` must not be read as HTML, ``|`` ends a cell."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
