"""Optional parts of the pipeline that a config section switches on (alerting, profiling).

Each contributes span processors and metric readers before the providers are built, and is started
after them and shut down before them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import SpanProcessor

from nethical_otel.config import Config

if TYPE_CHECKING:
    from nethical_otel.pipeline._telemetry import Telemetry


class Component:
    """Base class: override what the part needs."""

    name = "component"

    def span_processors(self) -> Sequence[SpanProcessor]:
        return ()

    def metric_readers(self) -> Sequence[MetricReader]:
        return ()

    def start(self, telemetry: Telemetry) -> None:
        """Called once the providers exist, before the pipeline becomes active."""

    def shutdown(self, timeout: float) -> None:
        """Flush and stop within ``timeout`` seconds."""


def build_components(config: Config) -> list[Component]:
    """The components that ``config`` switches on, in start order."""
    from nethical_otel import alerting, profiling

    # Profiling first: Pyroscope must run before the first span starts.
    built = (profiling.build_component(config), alerting.build_component(config))
    return [component for component in built if component is not None]
