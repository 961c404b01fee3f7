"""Which detectors to instrument without code changes, and where each name came from.

A target is written ``"pkg.module:Class.method"``, ``"pkg.module:function"`` or ``"pkg.module:Class"``
(a class means its ``detect`` method), optionally followed by ``type=<detector type>`` and
``model=<model name>``, as ``@instrument_detector(type, model=...)`` would take them:
``"detectors.pi:PromptInjection.detect type=prompt_injection model=pi-v2"``.

Targets come from the config key ``integration.detectors``, the environment variable
``NETHICAL_OTEL_DETECTORS`` (comma-separated) and the entry-point group ``nethical.detectors`` (whose
entry-point name is the detector type).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points

from nethical_otel.config import Config

DETECTORS_ENV_VAR = "NETHICAL_OTEL_DETECTORS"
ENTRY_POINT_GROUP = "nethical.detectors"
CLASS_METHOD = "detect"  # what a target naming a class instruments

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPTIONS = ("type", "model")


@dataclass(frozen=True)
class Target:
    """One detector to instrument: where it lives and how the decorator would be called for it."""

    module: str
    qualname: str
    detector_type: str | None
    model: str | None
    source: str  # where the name was given, for messages: "integration.detectors[0]", ...

    @property
    def name(self) -> str:
        return f"{self.module}:{self.qualname}"


@dataclass(frozen=True)
class Problem:
    """A target that could not be instrumented; the application runs on without it."""

    target: str
    source: str
    reason: str

    def __str__(self) -> str:
        return f"cannot instrument detector {self.target!r} (from {self.source}): {self.reason}"


class TargetError(ValueError):
    """A target string that does not follow the ``pkg.module:qualname [type=...] [model=...]`` form."""


def parse_target(text: str, source: str) -> Target:
    """Parse one target string; :class:`TargetError` says what is wrong with it."""
    if not text.strip():
        raise TargetError("the name is empty")
    name, *options = text.split()
    module, sep, qualname = name.partition(":")
    if not sep or not _DOTTED.fullmatch(module) or not _DOTTED.fullmatch(qualname):
        raise TargetError('expected "pkg.module:Class.method" or "pkg.module:function"')
    values: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key not in _OPTIONS or not value:
            raise TargetError(f"unknown option {option!r} (expected type=<detector type> or model=<model name>)")
        values[key] = value
    return Target(module, qualname, values.get("type"), values.get("model"), source)


def collect_targets(
    config: Config, environ: Mapping[str, str] = os.environ, extra: Iterable[str] = ()
) -> tuple[list[Target], list[Problem]]:
    """Every target named in ``extra``, the config, the environment and the entry points, first one wins."""
    found: list[Target] = []
    problems: list[Problem] = []

    def add(text: str, source: str) -> None:
        try:
            found.append(parse_target(text, source))
        except TargetError as error:
            problems.append(Problem(text, source, str(error)))

    for text in extra:
        add(text, "instrument(detectors=...)")
    for index, text in enumerate(config.integration.detectors):
        add(text, f"integration.detectors[{index}]")
    for text in environ.get(DETECTORS_ENV_VAR, "").split(","):
        if text.strip():
            add(text.strip(), DETECTORS_ENV_VAR)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {ENTRY_POINT_GROUP}:{entry_point.name}"
        if entry_point.attr and _DOTTED.fullmatch(entry_point.module) and _DOTTED.fullmatch(entry_point.attr):
            found.append(Target(entry_point.module, entry_point.attr, entry_point.name, None, source))
        else:
            problems.append(Problem(entry_point.value, source, 'expected "pkg.module:Class" or "pkg.module:function"'))
    unique: dict[str, Target] = {}
    for target in found:
        unique.setdefault(target.name, target)
    return list(unique.values()), problems
