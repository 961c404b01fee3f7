"""Per-call cost of instrumenting a detector, side by side in one process.

Every variant does the same work around the same detector: one call whose result is a HIGH threat with a
confidence, recorded as the original Nethical code recorded it — a request count, its latency, a threat
count and the confidence (four records) — plus, where the variant traces, one span exported through a
BatchSpanProcessor to an exporter that drops the batch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from time import perf_counter
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry, Counter, Histogram

from benchmarks._timing import Variant
from nethical_otel import instrument_detector, semconv
from nethical_otel.pipeline import Telemetry, current
from nethical_otel.pipeline._configure import _build

RESULT = {"threat_level": "HIGH", "category": "jailbreak", "confidence": 0.93}
DETECTOR = "prompt_injection"


def detect(prompt: str) -> dict[str, Any]:
    return RESULT


class DroppingExporter(SpanExporter):
    """Accepts every batch and keeps nothing: the cost of export without the cost of a backend."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def prometheus_client_style() -> Callable[[str], object]:
    """The original Nethical monitoring: prometheus_client, four records per call."""
    registry = CollectorRegistry()
    requests = Counter("nethical_requests", "", [semconv.DETECTOR_TYPE, semconv.STATUS], registry=registry)
    latency = Histogram(
        "nethical_request_latency_seconds",
        "",
        [semconv.DETECTOR_TYPE],
        buckets=semconv.LATENCY_BUCKETS,
        registry=registry,
    )
    threats = Counter(
        "nethical_threats_detected",
        "",
        [semconv.DETECTOR_TYPE, semconv.THREAT_LEVEL, semconv.THREAT_CATEGORY],
        registry=registry,
    )
    confidence = Histogram(
        "nethical_confidence_score",
        "",
        [semconv.DETECTOR_TYPE],
        buckets=semconv.CONFIDENCE_BUCKETS,
        registry=registry,
    )

    def call(prompt: str) -> object:
        start = perf_counter()
        result = detect(prompt)
        elapsed = perf_counter() - start
        requests.labels(DETECTOR, "success").inc()
        latency.labels(DETECTOR).observe(elapsed)
        threats.labels(DETECTOR, result["threat_level"], result["category"]).inc()
        confidence.labels(DETECTOR).observe(result["confidence"])
        return result

    return call


def opentelemetry_span_only() -> tuple[Callable[[str], object], Callable[[], None]]:
    """The OpenTelemetry SDK's span alone, with the attributes a detector span carries: the floor under
    every traced variant of nethical_otel (the SDK is what exports it)."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    tracer = tracer_provider.get_tracer("span-only")

    def call(prompt: str) -> object:
        with tracer.start_as_current_span(
            "detect " + DETECTOR, attributes={semconv.ATTR_DETECTOR_TYPE: DETECTOR}
        ) as span:
            result = detect(prompt)
            span.set_attributes(
                {
                    semconv.ATTR_THREAT_DETECTED: True,
                    semconv.ATTR_THREAT_LEVEL: "HIGH",
                    semconv.ATTR_THREAT_CATEGORY: result["category"],
                    semconv.ATTR_THREAT_CONFIDENCE: result["confidence"],
                }
            )
        return result

    return call, tracer_provider.shutdown


def handwritten_opentelemetry() -> tuple[Callable[[str], object], Callable[[], None]]:
    """What a careful engineer writes by hand with the OpenTelemetry SDK: a span and the four records."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=CollectorRegistry())
    meter_provider = MeterProvider([reader])
    tracer, meter = tracer_provider.get_tracer("handwritten"), meter_provider.get_meter("handwritten")
    requests = meter.create_counter("nethical_requests")
    latency = meter.create_histogram(
        "nethical_request_latency", "s", explicit_bucket_boundaries_advisory=list(semconv.LATENCY_BUCKETS)
    )
    threats = meter.create_counter("nethical_threats_detected")
    confidence = meter.create_histogram(
        "nethical_confidence_score", explicit_bucket_boundaries_advisory=list(semconv.CONFIDENCE_BUCKETS)
    )
    ok = {semconv.DETECTOR_TYPE: DETECTOR, semconv.STATUS: "success"}
    by_detector = {semconv.DETECTOR_TYPE: DETECTOR}

    def call(prompt: str) -> object:
        with tracer.start_as_current_span(
            "detect " + DETECTOR, attributes={semconv.ATTR_DETECTOR_TYPE: DETECTOR}
        ) as span:
            start = perf_counter()
            result = detect(prompt)
            elapsed = perf_counter() - start
            requests.add(1, ok)
            latency.record(elapsed, by_detector)
            threats.add(1, {**by_detector, semconv.THREAT_LEVEL: "HIGH", semconv.THREAT_CATEGORY: result["category"]})
            confidence.record(result["confidence"], by_detector)
            span.set_attributes(
                {
                    semconv.ATTR_THREAT_DETECTED: True,
                    semconv.ATTR_THREAT_LEVEL: "HIGH",
                    semconv.ATTR_THREAT_CATEGORY: result["category"],
                    semconv.ATTR_THREAT_CONFIDENCE: result["confidence"],
                }
            )
        return result

    def close() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    return call, close


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def nethical_pipeline(config: dict[str, Any], *, env: dict[str, str] | None = None) -> Telemetry:
    """A pipeline built like configure() builds it, without replacing the others the benchmark holds.

    The benchmark switches between several pipelines per round; configure() would shut the previous one
    down, so this uses the builder behind it and the variant's ``enter`` makes its pipeline the active one.
    """
    settings = {"metrics_server": {"enabled": False}, "alerting": {"enabled": False}, **config}
    with _environment(**(env or {})):
        from nethical_otel.config import load_config

        return _build(load_config(settings), (), [BatchSpanProcessor(DroppingExporter())])


