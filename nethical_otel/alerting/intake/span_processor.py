"""Threat spans become alerts: a SpanProcessor whose ``on_end`` is one dictionary lookup for ordinary spans.

A detector span that ends with ``nethical.threat.level`` at or above ``alerting.threat_alert_level``
(default HIGH) is handed to the alerting intake with its detector, level, category, confidence, trace id
and span id. No prompt text, arguments or results are read. Spans that are not recorded (tracing off,
or not sampled) reach the same intake through the decorator's threat listener, so threat alerting never
depends on sampling.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from nethical_otel import semconv
from nethical_otel.alerting.intake.queue import Intake
from nethical_otel.decorator import Threat

_LEVEL = semconv.ATTR_THREAT_LEVEL
_DETECTOR = semconv.ATTR_DETECTOR_TYPE
_CATEGORY = semconv.ATTR_THREAT_CATEGORY
_CONFIDENCE = semconv.ATTR_THREAT_CONFIDENCE


def alerting_levels(minimum: str) -> frozenset[str]:
    """The threat levels at or above ``minimum``, upper case: compare a level's ``.upper()`` with them."""
    floor = semconv.ThreatLevel(minimum).rank
    return frozenset(level.value for level in semconv.ThreatLevel if level.rank >= floor)


class ThreatSpanProcessor(SpanProcessor):
    def __init__(self, intake: Intake, minimum_level: str = semconv.ThreatLevel.HIGH.value) -> None:
        self._intake = intake
        self._levels = alerting_levels(minimum_level)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        # The SDK's ReadableSpan keeps its attributes in a BoundedAttributes whose plain dict we read
        # directly: the public `span.attributes` builds a MappingProxy per call and a miss raises and
        # catches a KeyError inside Mapping.get, ~0.8 µs per span against ~0.1 µs here. The fallback
        # keeps any other ReadableSpan working.
        attributes: Any = span._attributes
        if attributes is None:
            return
        values = getattr(attributes, "_dict", attributes)
        level = values.get(_LEVEL)
        if type(level) is not str or level.upper() not in self._levels:  # levels are recorded as given
            return
        context = span.context
        self._intake.offer_threat(
            str(values.get(_DETECTOR, semconv.UNKNOWN)),
            level,
            str(values.get(_CATEGORY, semconv.UNKNOWN)),
            values.get(_CONFIDENCE),
            context.trace_id if context is not None else 0,
            context.span_id if context is not None else 0,
        )

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    # The decorator's listener for threats on spans that are not recorded ---------------------------
    def on_unrecorded_threat(self, detector: str, threat: Threat, trace_id: int, span_id: int) -> None:
        if threat.level.upper() in self._levels:
            self._intake.offer_threat(detector, threat.level, threat.category, threat.confidence, trace_id, span_id)
