"""The example detectors run through ``@instrument_detector`` in code: what zero-code runs must match."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from nethical_otel import instrument_detector
from tests._support.exposition import samples
from tests._support.pipeline import capture
from tests.auto._apps import EXAMPLES

# Histogram buckets and sums of durations differ from run to run; their series and counts do not.
TIMED_FAMILIES = ("nethical_request_latency_seconds", "nethical_model_inference_seconds")
EXAMPLE_MODULES = ("detectors", "workload", "_lifecycle")


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

    def run_sync(self) -> Outcome:
        return self._run(self.workload.run_sync)

    def run_async(self) -> Outcome:
        return self._run(lambda: asyncio.run(self.workload.run_async()))

    @staticmethod
    def _run(work: Callable[[], dict[str, int]]) -> Outcome:
        with capture() as captured:
            summary = work()
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
    result: dict[tuple[str, Any], Any] = {}
    for (name, labels), value in samples(exposition).items():
        timed = name.startswith(TIMED_FAMILIES) and not name.endswith("_count")
        result[(name, labels)] = "depends on timing" if timed else value
    return result


def comparable_spans(spans: list[dict[str, Any]]) -> list[str]:
    """Spans as sorted text, without what differs between processes (stack frames' file paths)."""
    rows = []
    for span in spans:
        events = [
            (name, {k: v.splitlines()[-1] if k == "exception.stacktrace" else v for k, v in attributes.items()})
            for name, attributes in span["events"]
        ]
        attributes = sorted(span["attributes"].items())
        rows.append(repr((span["name"], span["kind"], span["status"], attributes, events, span["parent"])))
    return sorted(rows)
