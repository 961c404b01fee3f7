"""Versions: nethical_otel's own, and the opentelemetry-instrumentation release the entry points target.

The configurator and distro hook into ``opentelemetry-instrument`` (and the SDK's configurator base
class, which is private API), so a different opentelemetry-instrumentation series gets a warning.
"""

from __future__ import annotations

import logging

from nethical_otel._version import __version__

SUPPORTED_INSTRUMENTATION_SERIES = "0.66b"

_logger = logging.getLogger("nethical_otel.auto")


def check_instrumentation_version(version: object) -> bool:
    """Warn when ``opentelemetry-instrument`` reports a series these entry points were not built for."""
    if version is None or str(version).startswith(SUPPORTED_INSTRUMENTATION_SERIES):
        return True
    _logger.warning(
        "nethical_otel %s was built for opentelemetry-instrumentation %sN; this is %s: if telemetry is "
        "missing, install the supported series",
        __version__,
        SUPPORTED_INSTRUMENTATION_SERIES,
        version,
    )
    return False


__all__ = ["SUPPORTED_INSTRUMENTATION_SERIES", "__version__", "check_instrumentation_version"]
