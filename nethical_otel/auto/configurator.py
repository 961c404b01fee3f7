"""The Nethical configurator: ``opentelemetry-instrument`` builds nethical_otel's pipeline.

It does what ``nethical_otel.configure()`` does in code, from the file named by ``NETHICAL_OTEL_CONFIG``
(defaults without it) and the standard ``OTEL_*`` variables: the metrics server or OTLP export, the
resource (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``), and the alerting and profiling parts
when the config switches them on. ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` add exporters
on top (see :mod:`nethical_otel.auto._exporters`). Its providers become the global ones, so every
other instrumentation that ``opentelemetry-instrument`` loads records into the same pipeline.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry.sdk._configuration import _BaseConfigurator

from nethical_otel.auto._exporters import exporters_from_environment
from nethical_otel.auto._selection import warn_about_selection_once
from nethical_otel.auto.version import check_instrumentation_version
from nethical_otel.config import ConfigError, load_config
from nethical_otel.pipeline import configure, sdk_disabled

_logger = logging.getLogger("nethical_otel.auto")


class NethicalConfigurator(_BaseConfigurator):
    """Selected with ``OTEL_PYTHON_CONFIGURATOR=nethical`` (the Nethical distro sets it)."""

    def _configure(self, **kwargs: Any) -> None:
        check_instrumentation_version(kwargs.get("auto_instrumentation_version"))
        warn_about_selection_once()
        try:
            config = load_config(None)
        except ConfigError as error:
            # Refusing the config must not stop the application: it runs without telemetry.
            _logger.error("%s\nnethical_otel records nothing until the configuration is fixed", error)
            return
        if sdk_disabled():
            configure(config)  # records and exports nothing, and says so
            return
        extra = exporters_from_environment(config, os.environ)
        configure(
            extra.config,
            additional_metric_readers=extra.metric_readers,
            additional_span_processors=extra.span_processors,
        )
