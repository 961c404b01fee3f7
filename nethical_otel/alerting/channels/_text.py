"""Shaping untrusted text for channels: valid Unicode, one line where needed, within a length limit.

Lengths are counted in UTF-16 code units. Services document their limits in "characters"; a UTF-16 count
is never smaller than a code-point count, so text that fits here fits under either reading, and a
character outside the Basic Multilingual Plane (an emoji) is never split in half.
"""

from __future__ import annotations

import re
from collections.abc import Callable

ELLIPSIS = "…"

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls, DEL, C1 NEL and the Unicode line and paragraph separators: anything that breaks a line.
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
# In a body, tabs and newlines are text; other controls are not.
_BODY_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def valid_unicode(text: str) -> str:
    """``text`` with lone surrogates (which cannot be encoded as UTF-8) replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def one_line(text: str) -> str:
    """``text`` with every line break and control character replaced by a space."""
    return _LINE_BREAKERS.sub(" ", valid_unicode(text))


def body_text(text: str) -> str:
    """``text`` for a message body: newlines normalised to LF, other control characters replaced by U+FFFD."""
    text = valid_unicode(text).replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROLS.sub("\ufffd", text)


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
