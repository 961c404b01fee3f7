"""Shared fixtures: a configured pipeline whose spans and metrics are read from in-memory exporters."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before nethical_otel is imported: internal errors fail tests instead of vanishing into a log line,
# and the alerting outbox (on by default, in the user's data directory) lives in a directory of this run.
os.environ["NETHICAL_OTEL_RAISE_INTERNAL_ERRORS"] = "1"
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="nethical-otel-tests-")
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], ignore_errors=True)

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

import nethical_otel  # noqa: E402
from tests._support.pipeline import Captured, capture  # noqa: E402

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
