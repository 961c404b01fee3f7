"""Channels: one module per destination, each exposing ``from_settings(settings) -> Channel | None``."""

from __future__ import annotations

from nethical_otel.alerting.channels import alertmanager, console, discord, email, pagerduty, slack, webhook
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

# In the order their settings are documented; the console comes last because it is the fallback.
_MODULES = (slack, email, pagerduty, discord, webhook, alertmanager, console)


def build_channels(settings: ChannelSettings) -> dict[AlertChannel, Channel]:
    """The channels ``settings`` configure, by kind; the console channel when nothing else is configured.

    Raises :class:`~nethical_otel.config.ConfigError` naming the key of an invalid setting.
    """
    built: dict[AlertChannel, Channel] = {}
    for module in _MODULES:
        channel = module.from_settings(settings)
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
