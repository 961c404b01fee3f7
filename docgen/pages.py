"""Which generated block lives in which file, and what renders it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docgen import config_reference, metrics_reference, rules_reference
from docgen.blocks import read_block, write_block

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


@dataclass(frozen=True)
class Block:
    path: Path
    name: str
    render: Callable[[], str]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)} [{self.name}]"

    def is_current(self) -> bool:
        return read_block(self.path, self.name) == self.render().strip("\n")

    def write(self) -> bool:
        """Regenerate the block; True when the file changed."""
        return write_block(self.path, self.name, self.render())


GENERATED: tuple[Block, ...] = (
    Block(README, "metric-families", metrics_reference.family_names),
    Block(README, "bounds", config_reference.readme_bounds),
    Block(DOCS / "metrics.md", "metrics-contract", metrics_reference.contract_table),
    Block(DOCS / "metrics.md", "metrics-label-values", metrics_reference.label_values),
    Block(DOCS / "metrics.md", "metrics-own", metrics_reference.own_table),
    Block(DOCS / "metrics.md", "metrics-buckets", metrics_reference.buckets_table),
    Block(DOCS / "metrics.md", "metrics-otlp", metrics_reference.otlp_table),
    Block(DOCS / "metrics.md", "metrics-exemplars", metrics_reference.exemplars_table),
    Block(DOCS / "configuration.md", "config-reference", config_reference.reference),
    Block(DOCS / "alerting.md", "rules-table", rules_reference.rules_table),
    Block(DOCS / "zero-code.md", "gauge-merge", metrics_reference.gauge_merge_table),
)
