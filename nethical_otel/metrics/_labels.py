"""Label hygiene: whatever a detector or an attacker hands us becomes a short, printable string."""

from __future__ import annotations

from nethical_otel._text import Destination, clean
from nethical_otel.semconv import UNKNOWN, LevelCase

INVALID_LABEL = "invalid"  # the value of an object whose __str__ raises


class LabelCleaner:
    """Any value as a label value: valid UTF-8, no control or bidi characters, trimmed, at most
    ``max_length`` code points, and ``unknown`` when nothing is left (see :mod:`nethical_otel._text`).

    Values are recorded as given otherwise; only threat levels may be re-cased, when ``level_case`` asks.
    """

    __slots__ = ("_case", "max_length")

    def __init__(self, max_length: int, level_case: LevelCase = LevelCase.AS_GIVEN) -> None:
        self.max_length = max_length
        self._case = {LevelCase.UPPER: str.upper, LevelCase.LOWER: str.lower}.get(level_case)

    def __call__(self, value: object) -> str:
        return clean(value, Destination.LABEL, self.max_length, INVALID_LABEL) or UNKNOWN

    def level(self, value: object) -> str:
        """A threat level as a label value, in the configured case."""
        text = self(value)
        return text if self._case is None else self._case(text)[: self.max_length]
