"""Which distro and configurator ``opentelemetry-instrument`` runs when several are installed.

It runs the one named by ``OTEL_PYTHON_DISTRO`` / ``OTEL_PYTHON_CONFIGURATOR``, otherwise the first one
``importlib.metadata`` finds, which follows the order of directories on ``sys.path`` and of files within
them: nothing a user can rely on. With another distro installed (``opentelemetry-distro``), the outcome
is only deterministic when those variables are set, so we say so once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib.metadata import entry_points

from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR, OTEL_PYTHON_DISTRO

DISTRO_GROUP = "opentelemetry_distro"
CONFIGURATOR_GROUP = "opentelemetry_configurator"
DISTRO_NAME = "nethical"
CONFIGURATOR_NAME = "nethical"

_logger = logging.getLogger("nethical_otel.auto")
_warned = False


def selection_warnings(environ: Mapping[str, str] = os.environ) -> list[str]:
    """What is left to the discovery order: a distro or configurator choice among several installed."""
    warnings = []
    for group, variable, ours in (
        (DISTRO_GROUP, OTEL_PYTHON_DISTRO, DISTRO_NAME),
        (CONFIGURATOR_GROUP, OTEL_PYTHON_CONFIGURATOR, CONFIGURATOR_NAME),
    ):
        names = sorted({entry_point.name for entry_point in entry_points(group=group)})
        if len(names) > 1 and not environ.get(variable):
            warnings.append(
                f"several {group} entry points are installed ({', '.join(names)}) and {variable} is not set, "
                f"so opentelemetry-instrument used whichever it found first; set {variable}={ours} for "
                "nethical_otel's pipeline (see docs/zero-code.md)"
            )
    return warnings


def warn_about_selection_once() -> None:
    global _warned  # noqa: PLW0603
    if _warned:
        return
    _warned = True
    for warning in selection_warnings():
        _logger.warning("%s", warning)
