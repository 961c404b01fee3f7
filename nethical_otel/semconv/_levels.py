"""Threat levels: their order, the levels that mean no threat, and how levels are recorded."""

from __future__ import annotations

import enum

__all__ = [
    "NON_THREAT_LEVELS",
    "UNKNOWN",
    "LevelCase",
    "ThreatLevel",
]


class ThreatLevel(str, enum.Enum):
    """Threat levels in increasing order of severity.

    Detectors spell levels their own way and nethical_otel records them as given, so a level is looked
    up regardless of case: ``ThreatLevel("high") is ThreatLevel.HIGH``.
    """

    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    @classmethod
    def _missing_(cls, value: object) -> ThreatLevel | None:
        return cls.__members__.get(value.strip().upper()) if isinstance(value, str) else None


_LEVEL_RANK = {level: rank for rank, level in enumerate(ThreatLevel)}

# Results whose level is one of these (in any case) are not threats.
NON_THREAT_LEVELS = frozenset({"", "NONE", "SAFE", "BENIGN", "CLEAN", "OK"})
UNKNOWN = "unknown"


class LevelCase(str, enum.Enum):
    """How threat levels are recorded in metric labels, span attributes and alert labels."""

    AS_GIVEN = "as_given"  # what the detector or caller passed, after the safety cleaning only
    UPPER = "upper"
    LOWER = "lower"
