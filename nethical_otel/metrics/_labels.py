"""Label hygiene: whatever a detector or an attacker hands us becomes a short, printable string."""

from __future__ import annotations

from nethical_otel._text import Destination, clean
from nethical_otel.semconv import UNKNOWN

INVALID_LABEL = "invalid"  # the value of an object whose __str__ raises


class LabelCleaner:
    """Any value as a label value: valid UTF-8, no control or bidi characters, trimmed, at most
    ``max_length`` code points, and ``unknown`` when nothing is left (see :mod:`nethical_otel._text`)."""

    __slots__ = ("max_length",)

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def __call__(self, value: object) -> str:
        return clean(value, Destination.LABEL, self.max_length, INVALID_LABEL) or UNKNOWN
