"""``opentelemetry-instrument python app.py`` on apps that never import nethical_otel.

Each test runs an example app as a real subprocess, scrapes its /metrics, and reads the spans it pushed
over OTLP/HTTP to a receiver on 127.0.0.1; the expected telemetry comes from the same detectors run
through ``@instrument_detector`` in code.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests._support.otlp import OtlpReceiver
from tests._support.pyroscope_receiver import PyroscopeReceiver
from tests._support.recorder import RecordingServer
from tests.auto._apps import InstrumentedApp, clean_environment
from tests.auto._reference import (
    DecoratedExample,
    comparable_alerting,
    comparable_samples,
    comparable_spans,
    decorated_example,
    detector_spans,
)

pytestmark = pytest.mark.integration
__all__ = ["decorated_example"]  # the fixture, used by name


def zero_code_environment(workdir: Path, receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    return clean_environment(
        workdir,
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
        with InstrumentedApp(tmp_path, "zero_code", script, zero_code_environment(tmp_path, receiver)) as app:
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
        env = zero_code_environment(
            tmp_path, receiver, NETHICAL_OTEL_DETECTORS="detectors:Missing.detect,detectors:scan_url"
        )
        with InstrumentedApp(tmp_path, "zero_code", "app_sync.py", env, linger=0) as app:
            summary = app.wait_workload()
            assert app.wait_exit() == 0, app.output()

    assert summary == {"calls": 32, "threats": 16, "errors": 4}
    assert (
        "cannot instrument detector 'detectors:Missing.detect' (from NETHICAL_OTEL_DETECTORS): "
        "detectors has no attribute 'Missing'; the application runs on without it"
    ) in app.output()
    names = {span["name"] for span in detector_spans(receiver.span_dicts())}
    assert names == {"detect prompt_injection", "detect shadow_ai"}


def test_otel_sdk_disabled_turns_everything_off(tmp_path):
    with OtlpReceiver() as receiver:
        env = zero_code_environment(tmp_path, receiver, OTEL_SDK_DISABLED="true")
        with InstrumentedApp(tmp_path, "zero_code", "app_async.py", env) as app:
            summary = app.wait_workload()
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", app.metrics_port), timeout=2).close()
            assert app.stop() == 0, app.output()
        assert receiver.received() == []
    assert summary == {"calls": 36, "threats": 16, "errors": 4}


def test_threats_seen_without_code_changes_raise_the_alerts_the_decorator_raises(
    tmp_path, decorated_example: DecoratedExample
):
    hook_path = "/hooks/T0KEN-that-must-stay-secret"  # a webhook URL's path is its credential
    with RecordingServer() as webhook, OtlpReceiver() as receiver:
        env = zero_code_environment(tmp_path, receiver, ALERT_WEBHOOK_URL=webhook.url + hook_path)
        with InstrumentedApp(tmp_path, "zero_code", "app_sync.py", env) as app:
            app.wait_workload()
            webhook.wait_for(2, hook_path, timeout=20)
            assert app.stop() == 0, app.output()
        alerts = [recorded.json() for recorded in webhook.received(hook_path)]
        spans = receiver.span_dicts()

    with RecordingServer() as reference_webhook:
        config = {
            "alerting": {"webhook_url": reference_webhook.url + hook_path, "storage_path": str(tmp_path / "ref.db")}
        }
        expected = decorated_example.run_sync(config, settle=lambda: reference_webhook.wait_for(2, hook_path))
        expected_alerts = [recorded.json() for recorded in reference_webhook.received(hook_path)]

    assert comparable_alerting(alerts) == comparable_alerting(expected_alerts)
    assert {alert["commonLabels"]["threat_level"] for alert in alerts} == {"HIGH", "CRITICAL"}
    detector_span_ids = {span["span_id"] for span in detector_spans(spans)}
    assert {entry["spanId"] for alert in alerts for entry in alert["alerts"]} <= detector_span_ids
    assert comparable_spans(spans) == comparable_spans(expected.spans)
    # The channel's HTTP calls are traced through the same provider, with the URL cut to scheme://host:port/.
    client_spans = [span for span in spans if span["kind"] == "CLIENT"]
    assert {span["attributes"]["url.full"] for span in client_spans} == {f"{webhook.url}/"}
    assert len(client_spans) == len(alerts)
    assert "T0KEN" not in repr(spans)


def test_profiles_come_with_the_pipeline_and_every_detector_span_links_to_its_profile(tmp_path):
    with PyroscopeReceiver() as pyroscope, OtlpReceiver() as receiver:
        # Wall-clock samples over a second of lingering: the workload alone is too short to be sure the agent
        # catches it on a CPU, and a profile without samples is never pushed.
        env = zero_code_environment(tmp_path, receiver, PYROSCOPE_SERVER_ADDRESS=pyroscope.url, PROFILE_ONCPU="false")
        with InstrumentedApp(tmp_path, "zero_code", "app_sync.py", env, linger=1.0) as app:
            app.wait_workload()
            assert app.wait_exit() == 0, app.output()  # the agent pushes what it has at shutdown
        series = pyroscope.series()
        spans = detector_spans(receiver.span_dicts())

    assert {entry.labels["service_name"] for entry in series} == {"zero-code-example"}
    # Detector spans are root spans here: each carries its own span id as the profile id, as with the decorator.
    assert len(spans) == 32
    assert {span["attributes"].get("pyroscope.profile.id") for span in spans} == {span["span_id"] for span in spans}
