"""The README's configuration reference is the schema's: every key, its default and its description.

After changing the schema, regenerate the table with ``NETHICAL_UPDATE_README=1 pytest tests/config``.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nethical_otel.config import Config, Secret

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


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
        yield f"| `{path}` | {_default(field)} | {doc} |"


def reference() -> str:
    return "\n".join(["| key | default | meaning |", "|---|---|---|", *rows(Config)])


def test_the_readme_configuration_reference_matches_the_schema():
    text = README.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    current, _, tail = rest.partition(END)
    expected = f"\n{reference()}\n"
    if os.environ.get("NETHICAL_UPDATE_README") and current != expected:
        README.write_text(f"{head}{START}{expected}{END}{tail}", encoding="utf-8")
        current = expected
    assert current == expected, "README configuration reference is stale: run NETHICAL_UPDATE_README=1 pytest"
