"""Reading a configuration document strictly, and quickly, whatever the file holds.

A config file is operator input, but it may come from a template, a volume or a chart that nobody
reads twice, so every way a document can go wrong ends in one :class:`ConfigSyntaxError` that says
what went wrong, where, and never takes long:

* the file is read as UTF-8 (a BOM is allowed) and is at most :data:`MAX_CONFIG_BYTES`;
* a key repeated in one mapping is an error (YAML keeps the last one silently); ``<<`` merges still
  override as YAML defines;
* aliases are shared, never copied, while loading; the document is then measured as if every alias
  were expanded, and refused past :data:`MAX_CONFIG_VALUES` values or :data:`MAX_CONFIG_DEPTH` levels
  (a 300-byte "billion laughs" document expands to millions), and when it refers to itself.

These bounds apply before any setting exists, so they are constants, documented in the security page.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1024 * 1024
MAX_CONFIG_VALUES = 10_000
MAX_CONFIG_DEPTH = 32
_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml's parser when PyYAML has it: a hundred times faster, and it refuses absurd nesting itself.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigSyntaxError(Exception):
    """The document cannot be read as a configuration; the message says why and where."""


class _StrictLoader(_SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader, refusing a key that appears twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it below
            if first is not key_node:
                raise ConfigSyntaxError(
                    f"duplicate key {_shown(key)} at line {key_node.start_mark.line + 1} "
                    f"(first at line {first.start_mark.line + 1}); YAML would silently keep only the last one"
                )
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def read_document(path: Path) -> Any:
    """The YAML document in ``path``; :class:`OSError` when it cannot be read, else ConfigSyntaxError."""
    with path.open("rb") as file:
        raw = file.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigSyntaxError(f"larger than {MAX_CONFIG_BYTES // 1024} KiB; a configuration is a few KiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigSyntaxError(
            f"not UTF-8 text: byte 0x{raw[error.start]:02x} at offset {error.start} cannot be decoded; "
            "save the file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except ConfigSyntaxError:
        raise
    except yaml.YAMLError as error:
        raise ConfigSyntaxError(f"not valid YAML: {_bounded(str(error))}") from None
    except RecursionError:
        raise ConfigSyntaxError(f"nested more than {MAX_CONFIG_DEPTH} levels deep") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise ConfigSyntaxError(f"holds a value YAML cannot represent: {_bounded(str(error))}") from None
    check_size(data)
    return data


def check_size(data: Any) -> None:
    """Refuse a document (or mapping) that expands past the bounds, or contains itself."""
    measured: dict[int, tuple[int, int]] = {}  # id -> (values once expanded, levels below)

    def measure(value: Any, depth: int, open_ids: set[int]) -> tuple[int, int]:
        if not isinstance(value, (Mapping, list, tuple)):
            return 1, 0
        key = id(value)
        known = measured.get(key)
        if known is None:
            if key in open_ids:
                raise ConfigSyntaxError("a value contains itself (a recursive YAML alias)")
            if depth > MAX_CONFIG_DEPTH:
                raise ConfigSyntaxError(f"nested more than {MAX_CONFIG_DEPTH} levels deep")
            open_ids.add(key)
            children = [*value.keys(), *value.values()] if isinstance(value, Mapping) else value
            total, height = 1, 0
            for child in children:
                size, below = measure(child, depth + 1, open_ids)
                total, height = total + size, max(height, below + 1)
                if total > MAX_CONFIG_VALUES:
                    break  # reported below, the same way as an alias reused too often
            open_ids.discard(key)
            known = measured[key] = (total, height)
        if depth + known[1] > MAX_CONFIG_DEPTH:
            raise ConfigSyntaxError(f"nested more than {MAX_CONFIG_DEPTH} levels deep")
        if known[0] > MAX_CONFIG_VALUES:
            raise ConfigSyntaxError(
                f"expands to more than {MAX_CONFIG_VALUES:,} values once its aliases are resolved; "
                "a configuration has a few hundred"
            )
        return known

    measure(data, 0, set())


def _shown(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _bounded(message: str) -> str:
    return message if len(message) <= 500 else message[:497] + "..."
