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
