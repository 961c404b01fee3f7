"""The pipeline component that ``profiling.enabled`` switches on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import SpanProcessor

from nethical_otel.pipeline import Component
from nethical_otel.profiling._settings import PyroscopeSettings
from nethical_otel.profiling._tags import ProfileTagProcessor
from nethical_otel.profiling.continuous import ContinuousProfiler

if TYPE_CHECKING:
    from nethical_otel.pipeline import Telemetry


class ProfilingComponent(Component):
    """Continuous profiling for the pipeline's lifetime, with detector tags and span links."""

    name = "profiling"

    def __init__(self, settings: PyroscopeSettings) -> None:
        self.settings = settings
        tagging = settings.detector_tags or settings.span_links
        self._processor = (
            ProfileTagProcessor(
                detector_tags=settings.detector_tags,
                span_links=settings.span_links,
                tag_value_max_length=settings.tag_value_max_length,
            )
            if tagging
            else None
        )
        self.profiler = ContinuousProfiler(settings, self._processor)

    def span_processors(self) -> Sequence[SpanProcessor]:
        return (self._processor,) if self._processor is not None else ()

    def start(self, telemetry: Telemetry) -> None:
        self.profiler.start(self.settings.application_name or _service_name(telemetry))

    def shutdown(self, timeout: float) -> None:
        self.profiler.stop(timeout)


def _service_name(telemetry: Telemetry) -> str:
    """The OTel ``service.name`` of the pipeline (of its resource, or as it would be built)."""
    resource = telemetry.resource
    if resource is None:
        from nethical_otel.pipeline._providers import build_resource

        resource = build_resource(telemetry.config)
    return str(resource.attributes.get(SERVICE_NAME))
