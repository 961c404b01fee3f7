"""Zero-code runs with the stock ``opentelemetry-distro`` installed as well.

Both packages register a distro and a configurator; ``opentelemetry-instrument`` runs the ones named
by ``OTEL_PYTHON_DISTRO`` / ``OTEL_PYTHON_CONFIGURATOR``. Either way the detectors produce the telemetry
the decorator produces. opentelemetry-distro sits on the subprocess's PYTHONPATH only (see
``tests._support.side_packages``), so the rest of the suite never sees it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nethical_otel.auto._selection import selection_warnings
from tests._support.exposition import samples
from tests._support.net import free_port
from tests._support.otlp import OtlpReceiver
from tests._support.side_packages import side_package
from tests.auto._apps import InstrumentedApp, clean_environment
from tests.auto._reference import DecoratedExample, comparable_samples, comparable_spans, decorated_example

pytestmark = pytest.mark.integration
__all__ = ["decorated_example"]  # the fixture, used by name


def with_stock_distro(workdir: Path, **settings: str) -> dict[str, str]:
    distro = side_package("opentelemetry-distro", "0.66b2")
    env = clean_environment(workdir, NETHICAL_OTEL_CONFIG="nethical.yaml", **settings)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(distro), env.get("PYTHONPATH")]))
    return env


def test_otel_python_distro_nethical_selects_the_nethical_pipeline_over_the_stock_one(
    tmp_path, decorated_example: DecoratedExample
):
    with OtlpReceiver() as receiver:
        env = with_stock_distro(tmp_path, OTEL_PYTHON_DISTRO="nethical", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
        with InstrumentedApp(tmp_path, "zero_code", "app_sync.py", env) as app:
            app.wait_workload()
            scraped = app.scrape()
            assert app.stop() == 0, app.output()
        spans = receiver.span_dicts()

    expected = decorated_example.run_sync()
    assert comparable_samples(scraped) == comparable_samples(expected.exposition)
    assert comparable_spans(spans) == comparable_spans(expected.spans)
    assert "Configuration of configurator not loaded because nethical is set by OTEL_PYTHON_CONFIGURATOR" in (
        app.output()
    )
    assert "Failed to auto initialize" not in app.output()


def test_with_the_stock_distro_and_configurator_detectors_record_through_the_sdk_they_built(
    tmp_path, decorated_example: DecoratedExample
):
    prometheus_port = free_port()
    with OtlpReceiver() as receiver:
        env = with_stock_distro(
            tmp_path,
            OTEL_PYTHON_DISTRO="distro",
            OTEL_PYTHON_CONFIGURATOR="configurator",
            OTEL_SERVICE_NAME="zero-code-example",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_METRICS_EXPORTER="nethical_prometheus",
            OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
            OTEL_EXPORTER_PROMETHEUS_PORT=str(prometheus_port),
            OTEL_LOGS_EXPORTER="none",
        )
        with InstrumentedApp(tmp_path, "zero_code", "app_sync.py", env) as app:
            app.wait_workload()
            from_reader = app.scrape_port(prometheus_port)
            from_metrics_server = app.scrape()
            assert app.stop() == 0, app.output()
        spans = receiver.span_dicts()

    expected = decorated_example.run_sync()
    assert comparable_samples(from_reader) == comparable_samples(expected.exposition)
    assert comparable_samples(from_metrics_server) == comparable_samples(expected.exposition)
    assert not [key for key in samples(from_reader) if key[0] == "target_info" or "otel_scope_name" in dict(key[1])]
    assert comparable_spans(spans) == comparable_spans(expected.spans)
    assert {span["resource"]["service.name"] for span in spans} == {"zero-code-example"}
    assert "Failed to auto initialize" not in app.output()


def test_when_the_choice_is_left_to_discovery_order_the_instrumentor_says_how_to_pin_it(monkeypatch):
    monkeypatch.syspath_prepend(str(side_package("opentelemetry-distro", "0.66b2")))
    monkeypatch.delenv("OTEL_PYTHON_DISTRO", raising=False)
    monkeypatch.delenv("OTEL_PYTHON_CONFIGURATOR", raising=False)
    assert selection_warnings() == [
        "several opentelemetry_distro entry points are installed (distro, nethical) and OTEL_PYTHON_DISTRO is not "
        "set, so opentelemetry-instrument used whichever it found first; set OTEL_PYTHON_DISTRO=nethical for "
        "nethical_otel's pipeline (see docs/zero-code.md)",
        "several opentelemetry_configurator entry points are installed (configurator, nethical) and "
        "OTEL_PYTHON_CONFIGURATOR is not set, so opentelemetry-instrument used whichever it found first; set "
        "OTEL_PYTHON_CONFIGURATOR=nethical for nethical_otel's pipeline (see docs/zero-code.md)",
    ]
    monkeypatch.setenv("OTEL_PYTHON_DISTRO", "nethical")
    monkeypatch.setenv("OTEL_PYTHON_CONFIGURATOR", "nethical")
    assert selection_warnings() == []
