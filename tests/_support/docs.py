"""The PromQL examples of README.md, as the test suite runs them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class PromqlExample:
    title: str
    expr: str


def promql_examples(readme: Path = README) -> list[PromqlExample]:
    """Every expression in the README's ```promql blocks, with the comment title above it.

    An expression is a line, plus the indented lines that continue it.
    """
    examples: list[PromqlExample] = []
    for block in re.findall(r"```promql\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S):
        title = ""
        current: list[str] = []
        for line in [*block.splitlines(), ""]:
            continuation = line.startswith((" ", "\t")) and current
            if current and not continuation:
                examples.append(PromqlExample(title, " ".join(part.strip() for part in current)))
                current = []
            if line.startswith("#"):
                title = line.lstrip("# ").strip()
            elif line.strip():
                current.append(line)
    return examples