def activate(telemetry: Telemetry | None) -> Callable[[], None]:
    def enter() -> None:
        current.runtime = telemetry.runtime if telemetry is not None else None

    return enter


def reference_variants() -> list[Variant]:
    """Logfire's and ddtrace's decorators, when installed (scripts/benchmark installs them)."""
    found: list[Variant] = []
    try:
        import logfire
    except ImportError:
        pass
    else:
        instance = logfire.configure(local=True, send_to_logfire=False, console=False, metrics=False)
        found.append(Variant("logfire @instrument (no args)", instance.instrument(extract_args=False)(detect)))
    try:
        from ddtrace.trace import tracer
    except ImportError:
        pass
    else:
        found.append(Variant("ddtrace tracer.wrap", tracer.wrap("detect")(detect)))
    return found


def build_variants(workdir: str, pyroscope_address: str | None) -> tuple[list[Variant], list[Callable[[], None]]]:
    """Every per-call variant, and what to call to tear them down.

    ``pyroscope_address``: where the profiling variant's agent pushes. pyroscope-io runs one agent per
    process, so while this suite runs every variant is sampled at 100 Hz; the profiling variant adds
    only what the detector and span-link tags cost.
    """
    decorated = instrument_detector(DETECTOR)(detect)
    pipelines = {
        "full": nethical_pipeline({}),
        "metrics_only": nethical_pipeline({"tracing": {"enabled": False}}),
        "always_off": nethical_pipeline({}, env={"OTEL_TRACES_SAMPLER": "always_off"}),
        "ratio": nethical_pipeline({}, env={"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}),
        "alerting": nethical_pipeline({"alerting": {"storage_path": f"{workdir}/alerts.sqlite3", "console": "off"}}),
    }
    if pyroscope_address is not None:
        pipelines["profiling"] = nethical_pipeline(
            {"profiling": {"enabled": True, "server_address": pyroscope_address, "sampling_rate_hz": 100}}
        )
    handwritten, close_handwritten = handwritten_opentelemetry()
    span_only, close_span_only = opentelemetry_span_only()
    variants = [
        Variant("bare call", detect),
        Variant("prometheus_client, 4 records", prometheus_client_style()),
        Variant("hand-written OTel: span + 4 records", handwritten),
        Variant("OTel SDK span alone (no metrics)", span_only),
        Variant("@instrument_detector before configure()", decorated, activate(None)),
        Variant("@instrument_detector, spans off", decorated, activate(pipelines["metrics_only"])),
        Variant("@instrument_detector, spans unsampled (always_off)", decorated, activate(pipelines["always_off"])),
        Variant("@instrument_detector, spans unsampled (traceidratio 0)", decorated, activate(pipelines["ratio"])),
        Variant("@instrument_detector, everything on", decorated, activate(pipelines["full"])),
        Variant("everything on + threat alerting", decorated, activate(pipelines["alerting"])),
    ]
    if "profiling" in pipelines:
        variants.append(
            Variant("everything on + profiling tags and links", decorated, activate(pipelines["profiling"]))
        )
    variants += reference_variants()
    closers = [close_handwritten, close_span_only, *(telemetry.shutdown for telemetry in pipelines.values())]
    return variants, closers
