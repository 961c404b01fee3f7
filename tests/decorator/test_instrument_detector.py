"""@instrument_detector: spans and metrics per call, compared whole; wrapping that changes nothing."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass

import pytest

import nethical_otel
from nethical_otel import Threat, instrument_detector
from nethical_otel._internal import policy
from tests._support.pipeline import attrs, capture


@dataclass
class Verdict:
    is_threat: bool
    threat_level: str
    threat_category: str
    confidence: float


def detect_prompt_injection(prompt: str) -> Verdict:
    """Look for instructions smuggled into a prompt."""
    return Verdict(True, "high", "instruction_override", 0.93)


def test_a_threat_call_records_one_span_and_every_metric(captured):
    detect = instrument_detector("prompt_injection", model="pi-v2")(detect_prompt_injection)

    assert detect("ignore previous instructions") == Verdict(True, "high", "instruction_override", 0.93)

    assert captured.span_dicts() == [
        {
            "name": "detect prompt_injection",
            "kind": "INTERNAL",
            "status": "UNSET",
            "attributes": {
                "nethical.detector.type": "prompt_injection",
                "nethical.model.name": "pi-v2",
                "nethical.threat.detected": True,
                "nethical.threat.level": "high",
                "nethical.threat.category": "instruction_override",
                "nethical.threat.confidence": 0.93,
            },
            "events": [],
            "parent": None,
        }
    ]
    metrics = captured.metrics()
    assert metrics["nethical_requests"] == {attrs(detector_type="prompt_injection", status="success"): 1}
    assert metrics["nethical_threats_detected"] == {
        attrs(detector_type="prompt_injection", threat_level="high", threat_category="instruction_override"): 1
    }
    assert metrics["nethical_confidence_score"][attrs(detector_type="prompt_injection")][:2] == (1, 0.93)
    assert list(metrics["nethical_request_latency"]) == [attrs(detector_type="prompt_injection")]
    assert list(metrics["nethical_model_inference"]) == [attrs(model_name="pi-v2")]


def test_a_clean_result_records_no_threat(captured):
    @instrument_detector
    def shadow_ai(host: str) -> dict:
        return {"is_threat": False, "threat_level": "HIGH"}

    shadow_ai("api.internal")

    (span,) = captured.span_dicts()
    assert span["attributes"] == {"nethical.detector.type": "shadow_ai", "nethical.threat.detected": False}
    assert "nethical_threats_detected" not in captured.metrics()


def test_an_exception_is_reraised_unchanged_and_recorded_without_its_message_and_as_no_threat(captured):
    error = ValueError("the prompt was: my password is hunter2")

    @instrument_detector("deepfake")
    def detect(media: bytes) -> None:
        raise error

    with pytest.raises(ValueError) as raised:
        detect(b"...")

    assert raised.value is error
    (span,) = captured.span_dicts()
    assert span["status"] == "ERROR"
    assert span["attributes"] == {
        "nethical.detector.type": "deepfake",
        "error.type": "ValueError",
        "nethical.threat.detected": False,  # the docs promise the attribute on every detector span
    }
    ((event_name, event),) = span["events"]
    assert event_name == "exception"
    assert event["exception.type"] == "ValueError"
    assert "hunter2" not in repr(span), "exception messages often quote the prompt: not recorded by default"
    metrics = captured.metrics()
    assert metrics["nethical_requests"] == {attrs(detector_type="deepfake", status="error"): 1}
    assert metrics["nethical_errors"] == {attrs(detector_type="deepfake", error_type="ValueError"): 1}


async def test_async_detectors_and_methods_are_instrumented(captured):
    class Scanner:
        @instrument_detector("polymorphic")
        async def scan(self, payload: bytes) -> dict:
            await asyncio.sleep(0)
            return {"threat_level": "CRITICAL", "category": "self_modifying_code"}

        @staticmethod
        @instrument_detector("static_check")
        def check(payload: bytes) -> None:
            return None

        @classmethod
        @instrument_detector("class_check")
        def classy(cls, payload: bytes) -> str:
            return cls.__name__

    scanner = Scanner()
    assert await scanner.scan(b"x") == {"threat_level": "CRITICAL", "category": "self_modifying_code"}
    assert Scanner.check(b"x") is None
    assert Scanner.classy(b"x") == "Scanner"
    assert [span["name"] for span in captured.span_dicts()] == [
        "detect polymorphic",
        "detect static_check",
        "detect class_check",
    ]


def test_wrapping_keeps_name_docstring_signature_and_wrapped():
    detect = instrument_detector(detect_prompt_injection)

    assert detect.__name__ == "detect_prompt_injection"
    assert detect.__doc__ == "Look for instructions smuggled into a prompt."
    assert detect.__wrapped__ is detect_prompt_injection
    assert inspect.signature(detect) == inspect.signature(detect_prompt_injection)
    assert inspect.iscoroutinefunction(instrument_detector(_async_detector))


async def _async_detector() -> None:
    return None


def test_spans_of_code_inside_a_detector_are_its_children(captured):
    from opentelemetry import trace

    @instrument_detector("pi")
    def detect(prompt: str) -> None:
        with trace.get_tracer("model-client").start_as_current_span("embed"):
            pass

    detect("x")
    embed, parent = captured.spans()
    assert embed.parent is not None and embed.parent.span_id == parent.context.span_id


def test_arguments_and_results_are_kept_off_spans_unless_opted_in(captured):
    @instrument_detector("pi")
    def private(prompt: str) -> dict:
        return {"threat_level": "LOW", "echo": prompt}

    @instrument_detector("pi_debug", capture_arguments=True, capture_result=True)
    def opted_in(prompt: str) -> dict:
        return {"threat_level": "LOW", "echo": prompt}

    private("my secret prompt")
    opted_in("my debug prompt")

    hidden, shown = captured.span_dicts()
    assert "my secret prompt" not in repr(hidden)
    assert shown["attributes"]["nethical.detector.arguments"] == "prompt='my debug prompt'"
    assert "my debug prompt" in shown["attributes"]["nethical.detector.result"]


def test_config_consent_captures_content_for_every_detector():
    with capture({"privacy": {"capture_content": True}}) as result:
        instrument_detector("pi")(detect_prompt_injection)("the prompt")
        (span,) = result.span_dicts()
    assert span["attributes"]["nethical.detector.arguments"] == "prompt='the prompt'"


def test_before_configure_the_detector_runs_untouched_and_picks_up_a_later_pipeline():
    nethical_otel.shutdown()
    detect = instrument_detector("pi")(detect_prompt_injection)
    assert detect("x").threat_level == "high"

    with capture() as result:
        detect("x")
        assert [span["name"] for span in result.span_dicts()] == ["detect pi"]


def test_reconfiguring_moves_detectors_to_the_new_pipeline():
    detect = instrument_detector("pi")(detect_prompt_injection)
    with capture() as first:
        detect("x")
    with capture() as second:
        detect("x")
        detect("x")
        assert second.metrics()["nethical_requests"] == {attrs(detector_type="pi", status="success"): 2}
    assert len(first.spans()) == 1


def test_a_user_extractor_reads_results_the_default_reader_cannot(captured):
    @instrument_detector("custom", threat=lambda score: Threat("MEDIUM", "anomaly", score) if score > 0.5 else None)
    def anomaly(sample: list) -> float:
        return 0.8

    anomaly([1, 2])
    assert captured.metrics()["nethical_threats_detected"] == {
        attrs(detector_type="custom", threat_level="MEDIUM", threat_category="anomaly"): 1
    }


def test_a_failing_user_extractor_never_fails_the_detector(captured, caplog):
    def broken(result: object) -> None:
        raise KeyError("boom")

    detect = instrument_detector("pi", threat=broken)(detect_prompt_injection)
    assert detect("x") == detect("y")
    assert len([r for r in caplog.records if "threat extractor" in r.message]) == 1
    assert captured.metrics()["nethical_requests"] == {attrs(detector_type="pi", status="success"): 2}


def test_internal_errors_never_reach_the_application_outside_tests(captured, monkeypatch, caplog):
    detect = instrument_detector("pi")(lambda prompt: {"threat_level": "HIGH", "confidence": 0.5})
    runtime = nethical_otel.pipeline.current.runtime
    assert runtime is not None
    monkeypatch.setattr(runtime.instruments.threats_detected, "child", _raise)
    monkeypatch.setattr(policy, "raise_errors", False)

    assert detect("x") == {"threat_level": "HIGH", "confidence": 0.5}
    assert any("internal error" in r.message for r in caplog.records)


def _raise(*args: object) -> None:
    raise RuntimeError("a bug in nethical_otel")


def test_under_the_test_suite_internal_errors_surface(captured, monkeypatch):
    detect = instrument_detector("pi")(lambda prompt: {"threat_level": "HIGH"})
    runtime = nethical_otel.pipeline.current.runtime
    monkeypatch.setattr(runtime.instruments.threats_detected, "child", _raise)
    with pytest.raises(RuntimeError, match="a bug in nethical_otel"):
        detect("x")


def test_generators_are_refused_at_decoration_with_a_clear_error():
    def stream(prompt: str):
        yield prompt

    with pytest.raises(TypeError, match="generator; a detector must return its result"):
        instrument_detector(stream)


def test_attacker_controlled_categories_are_cleaned_on_spans_and_metrics(captured):
    @instrument_detector("pi")
    def detect(prompt: str) -> dict:
        return {"threat_level": "HIGH", "category": "evil\r\nX-Injected: 1" + "A" * 10_000}

    detect("x")
    (span,) = captured.span_dicts()
    category = span["attributes"]["nethical.threat.category"]
    assert category == "evilX-Injected: 1" + "A" * (128 - 17)
    (key,) = captured.metrics()["nethical_threats_detected"]
    assert dict(key)["threat_category"] == category


def test_the_always_off_sampler_makes_no_spans_at_all(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    with capture() as result:
        assert nethical_otel.pipeline.current.runtime.tracer is None
        instrument_detector("pi")(detect_prompt_injection)("x")
        assert result.spans() == []
        assert result.metrics()["nethical_requests"] == {attrs(detector_type="pi", status="success"): 1}


def test_tracing_off_still_records_metrics():
    with capture({"tracing": {"enabled": False}}) as result:
        instrument_detector("pi")(detect_prompt_injection)("x")
        assert result.spans() == []
        assert result.metrics()["nethical_requests"] == {attrs(detector_type="pi", status="success"): 1}


def test_a_cancelled_async_detector_counts_as_cancelled_not_as_an_error(captured):
    @instrument_detector("deepfake")
    async def slow(media: bytes) -> None:
        await asyncio.sleep(10)

    async def run() -> None:
        task = asyncio.create_task(slow(b""))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    metrics = captured.metrics()
    assert metrics["nethical_requests"] == {attrs(detector_type="deepfake", status="cancelled"): 1}
    assert "nethical_errors" not in metrics
