"""Which measurements carry an exemplar, decided once per configure() and then per call.

``OTEL_METRICS_EXEMPLAR_FILTER`` (or ``prometheus.exemplar_filter``) names the filter, as for the SDK's
own instruments: ``trace_based`` (the default) keeps measurements made inside a sampled span,
``always_on`` every measurement (with the span's ids when there is one), ``always_off`` none. The
filter is read at configure time; a call then costs one look at its span's context.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from opentelemetry import trace
from opentelemetry.sdk.environment_variables import OTEL_METRICS_EXEMPLAR_FILTER
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics import (
    ExemplarFilter as SdkExemplarFilter,
)

from nethical_otel.config import ConfigError, ConfigIssue
from nethical_otel.metrics._families import ExemplarRef
from nethical_otel.semconv import ExemplarFilter

ExemplarSource = Callable[[trace.Span | None], ExemplarRef | None]
"""Given a call's span (None without one), the exemplar reference its measurements carry, or None."""

_time_ns = time.time_ns


def resolve_exemplar_filter(configured: str | None, environ: Mapping[str, str]) -> ExemplarFilter:
    """The configured filter, else ``OTEL_METRICS_EXEMPLAR_FILTER``, else ``trace_based``."""
    if configured is not None:
        return ExemplarFilter(configured)
    raw = environ.get(OTEL_METRICS_EXEMPLAR_FILTER, "").strip().lower()
    if not raw:
        return ExemplarFilter.TRACE_BASED
    try:
        return ExemplarFilter(raw)
    except ValueError:
        choices = ", ".join(f.value for f in ExemplarFilter)
        problem = f"{environ[OTEL_METRICS_EXEMPLAR_FILTER]!r} is not one of {choices}"
        raise ConfigError([ConfigIssue(OTEL_METRICS_EXEMPLAR_FILTER, problem)], "environment") from None


def sdk_exemplar_filter(chosen: ExemplarFilter) -> SdkExemplarFilter:
    """The SDK's filter of the same name, for the instruments of a MeterProvider nethical_otel builds."""
    if chosen is ExemplarFilter.ALWAYS_ON:
        return AlwaysOnExemplarFilter()
    if chosen is ExemplarFilter.ALWAYS_OFF:
        return AlwaysOffExemplarFilter()
    return TraceBasedExemplarFilter()


def exemplar_source(chosen: ExemplarFilter) -> ExemplarSource:
    return _SOURCES[chosen]


def current_exemplar(source: ExemplarSource) -> ExemplarRef | None:
    """For measurements made outside the decorator (the original ``track_*`` API): the current span's."""
    span = trace.get_current_span()
    return source(span if span is not trace.INVALID_SPAN else None)


# A SpanContext is the tuple (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid), as its
# type declares; unpacking it costs a third of reading the same fields through their properties.
def _sampled_span(span: trace.Span | None) -> ExemplarRef | None:
    if span is None:
        return None
    trace_id, span_id, _, flags, _, _ = span.get_span_context()
    if flags & 1:  # TraceFlags.SAMPLED
        return trace_id, span_id, _time_ns()
    return None


def _every_call(span: trace.Span | None) -> ExemplarRef | None:
    if span is None:
        return 0, 0, _time_ns()
    trace_id, span_id, _, _, _, _ = span.get_span_context()
    return trace_id, span_id, _time_ns()


def _never(span: trace.Span | None) -> ExemplarRef | None:
    return None


_SOURCES: dict[ExemplarFilter, ExemplarSource] = {
    ExemplarFilter.TRACE_BASED: _sampled_span,
    ExemplarFilter.ALWAYS_ON: _every_call,
    ExemplarFilter.ALWAYS_OFF: _never,
}
