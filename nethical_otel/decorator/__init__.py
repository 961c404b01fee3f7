"""``@instrument_detector`` and how it reads threats out of detector results."""

from nethical_otel.decorator._threat import Threat, ThreatExtractor, read_threat
from nethical_otel.decorator._wrappers import instrument_detector

__all__ = ["Threat", "ThreatExtractor", "instrument_detector", "read_threat"]
