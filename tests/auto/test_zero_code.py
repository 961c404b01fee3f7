"""``opentelemetry-instrument python app.py`` on apps that never import nethical_otel.

Each test runs an example app as a real subprocess, scrapes its /metrics, and reads the spans it pushed
over OTLP/HTTP to a receiver on 127.0.0.1; the expected telemetry comes from the same detectors run
through ``@instrument_detector`` in code.
"""

from __future__ import annotations

import socket

import pytest

from tests._support.otlp import OtlpReceiver
from tests.auto._apps import InstrumentedApp, clean_environment
from tests.auto._reference import DecoratedExample, comparable_samples, comparable_spans, decorated_example

pytestmark = pytest.mark.integration
__all__ = ["decorated_example"]  # the fixture, used by name


def zero_code_environment(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    return clean_environment(
        NETHICAL_OTEL_CONFIG="nethical.yaml",
        OTEL_PYTHON_DISTRO="nethical",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        **extra,
    )


@pytest.mark.parametrize("script", ["app_sync.py", "app_async.py"])
def test_an_app_run_under_opentelemetry_instrument_gets_the_decorators_metrics_and_spans(
    tmp_path, decorated_example: DecoratedExample, script
):
    with OtlpReceiver() as receiver:
        with InstrumentedApp(tmp_path, "zero_code", script, zero_code_environment(receiver)) as app:
            summary = app.wait_workload()
            scraped = app.scrape()
            assert app.stop() == 0, app.output()
        spans = receiver.span_dicts()

    expected = decorated_example.run_sync() if script == "app_sync.py" else decorated_example.run_async()
    assert summary == expected.summary
    assert comparable_samples(scraped) == comparable_samples(expected.exposition)
    assert comparable_spans(spans) == comparable_spans(expected.spans)
    assert {span["resource"]["service.name"] for span in spans} == {"zero-code-example"}
    assert "Traceback" not in app.output()


def test_a_detector_name_that_cannot_be_resolved_is_reported_and_the_app_still_runs(tmp_path):
    with OtlpReceiver() as receiver:
        env = zero_code_environment(receiver, NETHICAL_OTEL_DETECTORS="detectors:Missing.detect,detectors:scan_url")
        with InstrumentedApp(tmp_path, "zero_code", "app_sync.py", env, linger=0) as app:
            summary = app.wait_workload()
            assert app.wait_exit() == 0, app.output()

    assert summary == {"calls": 32, "threats": 16, "errors": 4}
    assert (
        "cannot instrument detector 'detectors:Missing.detect' (from NETHICAL_OTEL_DETECTORS): "
        "detectors has no attribute 'Missing'; the application runs on without it"
    ) in app.output()
    assert {span["name"] for span in receiver.span_dicts()} == {"detect prompt_injection", "detect shadow_ai"}


def test_otel_sdk_disabled_turns_everything_off(tmp_path):
    with OtlpReceiver() as receiver:
        env = zero_code_environment(receiver, OTEL_SDK_DISABLED="true")
        with InstrumentedApp(tmp_path, "zero_code", "app_async.py", env) as app:
            summary = app.wait_workload()
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", app.metrics_port), timeout=2).close()
            assert app.stop() == 0, app.output()
        assert receiver.received() == []
    assert summary == {"calls": 36, "threats": 16, "errors": 4}
