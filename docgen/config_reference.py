"""The configuration reference table: every key of the schema, its default, allowed values and meaning."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from typing import Any

from docgen.blocks import cell
from nethical_otel.config import Config, Secret


def _default(field: dataclasses.Field[Any]) -> str:
    value = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    if value is None:
        return ""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, (tuple, list)):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value}`"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _allowed(field: dataclasses.Field[Any]) -> str:
    choices, low, high = (field.metadata.get(key) for key in ("choices", "minimum", "maximum"))
    if choices:
        return ", ".join(f"`{choice}`" for choice in choices)
    if low is not None and high is not None:
        return f"{_number(low)} to {_number(high)}"
    if low is not None:
        return f"≥ {_number(low)}"
    if high is not None:
        return f"≤ {_number(high)}"
    return ""


def rows(cls: type, prefix: str = "") -> Iterator[str]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        path = prefix + (field.metadata.get("key") or field.name)
        if dataclasses.is_dataclass(hints[field.name]):
            yield from rows(hints[field.name], path + ".")
            continue
        doc = field.metadata.get("doc", "")
        if Secret in typing.get_args(hints[field.name]) or hints[field.name] is Secret:
            doc = f"{doc} (secret)" if doc else "(secret)"
        yield f"| `{path}` | {_default(field)} | {_allowed(field)} | {cell(doc)} |"


def reference() -> str:
    """The Markdown table of every configuration key."""
    return "\n".join(["| key | default | allowed | meaning |", "|---|---|---|---|", *rows(Config)])


def default_of(key: str) -> Any:
    """The schema's default for a dotted configuration key, such as ``alerting.max_groups_per_source``."""
    cls: Any = Config
    *sections, name = key.split(".")
    for section in sections:
        cls = typing.get_type_hints(cls)[section]
    (field,) = [f for f in dataclasses.fields(cls) if (f.metadata.get("key") or f.name) == name]
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default


def readme_bounds() -> str:
    """The README's bounds under hostile input, every number the schema's default."""

    def n(key: str) -> str:
        return _number(default_of(key))

    share = default_of("alerting.source_share")
    share_text = "half" if share == 0.5 else f"{share:.0%}"
    return "\n".join(
        [
            f'- **Series:** {n("prometheus.cardinality_limit")} per family, then one `otel_metric_overflow="true"`'
            f" series; label values cut at {n('prometheus.label_value_max_length')} characters.",
            f"- **Alert groups:** {n('alerting.max_groups_per_source')} open per detector"
            ' (`alerting.max_groups_per_source`), then one overflow group ("and N further categories");'
            f" {n('alerting.max_alerts_per_minute')} notifications a minute per channel (`max_alerts_per_minute`),"
            f" a source using at most {share_text} of them (`source_share`); past those limits, CRITICAL alerts"
            f" still go out at once {n('alerting.critical_per_minute')} a minute per detector"
            " (`critical_per_minute`), then wait their turn: counted, never dropped.",
            f"- **Faults:** a failing store keeps {n('alerting.store_buffer_size')} occurrences in memory"
            " (`store_buffer_size`) and delivers CRITICAL ones from there; whatever is given up is counted as"
            ' `nethical_alerts_total{outcome="dropped"}` and logged once.',
            f"- **Metrics server:** {n('metrics_server.max_connections')} connections,"
            f" {n('metrics_server.header_timeout_seconds')} s to send a request head; `shutdown()` returns within"
            f" {n('shutdown.timeout_seconds')} s whatever the collector does.",
        ]
    )
