"""``@instrument_detector`` and how it reads threats out of detector results."""

from nethical_otel.decorator._threat import ThreatExtractor, read_threat
from nethical_otel.decorator._wrappers import instrument_detector
from nethical_otel.pipeline import Threat

__all__ = ["Threat", "ThreatExtractor", "instrument_detector", "read_threat"]
