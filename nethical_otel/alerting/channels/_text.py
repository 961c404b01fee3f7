"""Shaping untrusted text for channels: valid Unicode, one line where needed, within a length limit.

Lengths are counted in UTF-16 code units. Services document their limits in "characters"; a UTF-16 count
is never smaller than a code-point count, so text that fits here fits under either reading, and a
character outside the Basic Multilingual Plane (an emoji) is never split in half.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from nethical_otel._text import ELLIPSIS, Destination, clean, valid_unicode

__all__ = ["ELLIPSIS", "body_text", "fit", "one_line", "units", "valid_unicode"]

_UNBOUNDED = sys.maxsize


def one_line(text: str) -> str:
    """``text`` with every line break, control and bidi character replaced by a space."""
    return clean(text, Destination.LINE, _UNBOUNDED)


def body_text(text: str) -> str:
    """``text`` for a message body: newlines normalised to LF, other unsafe characters replaced by U+FFFD."""
    return clean(text, Destination.BODY, _UNBOUNDED)


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF) if not text.isascii() else len(text)


def fit(text: str, limit: int, render: Callable[[str], str] = valid_unicode) -> str:
    """``render(text)`` cut to at most ``limit`` units, ending in "…" when cut (default: valid Unicode).

    The cut is made in ``text`` before rendering, so an escape sequence (``&amp;``, ``\\*``) is never split.
    """
    rendered = render(text)
    if units(rendered) <= limit:
        return rendered
    if limit < 1:
        return ""
    # Rendering never shortens text, so no prefix longer than `limit` characters can fit.
    low, high = 0, min(len(text), limit)
    while low < high:  # the longest prefix whose rendering plus the ellipsis fits
        middle = (low + high + 1) // 2
        if units(render(text[:middle])) + 1 <= limit:
            low = middle
        else:
            high = middle - 1
    return render(text[:low]) + ELLIPSIS
