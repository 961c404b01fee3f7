"""The Nethical distro: ``OTEL_PYTHON_DISTRO=nethical``.

It only makes the choice of configurator explicit: with the Nethical distro selected, the Nethical
configurator runs even when another package (``opentelemetry-distro``) registers a configurator too.
Unlike the stock distro it sets no exporter defaults: the nethical config decides what is exported.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]  # untyped module
from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR

from nethical_otel.auto._selection import CONFIGURATOR_NAME


class NethicalDistro(BaseDistro):  # type: ignore[misc]  # the base class module is untyped
    """Selects the Nethical configurator unless ``OTEL_PYTHON_CONFIGURATOR`` names another one."""

    def _configure(self, **kwargs: Any) -> None:
        # opentelemetry-instrument reads the variable right after the distro is configured.
        os.environ.setdefault(OTEL_PYTHON_CONFIGURATOR, CONFIGURATOR_NAME)
