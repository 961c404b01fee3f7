"""Profiling: continuous profiling to Pyroscope, and on-demand flamegraphs.

``profiling.enabled`` in the config starts the pyroscope-io agent with ``configure()`` (samples tagged
with the running detector, root spans linked to their profiles). :class:`FlamegraphProfiler` records a
flamegraph of a process or script with py-spy, or of one function call with cProfile.
"""

from __future__ import annotations

import os

from nethical_otel.config import Config
from nethical_otel.pipeline import Component
from nethical_otel.profiling._settings import profiling_enabled, resolve_settings
from nethical_otel.profiling.flamegraph import (
    FlamegraphProfiler,
    FlamegraphResult,
    FunctionProfile,
    PySpyError,
    PySpyNotFoundError,
    PySpyPermissionError,
)

__all__ = [
    "FlamegraphProfiler",
    "FlamegraphResult",
    "FunctionProfile",
    "PySpyError",
    "PySpyNotFoundError",
    "PySpyPermissionError",
    "build_component",
]


def build_component(config: Config) -> Component | None:
    """The continuous-profiling component when the config (or ``PYROSCOPE_SERVER_ADDRESS``) asks for it."""
    if not profiling_enabled(config.profiling, os.environ):
        return None
    from nethical_otel.profiling._component import ProfilingComponent

    return ProfilingComponent(resolve_settings(config.profiling, os.environ))
