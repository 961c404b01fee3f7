"""The code blocks of README.md and docs/, as the test suite runs them.

A fenced block whose language is ``python`` runs as a whole (tests/docs/test_snippets.py); one that cannot
run on its own is preceded by ``<!-- not-run: reason -->``. Every ``promql`` block runs against a real
Prometheus (tests/integration/test_prometheus_promql.py, tests/deployment/test_stack.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from docgen.pages import DOCS, README, ROOT

PROMQL_COOKBOOK = DOCS / "promql.md"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->\s*$")


def pages() -> list[Path]:
    """README.md and every page of the site."""
    return [README, *sorted(DOCS.rglob("*.md"))]


@dataclass(frozen=True)
class CodeBlock:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    not_run: str | None  # the reason given by a <!-- not-run: ... --> marker

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def code_blocks(path: Path) -> list[CodeBlock]:
    """Every fenced block of a Markdown file, dedented by its fence's indentation."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"].strip()
        language = info.split()[0].lower() if info else ""
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            body.append(lines[end].removeprefix(indent))
            end += 1
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = _NOT_RUN.match(previous)
        blocks.append(
            CodeBlock(path, index + 1, language, "\n".join(body) + "\n", marker["reason"] if marker else None)
        )
        index = end + 1
    return blocks


def blocks_in(language: str, paths: list[Path] | None = None) -> list[CodeBlock]:
    return [block for path in paths or pages() for block in code_blocks(path) if block.language == language]


@dataclass(frozen=True)
class PromqlExample:
    title: str
    expr: str
    where: str


def promql_examples(paths: list[Path] | None = None) -> list[PromqlExample]:
    """Every expression in the ```promql blocks, with the comment title above it.

    An expression is a line, plus the indented lines that continue it.
    """
    examples: list[PromqlExample] = []
    for block in blocks_in("promql", paths):
        title = ""
        current: list[str] = []
        for line in [*block.code.splitlines(), ""]:
            continuation = line.startswith((" ", "\t")) and current
            if current and not continuation:
                examples.append(PromqlExample(title, " ".join(part.strip() for part in current), block.where))
                current = []
            if line.startswith("#"):
                title = line.lstrip("# ").strip()
            elif line.strip():
                current.append(line)
    return examples
