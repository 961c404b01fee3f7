"""The README's configuration reference documents every key of the schema."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from pathlib import Path

from nethical_otel.config import Config

README = Path(__file__).resolve().parents[2] / "README.md"


def key_paths(cls: type, prefix: str = "") -> Iterator[str]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        path = prefix + (field.metadata.get("key") or field.name)
        if dataclasses.is_dataclass(hints[field.name]):
            yield from key_paths(hints[field.name], path + ".")
        else:
            yield path


def test_every_configuration_key_is_in_the_readme_reference():
    readme = README.read_text(encoding="utf-8")
    assert [path for path in key_paths(Config) if f"| `{path}` |" not in readme] == []
