"""The one source of truth for nethical_otel's telemetry names.

Every metric name, label key, unit, description and bucket layout, and every span attribute key, is
declared here and nowhere else. The metric families reproduce the original Nethical monitoring
contract name for name, label for label and bucket for bucket: dashboards and PromQL written against
``nethical_requests_total`` and friends keep working.

Instrument names are chosen so that the OpenTelemetry Prometheus naming rules (``_total`` for
monotonic sums, a unit suffix only when the name lacks it) produce exactly the original names, both in
``opentelemetry-exporter-prometheus`` and in the Collector's ``prometheus`` exporter.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class MetricKind(enum.Enum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


class GaugeMerge(enum.Enum):
    """How a gauge's values from several worker processes combine into one series (multiprocess mode).

    Counters and histograms are always summed; a gauge says what it means. Gauges of dead workers are
    dropped in every policy.
    """

    SUM = "sum"  # a quantity spread over the workers (active detectors, queue length)
    MIN = "min"  # a health flag: the series is healthy only if every live worker says so
    MAX = "max"


@dataclass(frozen=True)
class MetricSpec:
    """One metric family: its OpenTelemetry instrument and the Prometheus family it becomes."""

    name: str
    kind: MetricKind
    description: str
    label_keys: tuple[str, ...]
    unit: str = ""
    buckets: tuple[float, ...] = ()
    # Values outside [valid_min, valid_max] (and NaN) are rejected and counted, never recorded.
    valid_min: float = -math.inf
    valid_max: float = math.inf
    # Gauges only: how the workers' values merge in multiprocess mode (required for every gauge).
    merge: GaugeMerge | None = None
    # Keeps the most recent exemplar (trace id, span id, value, time) per series, or per bucket of a
    # histogram. OpenMetrics allows exemplars on counters and histogram buckets only.
    exemplars: bool = False

    def __post_init__(self) -> None:
        if (self.kind is MetricKind.GAUGE) != (self.merge is not None):
            raise ValueError(f"{self.name}: a gauge needs a merge policy, and only a gauge has one")
        if self.exemplars and self.kind is MetricKind.GAUGE:
            raise ValueError(f"{self.name}: a gauge cannot carry exemplars")

    @property
    def prometheus_name(self) -> str:
        """The family name as it appears on ``/metrics`` (without ``_bucket``/``_sum``/``_count``)."""
        name = self.name
        if self.unit == "s" and not name.endswith("_seconds"):
            name += "_seconds"
        if self.kind is MetricKind.COUNTER:
            name += "_total"
        return name


# Label keys -----------------------------------------------------------------------------------------
DETECTOR_TYPE = "detector_type"
STATUS = "status"
THREAT_LEVEL = "threat_level"
THREAT_CATEGORY = "threat_category"
MODEL_NAME = "model_name"
CACHE_TYPE = "cache_type"
ERROR_TYPE = "error_type"
QUEUE_NAME = "queue_name"
METRIC = "metric"
REASON = "reason"

# Values of the ``status`` label.
STATUS_SUCCESS = "success"
STATUS_ERROR = "error"
STATUS_CANCELLED = "cancelled"

# Bucket layouts of the original contract. Floats on purpose: the exporter prints bounds as given, and
# the original exposition spelled them ``le="1.0"``; an int would become ``le="1"``, a different series.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONFIDENCE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MODEL_INFERENCE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5)
THROUGHPUT_BUCKETS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)

# The contract ---------------------------------------------------------------------------------------
REQUESTS = MetricSpec(
    "nethical_requests",
    MetricKind.COUNTER,
    "Total detector requests by detector type and status",
    (DETECTOR_TYPE, STATUS),
)
REQUEST_LATENCY = MetricSpec(
    "nethical_request_latency",
    MetricKind.HISTOGRAM,
    "Detector request latency in seconds",
    (DETECTOR_TYPE,),
    unit="s",
    buckets=LATENCY_BUCKETS,
    valid_min=0.0,
    exemplars=True,
)
THREATS_DETECTED = MetricSpec(
    "nethical_threats_detected",
    MetricKind.COUNTER,
    "Threats detected by detector type, threat level and category",
    (DETECTOR_TYPE, THREAT_LEVEL, THREAT_CATEGORY),
    exemplars=True,
)
CONFIDENCE_SCORE = MetricSpec(
    "nethical_confidence_score",
    MetricKind.HISTOGRAM,
    "Confidence score of detected threats",
    (DETECTOR_TYPE,),
    buckets=CONFIDENCE_BUCKETS,
    valid_min=0.0,
    valid_max=1.0,
    exemplars=True,
)
FALSE_POSITIVES = MetricSpec(
    "nethical_false_positives",
    MetricKind.COUNTER,
    "Detections later marked as false positives, by detector type",
    (DETECTOR_TYPE,),
)
MODEL_INFERENCE = MetricSpec(
    "nethical_model_inference",
    MetricKind.HISTOGRAM,
    "Model inference time in seconds",
    (MODEL_NAME,),
    unit="s",
    buckets=MODEL_INFERENCE_BUCKETS,
    valid_min=0.0,
    exemplars=True,
)
CACHE_HITS = MetricSpec("nethical_cache_hits", MetricKind.COUNTER, "Cache hits by cache type", (CACHE_TYPE,))
CACHE_MISSES = MetricSpec("nethical_cache_misses", MetricKind.COUNTER, "Cache misses by cache type", (CACHE_TYPE,))
ERRORS = MetricSpec(
    "nethical_errors",
    MetricKind.COUNTER,
    "Detector errors by detector type and error type",
    (DETECTOR_TYPE, ERROR_TYPE),
    exemplars=True,
)
ACTIVE_DETECTORS = MetricSpec(
    "nethical_active_detectors",
    MetricKind.GAUGE,
    "Number of active detectors by detector type",
    (DETECTOR_TYPE,),
    valid_min=0.0,
    merge=GaugeMerge.SUM,
)
QUEUE_SIZE = MetricSpec(
    "nethical_queue_size",
    MetricKind.GAUGE,
    "Current queue size by queue name",
    (QUEUE_NAME,),
    valid_min=0.0,
    merge=GaugeMerge.SUM,
)
DETECTOR_HEALTH = MetricSpec(
    "nethical_detector_health",
    MetricKind.GAUGE,
    "Detector health status (1 = healthy, 0 = unhealthy)",
    (DETECTOR_TYPE,),
    valid_min=0.0,
    valid_max=1.0,
    merge=GaugeMerge.MIN,
)
# A Summary in the original. OpenTelemetry has no summary; a histogram keeps the `_count` and `_sum`
# series that queries against the summary used (`rate(x_sum[5m]) / rate(x_count[5m])`).
THROUGHPUT = MetricSpec(
    "nethical_throughput_requests_per_second",
    MetricKind.HISTOGRAM,
    "Observed detector throughput in requests per second",
    (DETECTOR_TYPE,),
    buckets=THROUGHPUT_BUCKETS,
    valid_min=0.0,
)

CONTRACT: tuple[MetricSpec, ...] = (
    REQUESTS,
    REQUEST_LATENCY,
    THREATS_DETECTED,
    CONFIDENCE_SCORE,
    FALSE_POSITIVES,
    MODEL_INFERENCE,
    CACHE_HITS,
    CACHE_MISSES,
    ERRORS,
    ACTIVE_DETECTORS,
    QUEUE_SIZE,
    DETECTOR_HEALTH,
    THROUGHPUT,
)

# The SDK's own health: measurements refused because they were NaN, infinite or out of range.
INVALID_MEASUREMENTS = MetricSpec(
    "nethical_invalid_measurements",
    MetricKind.COUNTER,
    "Measurements rejected by nethical_otel (NaN, infinite or out of range), by metric and reason",
    (METRIC, REASON),
)


# Alerting names ----------------------------------------------------------------------------------
class AlertSeverity(str, enum.Enum):
    """Severities of alerts, in increasing order (also the ``severity`` label Alertmanager routes on)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(AlertSeverity)}


