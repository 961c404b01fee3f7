"""Shaping untrusted text for channels: valid Unicode, one line where needed, within a length limit.

Lengths are counted in UTF-16 code units. Services document their limits in "characters"; a UTF-16 count
is never smaller than a code-point count, so text that fits here fits under either reading, and a
character outside the Basic Multilingual Plane (an emoji) is never split in half.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping

from nethical_otel._text import ELLIPSIS, Destination, clean, valid_unicode
from nethical_otel.alerting.model import Alert, Notification

__all__ = ["ELLIPSIS", "body_text", "fit", "one_line", "safe_alert", "safe_notification", "units", "valid_unicode"]

_UNBOUNDED = sys.maxsize
DEFAULT_TITLE = "Untitled alert"
DEFAULT_NAME = "nethical_alert"


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


def _line_map(values: Mapping[str, str]) -> dict[str, str]:
    return {one_line(key): one_line(value) for key, value in values.items()}


def safe_alert(alert: Alert) -> Alert:
    """``alert`` with every string safe for any channel: names, titles, labels and annotations on one line,
    the message a body (newlines kept), no control, bidi or invalid character anywhere. A blank title or
    name gets a default. Lengths are left to the caller (each service has its own)."""
    return dataclasses.replace(
        alert,
        name=one_line(alert.name).strip() or DEFAULT_NAME,
        title=one_line(alert.title).strip() or DEFAULT_TITLE,
        message=body_text(alert.message),
        labels=_line_map(alert.labels),
        annotations=_line_map(alert.annotations),
        trace_id=None if alert.trace_id is None else one_line(alert.trace_id),
        span_id=None if alert.span_id is None else one_line(alert.span_id),
    )


def safe_notification(notification: Notification) -> Notification:
    """The one entry every channel renderer goes through: :func:`safe_alert` and a one-line reason."""
    return dataclasses.replace(notification, alert=safe_alert(notification.alert), reason=one_line(notification.reason))
