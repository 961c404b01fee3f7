"""``@instrument_detector``: one wrapper per call kind, chosen and prepared at decoration time."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, TypeVar, overload

from typing_extensions import ParamSpec

from nethical_otel._internal import internal_error
from nethical_otel.decorator._binding import Binding, DetectorPlan
from nethical_otel.decorator._threat import ThreatExtractor
from nethical_otel.pipeline import Runtime, current

P = ParamSpec("P")
R = TypeVar("R")


class _Slot:
    """The wrapper's binding to the active pipeline, rebuilt when ``configure()`` runs again."""

    __slots__ = ("binding", "plan")

    def __init__(self, plan: DetectorPlan) -> None:
        self.plan = plan
        self.binding: Binding | None = None

    def bind(self, runtime: Runtime) -> Binding:
        binding = self.binding
        if binding is None or binding.runtime is not runtime:
            binding = self.binding = self.plan.bind(runtime)
        return binding


# The sync and async wrappers are the same steps; they stay two functions because one must `await`.
def _sync_wrapper(func: Callable[P, R], plan: DetectorPlan) -> Callable[P, R]:
    slot = _Slot(plan)
    state = current

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        runtime = state.runtime
        if runtime is None:
            return func(*args, **kwargs)
        try:
            binding = slot.bind(runtime)
            span, token = binding.start(args, kwargs)
        except Exception:
            internal_error("starting a detector span")
            return func(*args, **kwargs)
        started = perf_counter()
        try:
            result = func(*args, **kwargs)
        except BaseException as error:
            binding.failed(span, token, error, perf_counter() - started)
            raise
        binding.succeeded(span, token, result, perf_counter() - started)
        return result

    return wrapper


def _async_wrapper(func: Callable[P, Awaitable[R]], plan: DetectorPlan) -> Callable[P, Awaitable[R]]:
    slot = _Slot(plan)
    state = current

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        runtime = state.runtime
        if runtime is None:
            return await func(*args, **kwargs)
        try:
            binding = slot.bind(runtime)
            span, token = binding.start(args, kwargs)
        except Exception:
            internal_error("starting a detector span")
            return await func(*args, **kwargs)
        started = perf_counter()
        try:
            result = await func(*args, **kwargs)
        except BaseException as error:
            binding.failed(span, token, error, perf_counter() - started)
            raise
        binding.succeeded(span, token, result, perf_counter() - started)
        return result

    return wrapper


F = TypeVar("F", bound=Callable[..., Any])


@overload
def instrument_detector(func: F, /) -> F: ...


@overload
def instrument_detector(
    detector_type: str | None = None,
    /,
    *,
    model: str | None = None,
    threat: ThreatExtractor | None = None,
    capture_arguments: bool | None = None,
    capture_result: bool | None = None,
) -> Callable[[F], F]: ...


def instrument_detector(
    func_or_type: Any = None,
    /,
    *,
    model: str | None = None,
    threat: ThreatExtractor | None = None,
    capture_arguments: bool | None = None,
    capture_result: bool | None = None,
) -> Any:
    """Trace and measure a detector: one span and the nethical_* metrics per call.

    Use it bare (the detector type is the function's name) or as
    ``@instrument_detector("prompt_injection", model="pi-v2", threat=extract)``. Works on functions,
    coroutine functions and methods; the wrapped function keeps its signature, docstring, return value
    and exceptions. ``model`` also records each call's duration as that model's inference time;
    ``threat`` reads a threat out of results the default reader does not understand.

    ``capture_arguments`` / ``capture_result`` put the call's arguments / result on the span. They are
    off by default (``privacy.capture_content`` in the config) because detectors see user prompts.
    """
    if callable(func_or_type) and not isinstance(func_or_type, str):
        return _instrument(func_or_type, None, model, threat, capture_arguments, capture_result)
    if func_or_type is not None and not isinstance(func_or_type, str):
        raise TypeError(f"instrument_detector: detector type must be a string, not {type(func_or_type).__name__}")
    detector_type: str | None = func_or_type

    def decorate(func: F) -> F:
        return _instrument(func, detector_type, model, threat, capture_arguments, capture_result)  # type: ignore[no-any-return]

    return decorate


def _instrument(
    func: Any,
    detector_type: str | None,
    model: str | None,
    threat: ThreatExtractor | None,
    capture_arguments: bool | None,
    capture_result: bool | None,
) -> Any:
    if isinstance(func, (staticmethod, classmethod)):
        inner = _instrument(func.__func__, detector_type, model, threat, capture_arguments, capture_result)
        return type(func)(inner)
    if not callable(func):
        raise TypeError(f"instrument_detector: cannot instrument {type(func).__name__!r}, it is not callable")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"instrument_detector: {func.__qualname__} is a generator; a detector must return its result")
    if model is not None and not isinstance(model, str):
        raise TypeError(f"instrument_detector: model must be a string, not {type(model).__name__}")
    if threat is not None and not callable(threat):
        raise TypeError("instrument_detector: threat must be a callable that reads a detector result")
    name = detector_type or getattr(func, "__name__", None) or type(func).__name__
    plan = DetectorPlan(func, name, model, threat, capture_arguments, capture_result)
    if inspect.iscoroutinefunction(func):
        wrapper: Any = _async_wrapper(func, plan)
    else:
        wrapper = _sync_wrapper(func, plan)
    wrapper.__nethical_detector__ = plan
    return wrapper