class AlertChannel(str, enum.Enum):
    """Where notifications go; each has a module of that name in ``nethical_otel.alerting.channels``."""

    SLACK = "slack"
    EMAIL = "email"
    PAGERDUTY = "pagerduty"
    DISCORD = "discord"
    WEBHOOK = "webhook"
    ALERTMANAGER = "alertmanager"
    CONSOLE = "console"  # last: the fallback when no other channel is configured


class AlertStatus(str, enum.Enum):
    FIRING = "firing"
    RESOLVED = "resolved"


class DeliveryStatus(str, enum.Enum):
    """What happened to one alert on one channel, as the history reports it."""

    PENDING = "pending"  # a notification is queued and not yet attempted
    RETRYING = "retrying"  # attempted, failed for now, will be retried
    SENT = "sent"
    FAILED = "failed"  # permanently, with the reason
    RATE_LIMITED = "rate_limited"  # over a budget: counted into the group's next notification
    GROUPED = "grouped"  # folded into its group's notification (the "and N more")
    SILENCED = "silenced"  # matched an active silence
    SKIPPED = "skipped"  # nothing to say on this channel (a resolve for a channel not told of resolves)
    OVERFLOW = "overflow"  # its source had too many alert groups open: counted in the source's overflow group
    DROPPED = "dropped"  # given up without being recorded (the store could not be written): counted and logged


