"""The families of the nethical_* contract, created once per pipeline."""

from __future__ import annotations

import logging
import math
import threading

from nethical_otel import semconv
from nethical_otel.metrics._families import Backend, Family
from nethical_otel.semconv import MetricSpec

_logger = logging.getLogger("nethical_otel.metrics")


class Instruments:
    """Every family of :data:`nethical_otel.semconv.CONTRACT`, plus the count of refused measurements."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._warned: set[tuple[str, str]] = set()
        self._warn_lock = threading.Lock()
        self._further: dict[str, Family] = {}
        self.invalid_measurements = backend.family(semconv.INVALID_MEASUREMENTS, self._reject)
        self.requests = backend.family(semconv.REQUESTS, self._reject)
        self.request_latency = backend.family(semconv.REQUEST_LATENCY, self._reject)
        self.threats_detected = backend.family(semconv.THREATS_DETECTED, self._reject)
        self.confidence_score = backend.family(semconv.CONFIDENCE_SCORE, self._reject)
        self.false_positives = backend.family(semconv.FALSE_POSITIVES, self._reject)
        self.model_inference = backend.family(semconv.MODEL_INFERENCE, self._reject)
        self.cache_hits = backend.family(semconv.CACHE_HITS, self._reject)
        self.cache_misses = backend.family(semconv.CACHE_MISSES, self._reject)
        self.errors = backend.family(semconv.ERRORS, self._reject)
        self.active_detectors = backend.family(semconv.ACTIVE_DETECTORS, self._reject)
        self.queue_size = backend.family(semconv.QUEUE_SIZE, self._reject)
        self.detector_health = backend.family(semconv.DETECTOR_HEALTH, self._reject)
        self.throughput = backend.family(semconv.THROUGHPUT, self._reject)

    def family(self, spec: MetricSpec) -> Family:
        """A further family on the same backend (for example the alerting pipeline's own metrics); asking
        twice gives the same family, as one name must not be exposed twice."""
        with self._warn_lock:
            found = self._further.get(spec.name)
            if found is None:
                found = self._further[spec.name] = self.backend.family(spec, self._reject)
            return found

    def _reject(self, spec: MetricSpec, value: float) -> None:
        if math.isnan(value):
            reason = "nan"
        elif value in (math.inf, -math.inf):
            reason = "infinite"
        else:
            reason = "out_of_range"
        self.invalid_measurements.child(spec.prometheus_name, reason).record(1)
        key = (spec.name, reason)
        if key not in self._warned:
            with self._warn_lock:
                if key in self._warned:
                    return
                self._warned.add(key)
            _logger.warning(
                "refused a %s value for %s (allowed: %g to %g); counted in %s",
                reason.replace("_", " "),
                spec.prometheus_name,
                spec.valid_min if spec.kind is not semconv.MetricKind.COUNTER else 0,
                spec.valid_max,
                semconv.INVALID_MEASUREMENTS.prometheus_name,
            )
