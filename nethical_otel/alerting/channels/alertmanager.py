"""Prometheus Alertmanager: ``POST /api/v2/alerts``, the way Alertmanager expects its clients to behave.

Alertmanager keeps active alerts in memory only and resolves an alert whose ``endsAt`` passes, so a client
re-sends every firing alert (``resend_firing_every``) with an ``endsAt`` well beyond the next re-send, and
sends ``endsAt`` = the resolve time when the alert resolves. Labels are the alert's labels plus
``alertname`` and ``severity``; names are made valid Prometheus label names, empty values are left out
(Alertmanager treats them as absent), and values are cut so an attacker-sized string cannot bloat it.
A name that is not a valid label name (non-ASCII, too long) becomes a distinct, readable one: its ASCII
part plus a hash of the original (``key_1f2e3d4c``), and the value keeps the original name in front
(``имя: Alice``), so no two keys collapse into one.

High availability: an Alertmanager cluster shares its notification log and silences by gossip, not its
alerts, so a client posts every alert to every peer (as Prometheus does). Each peer is tried up to
``alertmanager_peer_attempts`` times within one delivery; the notification is delivered once one peer
accepts it, and each peer's answer is reported (``nethical_alert_peer_up``). A peer that was down gets the
firing alerts again with the next re-send.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from nethical_otel.alerting.channels import _summary
from nethical_otel.alerting.channels._base import Delivery, HttpChannel, HttpRequest, HttpResponse, Outcome
from nethical_otel.alerting.channels._http import by_status, excerpt, json_object, url_secrets
from nethical_otel.alerting.channels._settings import checked_url, invalid
from nethical_otel.alerting.channels._text import fit, safe_notification
from nethical_otel.alerting.model import AlertChannel, AlertStatus, Notification
from nethical_otel.config import ChannelSettings

API_PATH = "/api/v2/alerts"
RESEND_SECONDS = 60.0
# endsAt of a firing alert: four re-send periods ahead, as Prometheus does, so one or two lost re-sends
# never make Alertmanager resolve an alert that is still firing.
FIRING_VALIDITY_SECONDS = 4 * RESEND_SECONDS
LABEL_VALUE_LIMIT = 1024
ANNOTATION_LIMIT = 16_384
NAME_LIMIT = 128

_INVALID_NAME_CHARACTERS = re.compile(r"[^a-zA-Z0-9_]+")
_VALID_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def label_name(name: str) -> str:
    """A valid Prometheus label name (``[a-zA-Z_][a-zA-Z0-9_]*``) for any string: the name itself when it is
    one, else its ASCII part (accents folded) plus 8 hex characters of its hash, distinct for distinct names."""
    if _VALID_NAME.fullmatch(name) and len(name) <= NAME_LIMIT:
        return name
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem = _INVALID_NAME_CHARACTERS.sub("_", folded).strip("_")[:40].strip("_") or "key"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{'_' if stem[0].isdigit() else ''}{stem}_{digest}"


class AlertmanagerChannel(HttpChannel):
    kind = AlertChannel.ALERTMANAGER
    resend_firing_every = RESEND_SECONDS

    def __init__(
        self, peers: Sequence[str], *, timeout_seconds: float = 10.0, attempts: int = 3, backoff_seconds: float = 0.5
    ) -> None:
        if not peers:
            raise ValueError("an Alertmanager channel needs at least one peer")
        self._urls = tuple(_api_url(peer) for peer in peers)
        self.peers = tuple(peer_name(peer) for peer in peers)
        self.timeout_seconds = timeout_seconds
        # A single Alertmanager is retried by the dispatcher like any channel; a cluster's peers each here.
        self.attempts = attempts if len(self._urls) > 1 else 1
        self.backoff_seconds = backoff_seconds

    @property
    def attempt_limit(self) -> float:
        """Every peer is tried at once, each up to ``attempts`` times with its backoff between."""
        pauses = sum(self.backoff_seconds * 2.0**attempt for attempt in range(self.attempts - 1))
        return self.attempts * self.timeout_seconds + pauses

    def render(self, notification: Notification) -> HttpRequest:
        """The request to the first peer (every peer gets the same body)."""
        return self.requests(notification)[0]

    def requests(self, notification: Notification) -> tuple[HttpRequest, ...]:
        """One request per peer, with the same body."""
        body = json.dumps([self.alert(notification)], ensure_ascii=False).encode("utf-8")
        return tuple(HttpRequest(url, body, {"Content-Type": "application/json"}) for url in self._urls)

    async def deliver(self, notification: Notification, session: aiohttp.ClientSession) -> Delivery:
        answers = await asyncio.gather(*(self._post(request, session) for request in self.requests(notification)))
        peers = tuple((name, answer.outcome is Outcome.SENT) for name, answer in zip(self.peers, answers, strict=True))
        if len(answers) == 1:
            return dataclasses.replace(answers[0], peers=peers)
        accepted = [answer for answer in answers if answer.outcome is Outcome.SENT]
        if accepted:
            return dataclasses.replace(accepted[0], peers=peers)
        reasons = "; ".join(f"{name}: {answer.reason}" for name, answer in zip(self.peers, answers, strict=True))
        reason = f"no peer accepted ({reasons})"
        if all(answer.outcome is Outcome.FAILED for answer in answers):
            return Delivery(Outcome.FAILED, reason, status=answers[0].status, peers=peers)
        delays = [answer.retry_after for answer in answers if answer.retry_after is not None]
        if len(delays) == len(answers):  # every peer asked to wait: the shortest wait
            return Delivery(Outcome.RETRY_AFTER, reason, retry_after=min(delays), peers=peers)
        return Delivery(Outcome.RETRY, reason, peers=peers)

    async def _post(self, request: HttpRequest, session: aiohttp.ClientSession) -> Delivery:
        """One peer: tried again after a temporary failure, up to ``attempts`` times."""
        answer = await self.send(request, session)
        for attempt in range(1, self.attempts):
            if answer.outcome in (Outcome.SENT, Outcome.FAILED):
                break
            pause = self.backoff_seconds * 2.0 ** (attempt - 1)
            await asyncio.sleep(min(pause, answer.retry_after) if answer.retry_after is not None else pause)
            answer = await self.send(request, session)
        return answer

    def alert(self, notification: Notification, now: float | None = None) -> dict[str, Any]:
        """One entry of the postable alerts list (Alertmanager API v2)."""
        notification = safe_notification(notification)
        alert = notification.alert
        now = time.time() if now is None else now
        starts_at = alert.starts_at or now
        if alert.status is AlertStatus.RESOLVED:
            ends_at = max(alert.ends_at or now, starts_at)  # Alertmanager refuses an end before the start
        else:
            ends_at = max(now, starts_at) + FIRING_VALIDITY_SECONDS
        labels = _label_set(sorted(alert.labels.items()), LABEL_VALUE_LIMIT)
        labels["alertname"] = fit(alert.name, LABEL_VALUE_LIMIT)
        labels["severity"] = alert.severity.value
        extra = [("summary", alert.title), ("description", alert.message)]
        if notification.occurrences > 1:
            extra.append(("occurrences", str(notification.occurrences)))
        if alert.trace_id:
            extra.append(("trace_id", alert.trace_id))
        if alert.span_id:
            extra.append(("span_id", alert.span_id))
        return {
            "labels": labels,
            # The alert's own annotations (a rule's summary, say) win over the generic ones.
            "annotations": _label_set([*extra, *sorted(alert.annotations.items())], ANNOTATION_LIMIT),
            "startsAt": _summary.iso8601(starts_at),
            "endsAt": _summary.iso8601(ends_at),
        }

    def classify(self, response: HttpResponse) -> Delivery:
        if 200 <= response.status < 300:
            return Delivery(Outcome.SENT, status=response.status)
        answer = json_object(response.body)
        message = answer.get("message") if answer is not None else None
        text = message if isinstance(message, str) else response.body
        return by_status(response, excerpt(text, [secret for url in self._urls for secret in url_secrets(url)]))


def _label_set(pairs: Iterable[tuple[str, str]], value_limit: int) -> dict[str, str]:
    """Valid names, non-empty values cut to ``value_limit``; a later pair wins over an earlier one."""
    result: dict[str, str] = {}
    for name, raw in pairs:
        key = label_name(name)
        value = fit(raw if key == name else f"{name}: {raw}", value_limit) if raw else ""
        if value:
            result[key] = value
    return result


def _api_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + API_PATH, parts.query, ""))


def peer_name(url: str) -> str:
    """How a peer is named in metrics and reasons: ``scheme://host:port``, never a path, query or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{host}:{port}"


def from_settings(settings: ChannelSettings) -> AlertmanagerChannel | None:
    """The Alertmanager channel, or None without ``alerting.alertmanager_url``."""
    if not settings.alertmanager_url:
        return None
    peers = [
        checked_url(
            f"alertmanager_url[{index}]" if len(settings.alertmanager_url) > 1 else "alertmanager_url",
            url,
            carries_secret=False,
        )
        for index, url in enumerate(settings.alertmanager_url)
    ]
    if len(set(map(peer_name, peers))) < len(peers):
        invalid("alertmanager_url", "names the same peer twice")
    return AlertmanagerChannel(
        peers, timeout_seconds=settings.request_timeout_seconds, attempts=settings.alertmanager_peer_attempts
    )
