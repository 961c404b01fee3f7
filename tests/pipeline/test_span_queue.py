"""A collector that never answers fills the span queue; further spans are shed quietly, counted, reported."""

from __future__ import annotations

import logging

import nethical_otel
from nethical_otel import instrument_detector
from nethical_otel.pipeline._span_queue import SheddingBatchSpanProcessor
from tests._support.net import black_hole


def shedding_processor(telemetry: nethical_otel.Telemetry) -> SheddingBatchSpanProcessor:
    assert telemetry.tracer_provider is not None
    processors = telemetry.tracer_provider._active_span_processor._span_processors
    (found,) = [p for p in processors if isinstance(p, SheddingBatchSpanProcessor)]
    return found


def test_a_full_span_queue_sheds_spans_with_one_warning_instead_of_one_per_span(monkeypatch, caplog):
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64")
    with black_hole() as port:
        telemetry = nethical_otel.configure(
            {
                "metrics_server": {"enabled": False},
                "alerting": {"enabled": False},
                "otlp": {"endpoint": f"http://user:s3cret@127.0.0.1:{port}", "timeout_seconds": 30},
            }
        )
        processor = shedding_processor(telemetry)

        @instrument_detector("prompt_injection")
        def detect(prompt: str) -> dict[str, str]:
            return {"threat_level": "NONE"}

        with caplog.at_level(logging.INFO):
            for _ in range(1000):
                detect("x")
        nethical_otel.shutdown(timeout=1.0)

    # The worker took one batch to the black hole; the queue then filled up and stayed full.
    assert 1000 - 2 * 64 <= processor.dropped < 1000
    sdk_warnings = [r for r in caplog.records if "Queue full" in r.getMessage()]
    ours = [r for r in caplog.records if "span queue for" in r.getMessage()]
    assert sdk_warnings == []
    assert len(ours) == 1  # the first drop; the next report is a minute later
    assert "@127.0.0.1" in ours[0].getMessage() and "s3cret" not in caplog.text
