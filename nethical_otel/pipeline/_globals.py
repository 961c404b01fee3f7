"""Global OpenTelemetry providers that follow the active pipeline.

OpenTelemetry lets the global providers be set once per process. nethical_otel sets them, the first time
``configure()`` runs and only if nobody else did, to these delegates, so that tracers and meters taken
from ``opentelemetry.trace`` / ``opentelemetry.metrics`` keep working after a reconfiguration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Meter, MeterProvider, NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider, Tracer, TracerProvider
from opentelemetry.util.types import Attributes

_logger = logging.getLogger("nethical_otel")

_tracer_provider: Callable[[], TracerProvider | None] = lambda: None  # noqa: E731
_meter_provider: Callable[[], MeterProvider | None] = lambda: None  # noqa: E731
_NOOP_TRACER_PROVIDER = NoOpTracerProvider()
_NOOP_METER_PROVIDER = NoOpMeterProvider()


class _ActiveTracer(Tracer):
    def __init__(self, args: tuple[Any, ...]) -> None:
        self._args = args
        self._source: TracerProvider | None = None
        self._tracer: Tracer | None = None

    def _real(self) -> Tracer:
        provider = _tracer_provider() or _NOOP_TRACER_PROVIDER
        if provider is not self._source or self._tracer is None:
            self._tracer = provider.get_tracer(*self._args)
            self._source = provider
        return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._real().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._real().start_as_current_span(*args, **kwargs)


class ActiveTracerProvider(TracerProvider):
    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> Tracer:
        return _ActiveTracer((instrumenting_module_name, instrumenting_library_version, schema_url, attributes))


class ActiveMeterProvider(MeterProvider):
    """Meters resolve to the pipeline active when they are requested."""

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> Meter:
        return (_meter_provider() or _NOOP_METER_PROVIDER).get_meter(name, version, schema_url, attributes)


def install(
    tracer_provider: Callable[[], TracerProvider | None], meter_provider: Callable[[], MeterProvider | None]
) -> None:
    """Point the delegates at the active pipeline, and register them globally if no one else has."""
    global _tracer_provider, _meter_provider
    _tracer_provider, _meter_provider = tracer_provider, meter_provider
    _set_once(trace.get_tracer_provider, trace.set_tracer_provider, ActiveTracerProvider, "tracer")
    _set_once(metrics.get_meter_provider, metrics.set_meter_provider, ActiveMeterProvider, "meter")


def _set_once(get: Callable[[], Any], set_: Callable[[Any], None], cls: type[Any], kind: str) -> None:
    current = get()
    if isinstance(current, cls):
        return
    if type(current).__name__.lstrip("_").startswith("Proxy"):  # the API's stand-in until someone sets one
        set_(cls())
        return
    _logger.info(
        "the global %s provider is already set (%s); nethical_otel leaves it alone and uses its own",
        kind,
        type(current).__name__,
    )


__all__: Sequence[str] = ["ActiveMeterProvider", "ActiveTracerProvider", "install"]
