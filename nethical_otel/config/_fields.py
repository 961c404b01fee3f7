"""Building blocks of the configuration schema: declared settings and secrets."""

from __future__ import annotations

import dataclasses
from typing import Any


class Secret:
    """A credential (webhook URL, routing key, password) that never shows up in logs, reprs or errors."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; only for the code that sends it to its destination."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Secret values cannot be pickled")


def setting(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    key: str | None = None,
    doc: str = "",
) -> Any:
    """A config field with its validation rules, read by the loader.

    ``key`` is the YAML key when it differs from the field name (``from`` is a Python keyword).
    """
    metadata = {"minimum": minimum, "maximum": maximum, "choices": choices, "key": key, "doc": doc}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
