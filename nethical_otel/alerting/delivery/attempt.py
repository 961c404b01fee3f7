"""One delivery attempt: the channel asked, within a hard time limit, never raising into the worker."""

from __future__ import annotations

import asyncio
import logging
import traceback

import aiohttp
from opentelemetry.trace import Link, SpanContext, TraceFlags

from nethical_otel.alerting.channels import Channel, Delivery, Outcome
from nethical_otel.alerting.model import Notification

_logger = logging.getLogger("nethical_otel.alerting")

# Beyond the channel's own limit: a channel that does not return by then is treated as a timeout.
_GRACE_SECONDS = 5.0


def hard_timeout(channel: Channel) -> float:
    return channel.attempt_limit + _GRACE_SECONDS


async def attempt(
    channel: Channel, notification: Notification, session: aiohttp.ClientSession, limit: float
) -> Delivery:
    """What one attempt to deliver ``notification`` on ``channel`` came to."""
    try:
        return await asyncio.wait_for(channel.deliver(notification, session), limit)
    except asyncio.TimeoutError:
        return Delivery(Outcome.RETRY, f"no answer within {limit:g}s")
    except asyncio.CancelledError:
        raise
    except Exception as error:
        # The channel broke its contract (it must return, not raise). Its message may quote a secret URL,
        # so only the type and the frames are logged.
        frames = "".join(traceback.format_tb(error.__traceback__))
        _logger.error("channel %s raised %s:\n%s", channel.kind.value, type(error).__name__, frames)
        return Delivery(Outcome.RETRY, f"channel error: {type(error).__name__}")


def origin(notification: Notification) -> list[Link]:
    """A link to the span that raised the alert (a detector call), when there is one."""
    alert = notification.alert
    if not alert.trace_id or not alert.span_id:
        return []
    try:
        context = SpanContext(
            int(alert.trace_id, 16), int(alert.span_id, 16), is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )
    except ValueError:
        return []
    return [Link(context)] if context.is_valid else []
