"""Reading a threat out of whatever a detector returns.

Dicts, dataclasses and plain objects are read by field name: ``threat_level`` (or ``level``),
``is_threat`` / ``detected`` / ``threat_detected``, ``confidence``, ``threat_category`` / ``category``.
A result is a threat when it says so, or, when it says nothing, when its level is not a "no threat" level
(NONE, SAFE, BENIGN, CLEAN, OK or empty). Anything else is for a user extractor.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nethical_otel.semconv import NON_THREAT_LEVELS, UNKNOWN


@dataclass(frozen=True)
class Threat:
    """A detected threat: level (upper case), category and an optional confidence in [0, 1]."""

    level: str
    category: str = UNKNOWN
    confidence: float | None = None


ThreatExtractor = Callable[[Any], Threat | Mapping[str, Any] | bool | None]

_MISSING = object()
_DETECTED_KEYS = ("is_threat", "detected", "threat_detected")
_LEVEL_KEYS = ("threat_level", "level")
_CATEGORY_KEYS = ("threat_category", "category")


def read_threat(result: Any) -> Threat | None:
    """The threat ``result`` reports, or ``None``."""
    if result is None or isinstance(result, (str, bytes, int, float)):
        return None
    if isinstance(result, Threat):
        return result
    get: Callable[[str], Any]
    if isinstance(result, Mapping):
        get = lambda key: result.get(key, _MISSING)  # noqa: E731
    else:
        get = lambda key: getattr(result, key, _MISSING)  # noqa: E731
    detected = _first(get, _DETECTED_KEYS)
    level = _first(get, _LEVEL_KEYS)
    level_text = UNKNOWN.upper() if level is _MISSING or level is None else _level_text(level)
    if detected is _MISSING or detected is None:
        if level_text.upper() in NON_THREAT_LEVELS or level is _MISSING or level is None:
            return None
    elif not detected:
        return None
    category = _first(get, _CATEGORY_KEYS)
    confidence = get("confidence")
    return Threat(
        level=level_text,
        category=UNKNOWN if category is _MISSING or category is None else category,
        confidence=_confidence(confidence),
    )


def extract_with(extractor: ThreatExtractor, result: Any) -> Threat | None:
    """Normalise what a user extractor returns."""
    found = extractor(result)
    if found is None or found is False:
        return None
    if found is True:
        return Threat(UNKNOWN.upper())
    if isinstance(found, Threat):
        return found
    return read_threat(found)


def _first(get: Callable[[str], Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = get(key)
        if value is not _MISSING:
            return value
    return _MISSING


def _level_text(level: Any) -> str:
    if isinstance(level, enum.Enum):
        level = level.value if isinstance(level.value, str) else level.name
    try:
        return str(level).strip().upper()
    except Exception:  # a level whose __str__ fails is still a level we cannot name
        return UNKNOWN.upper()


def _confidence(value: Any) -> float | None:
    if value is _MISSING or value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
