"""Shared fixtures: a configured pipeline whose spans and metrics are read from in-memory exporters."""

from __future__ import annotations

import os

# Before nethical_otel is imported: internal errors fail tests instead of vanishing into a log line.
os.environ["NETHICAL_OTEL_RAISE_INTERNAL_ERRORS"] = "1"

from collections.abc import Iterator

import pytest

import nethical_otel
from tests._support.pipeline import Captured, capture

pytest_plugins = ["tests._support.fixtures"]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """A running pipeline (no metrics server) with in-memory span and metric readers."""
    with capture() as result:
        yield result


@pytest.fixture(autouse=True)
def _no_pipeline_left_behind() -> Iterator[None]:
    yield
    nethical_otel.shutdown()
