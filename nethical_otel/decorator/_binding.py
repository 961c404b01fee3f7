"""A detector bound to one pipeline: its span name, attributes and metric children, built once.

The wrappers call :meth:`Binding.succeeded` or :meth:`Binding.failed` after each call; everything
they touch was resolved when the binding was made, so a call costs a few attribute lookups and the
recordings themselves.
"""

from __future__ import annotations

import inspect
import logging
import reprlib
import traceback
from collections.abc import Callable
from contextvars import Token
from typing import Any

from opentelemetry.context import Context, attach, detach
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context

from nethical_otel import semconv
from nethical_otel._internal import internal_error
from nethical_otel._text import ELLIPSIS, Destination, clean
from nethical_otel.decorator._threat import ThreatExtractor, extract_with, read_threat
from nethical_otel.metrics import OVERFLOW_ATTRIBUTES, ExemplarRef
from nethical_otel.pipeline import Runtime, Threat

_logger = logging.getLogger("nethical_otel.decorator")
_ERROR_STATUS_PREFIX = "detector raised "
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 1024


class DetectorPlan:
    """What the decorator knows at decoration time; binds to each pipeline that becomes active."""

    def __init__(
        self,
        func: Callable[..., Any],
        detector_type: str,
        model: str | None,
        extractor: ThreatExtractor | None,
        capture_arguments: bool | None,
        capture_result: bool | None,
    ) -> None:
        self.detector_type = detector_type
        self.model = model
        self.extractor = extractor
        self.capture_arguments = capture_arguments
        self.capture_result = capture_result
        self.signature = _signature(func) if capture_arguments is not False else None
        self._extractor_failed = False

    def bind(self, runtime: Runtime) -> Binding:
        return Binding(self, runtime)

    def read(self, result: Any) -> Threat | None:
        if self.extractor is None:
            return read_threat(result)
        try:
            return extract_with(self.extractor, result)
        except Exception:
            # The extractor is user code: its failure must not fail the detector call.
            if not self._extractor_failed:
                self._extractor_failed = True
                _logger.warning(
                    "threat extractor of %r raised; its results count as no threat", self.detector_type, exc_info=True
                )
            return None