# Notifications still to be delivered; their rows are leased to one process.
ACTIVE_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
# What the history can show (an alert's own status, or a delivery status; dropped ones are never recorded).
HISTORY_STATUSES = (*AlertStatus, *(status for status in DeliveryStatus if status is not DeliveryStatus.DROPPED))

# The alerting pipeline's own health, on the same /metrics.
CHANNEL = "channel"
SEVERITY = "severity"
OUTCOME = "outcome"
ALERTS = MetricSpec(
    "nethical_alerts",
    MetricKind.COUNTER,
    "Alert notifications by channel, severity and outcome (sent, failed, rate_limited, grouped, silenced, overflow,"
    " dropped)",
    (CHANNEL, SEVERITY, OUTCOME),
)
ALERT_DELIVERY_LATENCY = MetricSpec(
    "nethical_alert_delivery",
    MetricKind.HISTOGRAM,
    "Time from accepting an alert to its delivery, by channel",
    (CHANNEL,),
    unit="s",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    valid_min=0.0,
)
ALERT_QUEUE_DEPTH = MetricSpec(
    "nethical_alert_queue_depth",
    MetricKind.GAUGE,
    "Notifications waiting for delivery (retries included), by channel",
    (CHANNEL,),
    valid_min=0.0,
    merge=GaugeMerge.SUM,
)
PEER = "peer"
ALERT_PEER_UP = MetricSpec(
    "nethical_alert_peer_up",
    MetricKind.GAUGE,
    "Whether the last notification posted to this Alertmanager peer was accepted (1) or not (0), by peer"
    " (scheme://host:port)",
    (PEER,),
    valid_min=0.0,
    valid_max=1.0,
    merge=GaugeMerge.MIN,  # a peer is down if any worker's last post to it failed
)
# The ``outcome`` values of nethical_alerts_total: every delivery status but the two that are not outcomes.
ALERT_OUTCOMES = tuple(s for s in DeliveryStatus if s not in (DeliveryStatus.PENDING, DeliveryStatus.SKIPPED))
NO_CHANNEL = "none"  # the channel label of occurrences dropped before any channel was chosen

# The metrics server's own protection against stalled and hostile clients (see nethical_otel.server).
SERVER_CLOSE_HEADER_TIMEOUT = "header_timeout"
SERVER_CLOSE_BODY_TIMEOUT = "body_timeout"
SERVER_CLOSE_RESPONSE_TIMEOUT = "response_timeout"
SERVER_CLOSE_EVICTED = "evicted"
SERVER_CLOSE_REFUSED = "refused"
SERVER_CLOSE_REASONS = (
    SERVER_CLOSE_HEADER_TIMEOUT,
    SERVER_CLOSE_BODY_TIMEOUT,
    SERVER_CLOSE_RESPONSE_TIMEOUT,
    SERVER_CLOSE_EVICTED,
    SERVER_CLOSE_REFUSED,
)
METRICS_SERVER_CONNECTIONS_CLOSED = MetricSpec(
    "nethical_metrics_server_connections_closed",
    MetricKind.COUNTER,
    "Connections the metrics server closed or refused to protect itself, by reason "
    "(header_timeout, body_timeout, response_timeout, evicted, refused)",
    (REASON,),
)

INSTRUMENTATION_NAME = "nethical_otel"

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


class ExemplarFilter(str, enum.Enum):
    """Which measurements become exemplars: the values of ``OTEL_METRICS_EXEMPLAR_FILTER``."""

    TRACE_BASED = "trace_based"  # measurements made inside a sampled span
    ALWAYS_ON = "always_on"  # every measurement (with the span's ids when there is one)
    ALWAYS_OFF = "always_off"


# Exemplar label keys on /metrics (OpenMetrics), as Prometheus and Grafana expect them.
EXEMPLAR_TRACE_ID = "trace_id"
EXEMPLAR_SPAN_ID = "span_id"
