"""Span attribute keys, profile sample labels and exemplar labels."""

from __future__ import annotations

import enum

from nethical_otel.semconv._contract import DETECTOR_TYPE

__all__ = [
    "ATTR_ALERT_ATTEMPT",
    "ATTR_ALERT_CHANNEL",
    "ATTR_ALERT_FINGERPRINT",
    "ATTR_ALERT_IDEMPOTENCY_KEY",
    "ATTR_ALERT_OUTCOME",
    "ATTR_ARGUMENTS",
    "ATTR_DETECTOR_TYPE",
    "ATTR_ERROR_TYPE",
    "ATTR_MODEL_NAME",
    "ATTR_PROFILE_ID",
    "ATTR_RESULT",
    "ATTR_THREAT_CATEGORY",
    "ATTR_THREAT_CONFIDENCE",
    "ATTR_THREAT_DETECTED",
    "ATTR_THREAT_LEVEL",
    "EXEMPLAR_SPAN_ID",
    "EXEMPLAR_TRACE_ID",
    "PROFILE_DETECTOR_TAG",
    "PROFILE_SPAN_ID_TAG",
    "PROFILE_SPAN_NAME_TAG",
    "PROFILE_TRACE_ID_TAG",
    "SPAN_NAME_PREFIX",
    "ExemplarFilter",
]

# Span attributes ----------------------------------------------------------------------------------
SPAN_NAME_PREFIX = "detect "
ATTR_DETECTOR_TYPE = "nethical.detector.type"
ATTR_MODEL_NAME = "nethical.model.name"
ATTR_THREAT_DETECTED = "nethical.threat.detected"
ATTR_THREAT_LEVEL = "nethical.threat.level"
ATTR_THREAT_CATEGORY = "nethical.threat.category"
ATTR_THREAT_CONFIDENCE = "nethical.threat.confidence"
ATTR_ARGUMENTS = "nethical.detector.arguments"  # only with capture_arguments=True
ATTR_RESULT = "nethical.detector.result"  # only with capture_result=True
ATTR_ERROR_TYPE = "error.type"  # OpenTelemetry semantic convention
# Alert delivery spans ("deliver alert", linked to the detector span that raised the alert).
ATTR_ALERT_CHANNEL = "nethical.alert.channel"
ATTR_ALERT_FINGERPRINT = "nethical.alert.fingerprint"
ATTR_ALERT_IDEMPOTENCY_KEY = "nethical.alert.idempotency_key"
ATTR_ALERT_ATTEMPT = "nethical.alert.attempt"
ATTR_ALERT_OUTCOME = "nethical.alert.outcome"
# Grafana's trace-to-profile link reads this attribute on root spans (pyroscope-otel's name and format).
ATTR_PROFILE_ID = "pyroscope.profile.id"

# Profile sample labels (Pyroscope thread tags): the detector running, and the root span of the samples.
PROFILE_DETECTOR_TAG = DETECTOR_TYPE
PROFILE_SPAN_ID_TAG = "span_id"
PROFILE_SPAN_NAME_TAG = "span_name"
PROFILE_TRACE_ID_TAG = "trace_id"


class ExemplarFilter(str, enum.Enum):
    """Which measurements become exemplars: the values of ``OTEL_METRICS_EXEMPLAR_FILTER``."""

    TRACE_BASED = "trace_based"  # measurements made inside a sampled span
    ALWAYS_ON = "always_on"  # every measurement (with the span's ids when there is one)
    ALWAYS_OFF = "always_off"


# Exemplar label keys on /metrics (OpenMetrics), as Prometheus and Grafana expect them.
EXEMPLAR_TRACE_ID = "trace_id"
EXEMPLAR_SPAN_ID = "span_id"
