"""Read the Grafana dashboards of grafana/dashboards/: panels, their PromQL, and the variables they use.

``promql_queries`` expands Grafana's template variables the way Grafana would for a given selection, so
the expressions can run against a real Prometheus (or VictoriaMetrics) as the dashboard would send them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARDS = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"
PROMETHEUS_TYPE = "prometheus"


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # the dashboard's uid
    panel: str  # the panel's title
    ref_id: str
    expr: str  # as written in the dashboard, variables unexpanded

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.panel}:{self.ref_id}"


def load_dashboards(directory: Path = DASHBOARDS) -> dict[str, dict[str, Any]]:
    """Every dashboard JSON file, by file name."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))}


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def promql_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """The PromQL of every Prometheus target of every panel."""
    queries = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            datasource = target.get("datasource") or panel.get("datasource") or {}
            if datasource.get("type") == PROMETHEUS_TYPE:
                queries.append(PanelQuery(dashboard["uid"], panel["title"], target["refId"], target["expr"]))
    return queries


def variable_queries(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """Each query variable's ``label_values(...)`` query, by variable name."""
    return {
        variable["name"]: variable["query"] if isinstance(variable["query"], str) else variable["query"]["query"]
        for variable in dashboard.get("templating", {}).get("list", [])
        if variable.get("type") == "query"
    }


_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def expand(expr: str, values: Mapping[str, str]) -> str:
    """Replace ``$name`` and ``${name}`` with ``values[name]``; an unknown variable is an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for dashboard variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(replace, expr)


_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


def label_values_query(query: str) -> tuple[str | None, str]:
    """Split ``label_values(selector, label)`` into its selector (or None) and label."""
    match = _LABEL_VALUES.match(query.strip())
    if match is None:
        raise ValueError(f"not a label_values() query: {query!r}")
    return match.group("selector"), match.group("label")
