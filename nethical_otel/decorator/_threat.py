"""Reading a threat out of whatever a detector returns.

Dicts, dataclasses and plain objects are read by field name: ``threat_level`` (or ``level``),
``is_threat`` / ``detected`` / ``threat_detected``, ``confidence``, ``threat_category`` / ``category``.
A result is a threat when it says so, or, when it says nothing, when its level is not a "no threat" level
(NONE, SAFE, BENIGN, CLEAN, OK or empty). Anything else is for a user extractor.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from typing import Any

from nethical_otel.pipeline import Threat
from nethical_otel.semconv import NON_THREAT_LEVELS, UNKNOWN

ThreatExtractor = Callable[[Any], Threat | Mapping[str, Any] | bool | None]

_MISSING: Any = object()
_SCALARS = (str, bytes, int, float, bool)
_UNKNOWN_LEVEL = UNKNOWN.upper()
_LEVELS: dict[str, str] = {}  # raw level string -> normalised; detectors use a handful of levels


def read_threat(result: Any) -> Threat | None:
    """The threat ``result`` reports, or ``None``."""
    kind = type(result)
    if kind is dict:  # the common case first: no ABC checks
        return _read(result.get)
    if result is None or kind in _SCALARS:
        return None
    if kind is Threat:
        return result  # type: ignore[no-any-return]
    if isinstance(result, Mapping):
        return _read(result.get)
    return _read(functools.partial(getattr, result))


def _read(get: Callable[[str, Any], Any]) -> Threat | None:
    detected = get("is_threat", _MISSING)
    if detected is _MISSING:
        detected = get("detected", _MISSING)
        if detected is _MISSING:
            detected = get("threat_detected", None)
    level = get("threat_level", _MISSING)
    if level is _MISSING:
        level = get("level", None)
    level_text = _UNKNOWN_LEVEL if level is None else _level_text(level)
    if detected is None:
        if level is None or level_text in NON_THREAT_LEVELS:
            return None
    elif not detected:
        return None
    category = get("threat_category", _MISSING)
    if category is _MISSING:
        category = get("category", None)
    confidence = get("confidence", None)
    if confidence is not None and type(confidence) is not float:
        confidence = _confidence(confidence)
    return Threat(level_text, UNKNOWN if category is None else category, confidence)


def extract_with(extractor: ThreatExtractor, result: Any) -> Threat | None:
    """Normalise what a user extractor returns."""
    found = extractor(result)
    if found is None or found is False:
        return None
    if found is True:
        return Threat(_UNKNOWN_LEVEL)
    if isinstance(found, Threat):
        return found
    return read_threat(found)


def _level_text(level: Any) -> str:
    if type(level) is str:
        known = _LEVELS.get(level)
        if known is not None:
            return known
        text = level.strip().upper()
        if len(_LEVELS) < 64:
            _LEVELS[level] = text
        return text
    if isinstance(level, enum.Enum):
        level = level.value if isinstance(level.value, str) else level.name
    try:
        return str(level).strip().upper()
    except Exception:  # a level whose __str__ fails is still a level we cannot name
        return _UNKNOWN_LEVEL


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
