"""Replace detectors with their ``@instrument_detector`` wrappers in place, and put the originals back.

A target's module may be imported before or after instrumentation: an imported module is patched at
once, any other when it is first imported (wrapt's post-import hooks, as the OpenTelemetry contrib
instrumentations use). Restoring puts back the very objects that were there, so ``uninstrument()``
leaves ``module.function is original`` true again.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import wrapt

from nethical_otel._internal import internal_error
from nethical_otel.auto._targets import CLASS_METHOD, Problem, Target
from nethical_otel.decorator import instrument_detector

_logger = logging.getLogger("nethical_otel.auto")
_INHERITED = object()  # the patched attribute was inherited, not set on the class itself


class ResolveError(LookupError):
    """The target's name does not lead to something that can be instrumented."""


@dataclass(frozen=True)
class Patch:
    target: Target
    owner: Any  # the module or class whose attribute was replaced
    attribute: str
    original: Any  # the attribute as the owner held it (a function, staticmethod, ...) or _INHERITED
    wrapped: Any  # what the wrapper calls: the original, or for an inherited one the base class's
    wrapper: Any

    def restore(self) -> None:
        if self.owner.__dict__.get(self.attribute) is not self.wrapper:
            _logger.warning(
                "%s was replaced by someone else after nethical_otel instrumented it; leaving the replacement",
                self.target.name,
            )
            return
        if self.original is _INHERITED:
            delattr(self.owner, self.attribute)
        else:
            setattr(self.owner, self.attribute, self.original)


class DetectorPatcher:
    """Applies targets as their modules become available; :meth:`restore_all` undoes every patch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self.patches: list[Patch] = []
        self.problems: list[Problem] = []

    def add(self, target: Target) -> None:
        if target.module == "__main__":
            self._report(
                target,
                "the script run as __main__ cannot be patched before it runs; move the detector "
                "into a module it imports",
            )
            return
        module = sys.modules.get(target.module)
        if module is None:
            reason = _unimportable(target.module)
            if reason is not None:
                self._report(target, reason)
                return
        generation = self._generation

        def on_import(imported: ModuleType) -> None:
            if generation == self._generation:  # not uninstrumented since the hook was registered
                self._apply(target, imported, generation)

        # Fires at once for an imported module, otherwise right after the module's first import.
        wrapt.register_post_import_hook(on_import, target.module)

    def restore_all(self) -> None:
        with self._lock:
            self._generation += 1
            patches, self.patches = self.patches, []
            self.problems = []
        for patch in reversed(patches):
            patch.restore()

    def _apply(self, target: Target, module: ModuleType, generation: int) -> None:
        # A failure here must never fail the application's import of its own module.
        try:
            found = _resolve(module, target)
            # A method inherited from a class we patched too gets its own wrapper around the base's original.
            raw = next((p.wrapped for p in self.patches if p.wrapper is found.raw), found.raw)
            if _already_instrumented(raw):
                _logger.info("%s is already instrumented with @instrument_detector; left as it is", target.name)
                return
            decorate = instrument_detector(target.detector_type or found.default_type, model=target.model)
            wrapper = decorate(raw)
        except (ResolveError, TypeError) as error:
            self._report(target, str(error).removeprefix("instrument_detector: "))
            return
        except Exception:
            internal_error(f"instrumenting detector {target.name}")
            return
        with self._lock:
            if generation != self._generation:
                return
            setattr(found.owner, found.attribute, wrapper)
            self.patches.append(Patch(target, found.owner, found.attribute, found.original, raw, wrapper))
        _logger.info("instrumented detector %s (from %s)", target.name, target.source)

    def _report(self, target: Target, reason: str) -> None:
        self.report(Problem(target.name, target.source, reason))

    def report(self, problem: Problem) -> None:
        with self._lock:
            self.problems.append(problem)
        _logger.error("%s; the application runs on without it", problem)


def _unimportable(module: str) -> str | None:
    """Why ``module`` cannot be imported, without importing it (its parent packages are imported)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as error:
        return f"module {module!r} cannot be found ({error})"
    except Exception as error:  # a parent package failed to import: that is the application's bug to see
        return f"importing a parent package of {module!r} failed: {type(error).__name__}: {error}"
    return None if spec is not None else f"module {module!r} cannot be found"


@dataclass(frozen=True)
class _Resolved:
    owner: Any  # the module or class to set the wrapper on
    attribute: str
    raw: Any  # what attribute lookup finds: a function, staticmethod, classmethod, ...
    original: Any  # what to put back: ``raw``, or _INHERITED when the owner did not hold it itself
    default_type: str | None  # None: the decorator's default, the function's name


def _resolve(module: ModuleType, target: Target) -> _Resolved:
    *path, attribute = target.qualname.split(".")
    owner: Any = module
    walked = module.__name__
    for part in path:
        if not hasattr(owner, part):
            raise ResolveError(f"{walked} has no attribute {part!r}")
        owner = getattr(owner, part)
        walked = f"{walked}.{part}"
    if not isinstance(owner, (ModuleType, type)):
        raise ResolveError(f"{walked} is a {type(owner).__name__}, not a class or module")
    raw, original = _static_attribute(owner, attribute, walked)
    if not inspect.isclass(raw):
        return _Resolved(owner, attribute, raw, original, None)
    cls, walked = raw, f"{walked}.{attribute}"
    if not hasattr(cls, CLASS_METHOD):
        raise ResolveError(f"class {walked} has no {CLASS_METHOD}() method; name the method: {target.name}.<method>")
    raw, original = _static_attribute(cls, CLASS_METHOD, walked)
    return _Resolved(cls, CLASS_METHOD, raw, original, cls.__name__)


def _static_attribute(owner: Any, attribute: str, walked: str) -> tuple[Any, Any]:
    """The attribute without running descriptors, and what restoring it means."""
    if attribute in owner.__dict__:
        raw = owner.__dict__[attribute]
        return raw, raw
    if isinstance(owner, type):
        for klass in owner.__mro__[1:]:
            if attribute in klass.__dict__:
                return klass.__dict__[attribute], _INHERITED
    raise ResolveError(f"{walked} has no attribute {attribute!r}")


def _already_instrumented(raw: Any) -> bool:
    func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
    return hasattr(func, "__nethical_detector__")
