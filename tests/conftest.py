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
from hypothesis import HealthCheck, settings  # noqa: E402

import nethical_otel  # noqa: E402
from tests._support.pipeline import Captured, capture  # noqa: E402

pytest_plugins = ["tests._support.fixtures"]

# Property tests: no deadline (a loaded CI machine makes per-example timings meaningless) and a bounded
# number of examples, so the suite's time stays predictable; CI also replays no saved failures.
# HYPOTHESIS_PROFILE=thorough runs many more examples locally.
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("ci", settings.get_profile("dev"), max_examples=60, database=None, print_blob=True)
settings.register_profile("thorough", settings.get_profile("dev"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))


@pytest.fixture
def captured() -> Iterator[Captured]:
    """A running pipeline (no metrics server) with in-memory span and metric readers."""
    with capture() as result:
        yield result


@pytest.fixture(autouse=True)
def _no_pipeline_left_behind() -> Iterator[None]:
    yield
    nethical_otel.shutdown()
