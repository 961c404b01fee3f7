"""Optional parts of the pipeline (profiling, alerting, the metrics server), plugged in by name.

The pipeline never imports a component: each is registered by the import path of its factory, as
sentry-python registers integrations, and third-party packages add their own under the
``nethical_otel.components`` entry-point group. A factory takes the :class:`Config` and returns a
:class:`Component`, or ``None`` when the config leaves it off. Components contribute span processors and
metric readers before the providers are built, are started after them in registration order, and are
shut down before them in reverse order.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import SpanProcessor

from nethical_otel.config import Config

if TYPE_CHECKING:
    from nethical_otel.pipeline._telemetry import Telemetry

_logger = logging.getLogger("nethical_otel")

ENTRY_POINT_GROUP = "nethical_otel.components"


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


ComponentFactory = Callable[[Config], "Component | None"]


class MetricsEndpoint(Protocol):
    """What the pipeline knows of the metrics server a component runs: where it listens."""

    port: int

    @property
    def url(self) -> str: ...


# Start order matters: profiling must run before the first span starts, and the metrics server answers
# only once everything it reports on is up.
BUILTIN: dict[str, str] = {
    "profiling": "nethical_otel.profiling:build_component",
    "alerting": "nethical_otel.alerting:build_component",
    "metrics_server": "nethical_otel.server:build_component",
}


def _load(target: str) -> ComponentFactory:
    module_name, _, attribute = target.partition(":")
    factory: ComponentFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


def registered() -> dict[str, ComponentFactory]:
    """Every component factory by name: the built-in ones, then those of installed packages."""
    factories = {name: _load(target) for name, target in BUILTIN.items()}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in factories:
            continue  # a built-in name cannot be taken over by a package
        try:
            factories[entry_point.name] = entry_point.load()
        except Exception:  # a broken plug-in must not take the application down
            _logger.exception("cannot load nethical_otel component %r (%s)", entry_point.name, entry_point.value)
    return factories


def build_components(config: Config) -> list[Component]:
    """The components that ``config`` switches on, in start order."""
    built = (factory(config) for factory in registered().values())
    return [component for component in built if component is not None]
