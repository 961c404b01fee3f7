"""Channels: one module per destination, named after its :class:`AlertChannel` value, each exposing
``from_settings(settings) -> Channel | None``. Adding a channel is adding an enum member and its module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from nethical_otel.alerting.channels import console
from nethical_otel.alerting.channels._base import (
    Channel,
    Delivery,
    HttpChannel,
    HttpRequest,
    HttpResponse,
    Outcome,
)
from nethical_otel.alerting.model import AlertChannel
from nethical_otel.config import ChannelSettings

Factory = Callable[[ChannelSettings], "Channel | None"]


def _factory(kind: AlertChannel) -> Factory:
    module = importlib.import_module(f"{__name__}.{kind.value}")
    return cast(Factory, module.from_settings)


# In the enum's order (the order their settings are documented); the console comes last: it is the fallback.
_FACTORIES = tuple(_factory(kind) for kind in AlertChannel)


def build_channels(settings: ChannelSettings) -> dict[AlertChannel, Channel]:
    """The channels ``settings`` configure, by kind; the console channel when nothing else is configured.

    Raises :class:`~nethical_otel.config.ConfigError` naming the key of an invalid setting.
    """
    built: dict[AlertChannel, Channel] = {}
    for from_settings in _FACTORIES:
        channel = from_settings(settings)
        if channel is not None:
            built[channel.kind] = channel
    if not built:
        fallback = console.default(settings)
        if fallback is not None:
            built[fallback.kind] = fallback
    return built


__all__ = [
    "Channel",
    "Delivery",
    "HttpChannel",
    "HttpRequest",
    "HttpResponse",
    "Outcome",
    "build_channels",
]
