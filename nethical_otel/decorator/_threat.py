"""Reading a threat out of whatever a detector returns.

Dicts, dataclasses and plain objects are read by field name: ``threat_level`` (or ``level``),
``is_threat`` / ``detected`` / ``threat_detected``, ``confidence``, ``threat_category`` / ``category``.
A result is a threat when it says so, or, when it says nothing, when its level is not a "no threat" level
(NONE, SAFE, BENIGN, CLEAN, OK or empty, in any case). Anything else is for a user extractor.

Levels are kept as the detector spelled them (``"high"`` stays ``"high"``): dashboards and rules written
against a detector's own values keep matching. Comparisons with a level ignore case.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from typing import Any

from nethical_otel._text import as_text
from nethical_otel.pipeline import Threat
from nethical_otel.semconv import NON_THREAT_LEVELS, UNKNOWN

ThreatExtractor = Callable[[Any], Threat | Mapping[str, Any] | bool | None]

_MISSING: Any = object()
_SCALARS = (str, bytes, int, float, bool)
_NON_THREAT: dict[str, bool] = {}  # level -> whether it means "no threat"; detectors use a handful of levels


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
    level_text = UNKNOWN if level is None else _level_text(level)
    if detected is None:
        if level is None or _is_non_threat(level_text):
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
        return Threat(UNKNOWN)
    if isinstance(found, Threat):
        return found
    return read_threat(found)


def _level_text(level: Any) -> str:
    if type(level) is str:
        return level
    if isinstance(level, enum.Enum):
        level = level.value if isinstance(level.value, str) else level.name
    return as_text(level)


def _is_non_threat(level: str) -> bool:
    known = _NON_THREAT.get(level)
    if known is None:
        known = level.strip().upper() in NON_THREAT_LEVELS
        if len(_NON_THREAT) < 64:
            _NON_THREAT[level] = known
    return known


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
