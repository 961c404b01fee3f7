"""The original Nethical metric contract: label keys and values, bucket layouts, the 13 families."""

from __future__ import annotations

from nethical_otel.semconv._spec import GaugeMerge, MetricKind, MetricSpec

__all__ = [
    "ACTIVE_DETECTORS",
    "CACHE_HITS",
    "CACHE_MISSES",
    "CACHE_TYPE",
    "CONFIDENCE_BUCKETS",
    "CONFIDENCE_SCORE",
    "CONTRACT",
    "DETECTOR_HEALTH",
    "DETECTOR_TYPE",
    "ERRORS",
    "ERROR_TYPE",
    "FALSE_POSITIVES",
    "INSTRUMENTATION_NAME",
    "LATENCY_BUCKETS",
    "METRIC",
    "MODEL_INFERENCE",
    "MODEL_INFERENCE_BUCKETS",
    "MODEL_NAME",
    "QUEUE_NAME",
    "QUEUE_SIZE",
    "REASON",
    "REQUESTS",
    "REQUEST_LATENCY",
    "STATUS",
    "STATUSES",
    "STATUS_CANCELLED",
    "STATUS_ERROR",
    "STATUS_SUCCESS",
    "THREATS_DETECTED",
    "THREAT_CATEGORY",
    "THREAT_LEVEL",
    "THROUGHPUT",
    "THROUGHPUT_BUCKETS",
]

INSTRUMENTATION_NAME = "nethical_otel"

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
STATUSES = (STATUS_SUCCESS, STATUS_ERROR, STATUS_CANCELLED)

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
