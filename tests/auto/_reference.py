"""The example detectors run through ``@instrument_detector`` in code: what zero-code runs must match."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from nethical_otel import instrument_detector, semconv
from nethical_otel.semconv import ALERT_DELIVERY_LATENCY, ALERT_QUEUE_DEPTH, ALERTS
from tests._support.exposition import samples
from tests._support.pipeline import capture
from tests.auto._apps import EXAMPLES

# Histogram buckets and sums of durations differ from run to run; their series and counts do not.
TIMED_FAMILIES = (semconv.REQUEST_LATENCY.prometheus_name, semconv.MODEL_INFERENCE.prometheus_name)
# The alerting pipeline's own metrics and spans follow delivery, which runs on its own schedule.
ALERTING_FAMILIES = tuple(spec.prometheus_name for spec in (ALERTS, ALERT_DELIVERY_LATENCY, ALERT_QUEUE_DEPTH))
# The metrics server's own health exists only where a server runs.
SERVER_FAMILIES = (semconv.METRICS_SERVER_CONNECTIONS_CLOSED.prometheus_name,)
EXAMPLE_MODULES = ("detectors", "workload", "_lifecycle")


def _nothing() -> None:
    return None


@dataclass
class Outcome:
    summary: dict[str, int]
    exposition: str
    spans: list[dict[str, Any]]


class DecoratedExample:
    """The zero-code example's detectors, decorated as a developer would decorate them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, detectors: ModuleType, workload: ModuleType) -> None:
        self.workload = workload
        detector = detectors.PromptInjectionDetector
        decorate = instrument_detector("prompt_injection", model="pi-rules-v1")
        monkeypatch.setattr(detector, "detect", decorate(detector.detect))
        monkeypatch.setattr(detectors, "scan_url", instrument_detector("shadow_ai")(detectors.scan_url))
        deepfake = instrument_detector("deepfake", model="df-v3")(detectors.detect_deepfake)
        monkeypatch.setattr(detectors, "detect_deepfake", deepfake)

    def run_sync(self, config: Mapping[str, Any] | None = None, settle: Callable[[], object] = _nothing) -> Outcome:
        """The sync workload under a pipeline from ``config``; ``settle`` runs before the pipeline stops."""
        return self._run(self.workload.run_sync, config, settle)

    def run_async(self) -> Outcome:
        return self._run(lambda: asyncio.run(self.workload.run_async()), None, _nothing)

    @staticmethod
    def _run(
        work: Callable[[], dict[str, int]], config: Mapping[str, Any] | None, settle: Callable[[], object]
    ) -> Outcome:
        with capture(config) as captured:
            summary = work()
            settle()
            return Outcome(summary, captured.exposition(), captured.span_dicts())


@pytest.fixture
def decorated_example(monkeypatch: pytest.MonkeyPatch) -> Iterator[DecoratedExample]:
    monkeypatch.syspath_prepend(str(EXAMPLES / "zero_code"))
    for name in EXAMPLE_MODULES:
        sys.modules.pop(name, None)
    try:
        detectors = importlib.import_module("detectors")
        yield DecoratedExample(monkeypatch, detectors, importlib.import_module("workload"))
    finally:
        for name in EXAMPLE_MODULES:
            sys.modules.pop(name, None)


def comparable_samples(exposition: str) -> dict[tuple[str, Any], Any]:
    """The detector metrics sample by sample; the values of duration buckets and sums only as present."""
    result: dict[tuple[str, Any], Any] = {}
    for (name, labels), value in samples(exposition).items():
        if name.startswith(ALERTING_FAMILIES + SERVER_FAMILIES):
            continue
        timed = name.startswith(TIMED_FAMILIES) and not name.endswith("_count")
        result[(name, labels)] = "depends on timing" if timed else value
    return result


def comparable_spans(spans: list[dict[str, Any]]) -> list[str]:
    """Detector spans as sorted text, without what differs between processes (stack frames' file paths)."""
    rows = []
    for span in detector_spans(spans):
        events = [
            (name, {k: v.splitlines()[-1] if k == "exception.stacktrace" else v for k, v in attributes.items()})
            for name, attributes in span["events"]
        ]
        attributes = sorted(span["attributes"].items())
        rows.append(repr((span["name"], span["kind"], span["status"], attributes, events, span["parent"])))
    return sorted(rows)


def detector_spans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [span for span in spans if span["name"].startswith(semconv.SPAN_NAME_PREFIX)]


def comparable_alert(notification: dict[str, Any]) -> str:
    """A webhook notification without what depends on timing or on trace ids."""
    timing = ("firstSeen", "lastSeen", "occurrences", "startsAt", "endsAt", "traceId", "spanId")
    body = {key: value for key, value in notification.items() if key not in timing}
    body["alerts"] = [{k: v for k, v in alert.items() if k not in timing} for alert in notification["alerts"]]
    return json.dumps(body, sort_keys=True)


def comparable_alerting(notifications: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
    """Per alert group: its first notification (see comparable_alert) and the occurrences all its notifications count.

    How many notifications tell those occurrences depends on timing: occurrences that arrive after the first
    notification is planned are told once more at shutdown, those that arrive before are counted in it.
    """
    groups: dict[str, tuple[str, int]] = {}
    for notification in sorted(notifications, key=lambda n: n["notification_reason"] != "first notification"):
        first, occurrences = groups.get(notification["groupKey"], (comparable_alert(notification), 0))
        groups[notification["groupKey"]] = (first, occurrences + notification["occurrences"])
    return groups