class Binding:
    __slots__ = (
        "_attribute_limit",
        "_capture_result",
        "_clean",
        "_confidence",
        "_detector",
        "_errors",
        "_exemplar",
        "_latency",
        "_listeners",
        "_model_latency",
        "_plan",
        "_read",
        "_requests_cancelled",
        "_requests_error",
        "_requests_ok",
        "_threat_cache",
        "_threats",
        "capture_arguments",
        "runtime",
        "span_attributes",
        "span_name",
        "tracer",
    )

    def __init__(self, plan: DetectorPlan, runtime: Runtime) -> None:
        ins = runtime.instruments
        clean = runtime.clean
        detector = clean(plan.detector_type)
        runtime.detectors.register(detector)
        self.runtime = runtime
        self.tracer = runtime.tracer
        self.span_name = semconv.SPAN_NAME_PREFIX + detector
        self.span_attributes: dict[str, Any] = {semconv.ATTR_DETECTOR_TYPE: detector}
        if plan.model is not None:
            self.span_attributes[semconv.ATTR_MODEL_NAME] = clean(plan.model)
        self._plan = plan
        self._read = read_threat if plan.extractor is None else plan.read
        self._clean = clean
        self._detector = detector
        self._listeners = runtime.threat_listeners
        self._exemplar = runtime.exemplars
        self._requests_ok = ins.requests.child(detector, semconv.STATUS_SUCCESS)
        self._requests_error = ins.requests.child(detector, semconv.STATUS_ERROR)
        self._requests_cancelled = ins.requests.child(detector, semconv.STATUS_CANCELLED)
        self._latency = ins.request_latency.child(detector)
        self._confidence = ins.confidence_score.child(detector)
        self._model_latency = ins.model_inference.child(clean(plan.model)) if plan.model is not None else None
        self._threats = ins.threats_detected
        self._threat_cache: dict[tuple[Any, Any], tuple[str, str, Any]] = {}
        self._errors = ins.errors
        consent = runtime.capture_content
        self.capture_arguments = consent if plan.capture_arguments is None else plan.capture_arguments
        self._capture_result = consent if plan.capture_result is None else plan.capture_result
        self._attribute_limit = runtime.attribute_max_length

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Span | None, Token[Context] | None]:
        """Open the call's span and make it current; ``(None, None)`` when this pipeline makes no spans."""
        tracer = self.tracer
        if tracer is None:
            return None, None
        span = tracer.start_span(self.span_name, attributes=self.span_attributes)
        token = attach(set_span_in_context(span))
        if self.capture_arguments:
            self._record_arguments(span, args, kwargs)
        return span, token

    def _record_arguments(self, span: Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Only with capture_arguments: record the call's arguments (they may hold user prompts)."""
        try:
            described = _describe_arguments(self._plan.signature, args, kwargs)
            span.set_attribute(semconv.ATTR_ARGUMENTS, clean(described, Destination.ATTRIBUTE, self._attribute_limit))
        except Exception:
            internal_error("recording detector arguments")

    # Measurements are recorded while the call's span is still the current one: an SDK instrument (on a
    # MeterProvider someone else built) takes its exemplar from the context; local cells get `exemplar`.
    def succeeded(self, span: Span | None, token: Token[Context] | None, result: Any, elapsed: float) -> None:
        try:
            exemplar = self._exemplar(span)
            self._requests_ok.record(1, exemplar)
            self._latency.record(elapsed, exemplar)
            if self._model_latency is not None:
                self._model_latency.record(elapsed, exemplar)
            threat = self._read(result)
            if threat is None:
                if span is not None:
                    if self._capture_result:
                        span.set_attribute(semconv.ATTR_RESULT, self._described(result))
                    span.set_attribute(semconv.ATTR_THREAT_DETECTED, False)
                    span.end()
                return
            self._record_threat(span, threat, result, exemplar)
        except Exception:
            internal_error("recording a detector result")
        finally:
            if token is not None:
                detach(token)

    def _record_threat(self, span: Span | None, threat: Threat, result: Any, exemplar: ExemplarRef | None) -> None:
        level, category, child = self._threat_series(threat.level, threat.category)
        child.record(1, exemplar)
        confidence = threat.confidence
        if confidence is not None:
            self._confidence.record(confidence, exemplar)
            if not 0.0 <= confidence <= 1.0:  # refused (and counted) by the histogram; keep it off the span
                confidence = None
        if span is None or not span.is_recording():
            if span is not None:
                span.end()
            if self._listeners:
                context = span.get_span_context() if span is not None else None
                trace_id, span_id = (context.trace_id, context.span_id) if context is not None else (0, 0)
                clean_threat = Threat(level, category, confidence)
                for listener in self._listeners:
                    listener(self._detector, clean_threat, trace_id, span_id)
            return
        attributes: dict[str, Any] = {
            semconv.ATTR_THREAT_DETECTED: True,
            semconv.ATTR_THREAT_LEVEL: level,
            semconv.ATTR_THREAT_CATEGORY: category,
        }
        if confidence is not None:
            attributes[semconv.ATTR_THREAT_CONFIDENCE] = confidence
        if self._capture_result:
            attributes[semconv.ATTR_RESULT] = self._described(result)
        span.set_attributes(attributes)
        span.end()

    def _described(self, result: Any) -> str:
        return clean(_repr.repr(result), Destination.ATTRIBUTE, self._attribute_limit)

    def _threat_series(self, level: Any, category: Any) -> tuple[str, str, Any]:
        """Cleaned level and category and their series; cached, as detectors repeat a few of each."""
        key: tuple[Any, Any] | None = (level, category)
        try:
            found: tuple[str, str, Any] | None = self._threat_cache.get(key)  # type: ignore[arg-type]
        except TypeError:  # an unhashable category
            key, found = None, None
        if found is None:
            clean = self._clean
            level, category = clean.level(level), clean(category)
            child = self._threats.child(self._detector, level, category)
            found = (level, category, child)
            if key is not None and child.attributes is not OVERFLOW_ATTRIBUTES and len(self._threat_cache) < 1024:
                self._threat_cache[key] = found
        return found

    def failed(self, span: Span | None, token: Token[Context] | None, error: BaseException, elapsed: float) -> None:
        try:
            exemplar = self._exemplar(span)
            self._latency.record(elapsed, exemplar)
            if isinstance(error, Exception):
                self._requests_error.record(1, exemplar)
                self._errors.labels(self._detector, type(error).__name__).record(1, exemplar)
            else:  # cancellation, KeyboardInterrupt, SystemExit: not the detector's fault
                self._requests_cancelled.record(1, exemplar)
            if span is None:
                return
            # Exception classes can be made at run time with any name: their names are labels too.
            clean_label = self._clean
            error_type = clean_label(_qualified_name(type(error)))
            span.set_attributes({semconv.ATTR_ERROR_TYPE: error_type, semconv.ATTR_THREAT_DETECTED: False})
            span.set_status(Status(StatusCode.ERROR, _ERROR_STATUS_PREFIX + clean_label(type(error).__name__)))
            with_message = self.capture_arguments or self._capture_result
            span.add_event("exception", _exception_attributes(error, error_type, with_message, self._attribute_limit))
            span.end()
        except Exception:
            internal_error("recording a detector failure")
        finally:
            if token is not None:
                detach(token)


def _exception_attributes(error: BaseException, error_type: str, with_message: bool, limit: int) -> dict[str, Any]:
    # The message of an exception raised while inspecting a prompt often quotes the prompt, so by default
    # the event carries the type and the frames but not the message.
    if with_message:
        message = clean(error, Destination.BODY, limit)
        stacktrace = "".join(traceback.format_exception(error))
    else:
        stacktrace = "".join(traceback.format_tb(error.__traceback__)) + error_type
    if len(stacktrace) > limit:  # the innermost frames and the exception line are at the end
        stacktrace = ELLIPSIS + stacktrace[len(stacktrace) - limit + 1 :]
    attributes = {"exception.type": error_type, "exception.stacktrace": clean(stacktrace, Destination.BODY, limit)}
    if with_message:
        attributes["exception.message"] = message
    return attributes


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _describe_arguments(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    if signature is None:
        return _repr.repr((args, kwargs))
    bound = signature.bind_partial(*args, **kwargs)
    shown = {name: value for name, value in bound.arguments.items() if name not in ("self", "cls")}
    return ", ".join(f"{name}={_repr.repr(value)}" for name, value in shown.items())
