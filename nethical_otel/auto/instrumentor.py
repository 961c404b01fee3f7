"""The detector instrumentor: ``@instrument_detector`` without touching the detectors' code.

``opentelemetry-instrument`` loads it from the ``opentelemetry_instrumentor`` entry point
``nethical_detectors``; it can also be used directly::

    NethicalDetectorInstrumentor().instrument(detectors=["app.detectors:PromptInjection.detect"])

It wraps every target named in ``integration.detectors``, ``NETHICAL_OTEL_DETECTORS`` and the
``nethical.detectors`` entry points (see :mod:`nethical_otel.auto._targets`) with the decorator, so
each call produces exactly the spans and metrics the decorator produces. When no nethical pipeline is
running (another configurator set up the SDK), it adopts the global providers first.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from nethical_otel.auto._patches import DetectorPatcher, Patch
from nethical_otel.auto._selection import warn_about_selection_once
from nethical_otel.auto._targets import Problem, collect_targets
from nethical_otel.auto.package import _instruments
from nethical_otel.config import Config, ConfigError, ConfigSource, load_config
from nethical_otel.pipeline import Telemetry, active_telemetry, adopt_global_providers, sdk_disabled

_logger = logging.getLogger("nethical_otel.auto")


class NethicalDetectorInstrumentor(BaseInstrumentor):  # type: ignore[misc]  # the base class module is untyped
    """Instruments detectors by name; ``uninstrument()`` puts the original objects back.

    ``instrument()`` accepts ``detectors`` (more target strings) and ``config`` (a config source
    for the target list when no pipeline is running; by default ``NETHICAL_OTEL_CONFIG``).
    """

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton: __init__ runs on every NethicalDetectorInstrumentor() call.
        if not hasattr(self, "_patcher"):
            self._patcher = DetectorPatcher()
            self._adopted: Telemetry | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    @property
    def patches(self) -> list[Patch]:
        """The detectors currently replaced by their instrumented wrappers."""
        return list(self._patcher.patches)

    @property
    def problems(self) -> list[Problem]:
        """Targets that could not be instrumented (each was also logged as an error)."""
        return list(self._patcher.problems)

    def _instrument(self, **kwargs: Any) -> None:
        if sdk_disabled():
            _logger.info("OTEL_SDK_DISABLED=true: detectors are left as they are")
            return
        warn_about_selection_once()
        extra: Iterable[str] = kwargs.get("detectors", ())
        try:
            config = self._pipeline_config(kwargs.get("config"))
        except ConfigError as error:
            _logger.error("%s\ndetectors are not instrumented until the configuration is fixed", error)
            return
        targets, problems = collect_targets(config, os.environ, extra)
        for problem in problems:
            self._patcher.report(problem)
        for target in targets:
            self._patcher.add(target)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._patcher.restore_all()
        adopted, self._adopted = self._adopted, None
        if adopted is not None:
            adopted.shutdown()

    def _pipeline_config(self, source: ConfigSource) -> Config:
        """The running pipeline's config; adopting the global providers when nothing runs yet."""
        telemetry = active_telemetry()
        if telemetry is None or telemetry.is_shut_down:
            telemetry = self._adopted = adopt_global_providers(source)
            _logger.info("no nethical_otel pipeline was configured: recording through the global providers")
            return telemetry.config
        return telemetry.config if source is None else load_config(source)
