"""Profiling (in progress)."""

from __future__ import annotations

from nethical_otel.config import Config
from nethical_otel.pipeline import Component


def build_component(config: Config) -> Component | None:
    return None
