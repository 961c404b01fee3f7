"""The one small interface every channel implements, and the shared HTTP plumbing.

A channel turns a :class:`Notification` into a delivery attempt and says what happened:
:class:`Delivery` ``SENT``, ``RETRY`` (with backoff), ``RETRY_AFTER`` (the service named a delay), or
``FAILED`` (permanent, with the reason). Retrying, rate limiting and persistence are not a channel's
business; the dispatcher does them from the outcome.

HTTP channels implement :meth:`HttpChannel.render` and :meth:`HttpChannel.classify`; the request is
sent by :meth:`HttpChannel.deliver`. Channels that are not HTTP (SMTP) implement :meth:`Channel.deliver`.
"""

from __future__ import annotations

import abc
import asyncio
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import aiohttp

from nethical_otel.alerting.model import AlertChannel, Notification


class Outcome(str, enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    RETRY_AFTER = "retry_after"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    reason: str = ""  # never contains a secret
    retry_after: float | None = None  # seconds, with RETRY_AFTER
    status: int | None = None  # HTTP status or SMTP reply code, when there was one
    # Per peer of a cluster posted to (Alertmanager HA): its name (scheme://host:port) and whether it accepted.
    peers: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class HttpRequest:
    # The URL (Slack, Discord, webhooks), the body (PagerDuty's routing key) and headers can carry secrets.
    url: str = field(repr=False)
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    method: str = "POST"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Channel(abc.ABC):
    kind: ClassVar[AlertChannel]
    # Whether the channel is told when an alert resolves (PagerDuty resolve, Alertmanager endsAt, ...).
    delivers_resolved: ClassVar[bool] = True
    # Alertmanager forgets a firing alert that is not re-sent: such channels get firing alerts again
    # every this many seconds until they resolve. None: send once.
    resend_firing_every: ClassVar[float | None] = None

    @abc.abstractmethod
    async def deliver(self, notification: Notification, session: aiohttp.ClientSession) -> Delivery:
        """Attempt one delivery. Must not raise for delivery failures: return ``RETRY`` or ``FAILED``."""

    @property
    def attempt_limit(self) -> float:
        """The longest one :meth:`deliver` may take by the channel's own timeouts; the dispatcher cuts it
        off a little later."""
        return 30.0

    def __repr__(self) -> str:  # secrets live in channel settings: never show them
        return f"<{type(self).__name__}>"


class HttpChannel(Channel):
    timeout_seconds: float = 10.0

    @abc.abstractmethod
    def render(self, notification: Notification) -> HttpRequest:
        """The exact request to send."""

    @abc.abstractmethod
    def classify(self, response: HttpResponse) -> Delivery:
        """What the service's answer means."""

    @property
    def attempt_limit(self) -> float:
        return self.timeout_seconds

    async def deliver(self, notification: Notification, session: aiohttp.ClientSession) -> Delivery:
        return await self.send(self.render(notification), session)

    async def send(self, request: HttpRequest, session: aiohttp.ClientSession) -> Delivery:
        """Send ``request`` and classify the answer; a timeout or connection error is a ``RETRY``."""
        try:
            async with session.request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                allow_redirects=False,
            ) as response:
                body = await response.content.read(64 * 1024)
                return self.classify(HttpResponse(response.status, dict(response.headers), body))
        except asyncio.TimeoutError:
            return Delivery(Outcome.RETRY, f"no answer within {self.timeout_seconds:g}s")
        except aiohttp.ClientError as error:
            # The message of a connection error can contain the URL, and the URL can be the secret.
            return Delivery(Outcome.RETRY, f"connection failed: {type(error).__name__}")
