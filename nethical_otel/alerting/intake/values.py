"""Turning what callers hand to ``send_alert`` into bounded, printable, storable values.

Titles, messages and metadata come from application code and, through it, from attackers. Whatever they
are (huge strings, objects whose ``__str__`` raises, lone surrogates), they become ``str`` values of
bounded length here, once, before anything is stored or rendered. Channels still escape them by their
own rules; this module only makes them safe to keep.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nethical_otel.alerting.channels._text import safe_alert, valid_unicode
from nethical_otel.alerting.model import Alert
from nethical_otel.config import Secret

TITLE_LIMIT = 1024
MESSAGE_LIMIT = 16 * 1024
METADATA_KEY_LIMIT = 256
METADATA_VALUE_LIMIT = 4096
METADATA_MAX_ITEMS = 64
TRUNCATED = "…[truncated]"

Scalar = str | int | float | bool | None


def text(value: object, limit: int) -> str:
    """``value`` as a string of at most ``limit`` characters; never raises."""
    if isinstance(value, Secret):
        result = repr(value)
    elif isinstance(value, str):
        result = value
    else:
        try:
            result = str(value)
        except Exception:  # an object that cannot describe itself is still reported, by its type
            result = f"<unprintable {type(value).__name__}>"
        if not isinstance(result, str):  # a __str__ that returns something else
            result = f"<unprintable {type(value).__name__}>"
        result = str.__str__(result)  # a str subclass could misbehave later
    if len(result) > limit:
        result = result[: limit - len(TRUNCATED)] + TRUNCATED
    return valid_unicode(result)


def scalar(value: object) -> Scalar:
    """JSON-friendly scalars stay as they are (finite numbers only); everything else becomes bounded text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and type(value) is int:
        return value if abs(value) < 2**63 else text(value, METADATA_VALUE_LIMIT)
    if isinstance(value, float) and type(value) is float:
        return value if math.isfinite(value) else text(value, METADATA_VALUE_LIMIT)
    return text(value, METADATA_VALUE_LIMIT)


def metadata(value: Mapping[Any, Any] | None) -> dict[str, Scalar]:
    """Caller metadata as at most 64 bounded keys with scalar values; past 63 keys the 64th says how many
    more were not kept (``metadata_truncated``), so every channel that shows the metadata shows that too."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return {"metadata": text(value, METADATA_VALUE_LIMIT)}
    result: dict[str, Scalar] = {}
    try:
        items = list(value.items())
    except Exception:  # a broken mapping is reported as such, not raised into the caller
        return {"metadata": f"<unreadable {type(value).__name__}>"}
    kept = items if len(items) <= METADATA_MAX_ITEMS else items[: METADATA_MAX_ITEMS - 1]
    for key, item in kept:
        result[text(key, METADATA_KEY_LIMIT)] = scalar(item)
    if len(kept) < len(items):
        result["metadata_truncated"] = f"{len(items) - len(kept)} more keys not kept"
    return result


def strings(values: Mapping[Any, Any], limit: int) -> dict[str, str]:
    """A label or annotation set as bounded text keys and values."""
    return {
        text(key, METADATA_KEY_LIMIT): text(value, limit) for key, value in list(values.items())[:METADATA_MAX_ITEMS]
    }


def clean_alert(alert: Alert) -> Alert:
    """``alert`` with every string bounded and safe for every channel and terminal (a caller-built Alert may
    carry anything), so the history holds what the channels show."""
    return safe_alert(_bounded(alert))


def _bounded(alert: Alert) -> Alert:
    return Alert(
        name=text(alert.name, TITLE_LIMIT),
        title=text(alert.title, TITLE_LIMIT),
        message=text(alert.message, MESSAGE_LIMIT),
        severity=alert.severity,
        labels=strings(alert.labels, METADATA_VALUE_LIMIT),
        annotations=strings(alert.annotations, METADATA_VALUE_LIMIT),
        status=alert.status,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        trace_id=None if alert.trace_id is None else text(alert.trace_id, 32),
        span_id=None if alert.span_id is None else text(alert.span_id, 16),
    )
