"""Console: one line per notification on stderr (or stdout), the embedded default channel.

Used when no other channel is configured (``console: auto``), or always (``console: on``). Each
notification is a single line: every control character and line break in untrusted text becomes a space,
so an alert title cannot forge further log lines. The stream is looked up at each write, so redirected
or captured ``sys.stderr`` works.
"""

from __future__ import annotations

import sys
from typing import TextIO

import aiohttp

from nethical_otel._text import Destination, clean
from nethical_otel.alerting.channels import _summary
from nethical_otel.alerting.channels._base import Channel, Delivery, Outcome
from nethical_otel.alerting.channels._text import safe_notification
from nethical_otel.alerting.model import AlertChannel, Notification
from nethical_otel.config import AlertingConfig, ChannelSettings

PREFIX = "[nethical-otel alert]"
TITLE_LIMIT = 300
MESSAGE_LIMIT = 1000
FACTS_LIMIT = 1000


def _terminal(text: str, limit: int) -> str:
    return clean(text, Destination.TERMINAL, limit)


def line(notification: Notification) -> str:
    """The printed line (without the newline): every part made safe for a terminal."""
    notification = safe_notification(notification)
    parts = [PREFIX, _terminal(_summary.headline(notification), TITLE_LIMIT + 30)]
    message = notification.alert.message
    if message:
        parts.append("—")
        parts.append(_terminal(message, MESSAGE_LIMIT))
    facts = ", ".join(f"{name}={value}" for name, value in _summary.facts(notification))
    if facts:
        parts.append(f"({_terminal(facts, FACTS_LIMIT)})")
    note = _summary.occurrence_note(notification)
    if note:
        parts.append(f"[{note}]")
    return " ".join(parts)


class ConsoleChannel(Channel):
    kind = AlertChannel.CONSOLE
    delivers_resolved = True

    def __init__(self, stream: str = "stderr") -> None:
        if stream not in ("stderr", "stdout"):
            raise ValueError("stream must be 'stderr' or 'stdout'")
        self._stream = stream

    def _target(self) -> TextIO:
        return sys.stderr if self._stream == "stderr" else sys.stdout

    async def deliver(self, notification: Notification, session: aiohttp.ClientSession) -> Delivery:
        target = self._target()
        try:
            target.write(line(notification) + "\n")
            target.flush()
        except (OSError, ValueError) as error:  # a closed or broken stream: try again later
            return Delivery(Outcome.RETRY, f"cannot write to {self._stream}: {type(error).__name__}")
        return Delivery(Outcome.SENT)


def from_settings(settings: ChannelSettings) -> ConsoleChannel | None:
    """The console channel when ``console`` is ``on`` (``auto`` is decided by :func:`build_channels`)."""
    if not isinstance(settings, AlertingConfig) or settings.console != "on":
        return None
    return ConsoleChannel(settings.console_stream)


def default(settings: ChannelSettings) -> ConsoleChannel | None:
    """The console channel as the fallback when nothing else is configured (unless ``console: off``)."""
    if isinstance(settings, AlertingConfig):
        return None if settings.console == "off" else ConsoleChannel(settings.console_stream)
    return ConsoleChannel()
