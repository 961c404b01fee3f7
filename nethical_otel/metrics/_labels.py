"""Label hygiene: whatever a detector or an attacker hands us becomes a short, printable string."""

from __future__ import annotations

import re

from nethical_otel.semconv import UNKNOWN

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators: nothing that can break a line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
INVALID_LABEL = "invalid"


class LabelCleaner:
    """Coerce label values to ``str``, drop control characters and cut them to ``max_length``."""

    __slots__ = ("max_length",)

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def __call__(self, value: object) -> str:
        if type(value) is not str:
            if hasattr(value, "value") and isinstance(value.value, str):  # str-valued enums
                value = value.value
            else:
                try:
                    value = str(value)
                except Exception:  # an object whose __str__ raises must not break the detector
                    return INVALID_LABEL
            if type(value) is not str:  # a __str__ returning a str subclass
                value = str.__str__(value)
        text: str = value
        if not text.isprintable():
            text = _UNPRINTABLE.sub("", text)
        text = text.strip()
        if len(text) > self.max_length:
            text = text[: self.max_length]
        return text or UNKNOWN
