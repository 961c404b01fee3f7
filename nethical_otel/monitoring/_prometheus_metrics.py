"""The original Nethical ``PrometheusMetrics`` API, recording through the OpenTelemetry pipeline.

Every ``track_*`` call accepts what the original accepted and never raises into the caller: label values
are recorded as given, once cleaned (see :class:`~nethical_otel.metrics.LabelCleaner`), and impossible
numbers (NaN, infinite, negative latencies, confidences outside [0, 1]) are refused and counted in
``nethical_invalid_measurements_total``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from nethical_otel import semconv
from nethical_otel._internal import internal_error
from nethical_otel.metrics import current_exemplar
from nethical_otel.pipeline import Runtime, Telemetry, active_telemetry, current, ensure_configured


def _number(value: Any) -> float:
    """A float for any number-like value; NaN for anything else, which the families then refuse."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


class PrometheusMetrics:
    """Track detector activity by hand. Obtain it with :func:`get_prometheus_metrics`.

    A call made inside a sampled span leaves an exemplar linking the latency, confidence, inference-time
    bucket or the threat and error series to that span (``OTEL_METRICS_EXEMPLAR_FILTER``).
    """

    def _record(self, what: str, record: Callable[[Runtime], None]) -> None:
        runtime = current.runtime
        if runtime is None:
            return
        try:
            record(runtime)
        except Exception:
            internal_error(what)

    def track_request(self, detector_type: str, latency: float, status: str = semconv.STATUS_SUCCESS) -> None:
        """Count a request and observe its latency in seconds."""

        def record(runtime: Runtime) -> None:
            ins = runtime.instruments
            exemplar = current_exemplar(runtime.exemplars)
            ins.requests.labels(detector_type, status).record(1, exemplar)
            latency_child = ins.request_latency.labels(detector_type)
            latency_child.record(_number(latency), exemplar)
            if semconv.DETECTOR_TYPE in latency_child.attributes:
                runtime.detectors.register(latency_child.attributes[semconv.DETECTOR_TYPE])

        self._record("track_request", record)

    def track_threat(
        self, detector_type: str, threat_level: str, category: str, confidence: float | None = None
    ) -> None:
        """Count a detected threat (its level recorded as given); observe its confidence (0 to 1) when given."""

        def record(runtime: Runtime) -> None:
            ins = runtime.instruments
            exemplar = current_exemplar(runtime.exemplars)
            level = runtime.clean.level(threat_level)
            ins.threats_detected.labels(detector_type, level, category).record(1, exemplar)
            if confidence is not None:
                ins.confidence_score.labels(detector_type).record(_number(confidence), exemplar)

        self._record("track_threat", record)

    def track_model_inference(self, model_name: str, inference_time: float) -> None:
        def record(runtime: Runtime) -> None:
            child = runtime.instruments.model_inference.labels(model_name)
            child.record(_number(inference_time), current_exemplar(runtime.exemplars))

        self._record("track_model_inference", record)

    def track_cache(self, cache_type: str, hit: bool) -> None:
        def record(runtime: Runtime) -> None:
            ins = runtime.instruments
            (ins.cache_hits if hit else ins.cache_misses).labels(cache_type).record(1)

        self._record("track_cache", record)

    def track_error(self, detector_type: str, error_type: str) -> None:
        def record(runtime: Runtime) -> None:
            child = runtime.instruments.errors.labels(detector_type, error_type)
            child.record(1, current_exemplar(runtime.exemplars))

        self._record("track_error", record)

    def track_false_positive(self, detector_type: str) -> None:
        self._record("track_false_positive", lambda rt: rt.instruments.false_positives.labels(detector_type).record(1))

    def track_throughput(self, detector_type: str, requests_per_second: float) -> None:
        def record(runtime: Runtime) -> None:
            runtime.instruments.throughput.labels(detector_type).record(_number(requests_per_second))

        self._record("track_throughput", record)

    def set_active_detectors(self, detector_type: str, count: int) -> None:
        self._record(
            "set_active_detectors",
            lambda rt: rt.instruments.active_detectors.labels(detector_type).record(_number(count)),
        )

    def set_queue_size(self, queue_name: str, size: int) -> None:
        self._record("set_queue_size", lambda rt: rt.instruments.queue_size.labels(queue_name).record(_number(size)))

    def set_detector_health(self, detector_type: str, healthy: bool) -> None:
        """Report a detector healthy (1) or not (0); also shown on ``/health``."""

        def record(runtime: Runtime) -> None:
            runtime.instruments.detector_health.labels(detector_type).record(1.0 if healthy else 0.0)
            runtime.detectors.set_health(runtime.clean(detector_type), bool(healthy))

        self._record("set_detector_health", record)

    def export_metrics(self) -> bytes:
        """The current exposition in the Prometheus text format (empty when Prometheus export is off)."""
        telemetry = _pipeline()
        if telemetry is None or telemetry.prometheus_registry is None:
            return b""
        return bytes(generate_latest(telemetry.prometheus_registry))

    def get_content_type(self) -> str:
        """The Content-Type of :meth:`export_metrics`."""
        return str(CONTENT_TYPE_PLAIN_0_0_4)


def _pipeline() -> Telemetry | None:
    telemetry = active_telemetry()
    return telemetry if telemetry is not None and not telemetry.is_shut_down else None


_metrics = PrometheusMetrics()


def get_prometheus_metrics() -> PrometheusMetrics:
    """The process-wide :class:`PrometheusMetrics`, configuring nethical_otel with defaults if needed."""
    ensure_configured()
    return _metrics
