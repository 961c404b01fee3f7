"""Generic webhook: an Alertmanager-v4-like JSON body, signed the Standard Webhooks way.

Body (``Content-Type: application/json``)::

    {"version": "4", "receiver": "nethical-otel", "status": "firing" | "resolved",
     "groupKey": <fingerprint>, "truncatedAlerts": 0, "notification_reason": "first notification",
     "occurrences": 38, "firstSeen": <RFC 3339>, "lastSeen": <RFC 3339>,
     "groupLabels": {"alertname": ...}, "commonLabels": {...}, "commonAnnotations": {...}, "externalURL": "",
     "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
                 "title", "message", "traceId", "spanId"}]}

``commonLabels`` carry ``alertname`` and ``severity`` as Alertmanager's do. Headers (Standard Webhooks 1.0):
``webhook-id`` (the notification's idempotency key: the same on every retry, so receivers deduplicate on
it), ``webhook-timestamp`` (Unix seconds of this attempt) and, when ``webhook_secret`` is set,
``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`` over the exact bytes sent.
The key is derived from the secret exactly as the specification's official library does: an optional
``whsec_`` prefix removed, the rest base64-decoded (padding optional). A secret the library would refuse
is refused at configuration time; receivers verify with ``standardwebhooks.Webhook(secret).verify(...)``.

The body stays within ``webhook_max_body_bytes``: past it, label and annotation values and the message are
cut further and further (an annotation ``truncated`` says so).

Answers: 2xx delivered; 429 and 503 honour ``Retry-After``; 5xx and 429 without it are retried with
backoff; 3xx (never followed) and other 4xx are permanent (410: the receiver asked to stop).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from nethical_otel._version import __version__
from nethical_otel.alerting.channels import _summary
from nethical_otel.alerting.channels._base import Delivery, HttpChannel, HttpRequest, HttpResponse, Outcome
from nethical_otel.alerting.channels._http import by_status, retry_after
from nethical_otel.alerting.channels._settings import checked_url, invalid
from nethical_otel.alerting.channels._text import fit, safe_notification
from nethical_otel.alerting.model import AlertChannel, Notification
from nethical_otel.config import ChannelSettings, Secret

RECEIVER = "nethical-otel"
USER_AGENT = f"nethical-otel/{__version__}"
SECRET_PREFIX = "whsec_"
MAX_BODY_BYTES = 256 * 1024
_CUTS = (None, 4096, 1024, 256, 64, 16)  # value lengths tried, longest first


def signing_key(secret: Secret) -> bytes:
    """The HMAC key a Standard Webhooks receiver derives from the same secret (as the official library)."""
    value = secret.reveal().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(value + "==")  # the library's own padding rule: any padding is accepted
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        invalid(
            "webhook_secret",
            "must be base64 as Standard Webhooks defines it: whsec_ followed by the base64 of 24 to 64 random bytes",
        )
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def payload(notification: Notification, limit: int | None = None) -> dict[str, Any]:
    """The JSON document sent (before encoding); ``limit`` cuts every label, annotation and text value."""
    notification = safe_notification(notification)
    alert = notification.alert

    def cut(values: Mapping[str, str]) -> dict[str, str]:
        if not limit:
            return dict(values)
        key_limit = 4 * limit if limit <= 64 else None  # at the last cuts, keys too
        return {fit(key, key_limit) if key_limit else key: fit(value, limit) for key, value in values.items()}

    labels = cut({"alertname": alert.name, "severity": alert.severity.value, **alert.labels})
    annotations = cut(alert.annotations) if limit is None or limit > _CUTS[-1] else {}
    if limit:
        annotations["truncated"] = f"values cut to {limit} characters to fit webhook_max_body_bytes"
    entry = {
        "status": alert.status.value,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _summary.iso8601(alert.starts_at or notification.first_seen or time.time()),
        "endsAt": _summary.iso8601(alert.ends_at) if alert.ends_at else "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": alert.fingerprint,
        "title": fit(alert.title, limit) if limit else alert.title,
        "message": fit(alert.message, 4 * limit) if limit else alert.message,
        "traceId": alert.trace_id or "",
        "spanId": alert.span_id or "",
    }
    return {
        "version": "4",
        "receiver": RECEIVER,
        "status": alert.status.value,
        "groupKey": alert.fingerprint,
        "truncatedAlerts": 0,
        "notification_reason": notification.reason,
        "occurrences": notification.occurrences,
        "firstSeen": _summary.iso8601(notification.first_seen) if notification.first_seen else None,
        "lastSeen": _summary.iso8601(notification.last_seen) if notification.last_seen else None,
        "groupLabels": {"alertname": alert.name},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "",
        "alerts": [entry],
    }


class WebhookChannel(HttpChannel):
    kind = AlertChannel.WEBHOOK
    delivers_resolved = True  # Alertmanager's send_resolved default for webhooks

    def __init__(
        self,
        url: Secret,
        secret: Secret | None = None,
        *,
        timeout_seconds: float = 10.0,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._url = url
        self._key = signing_key(secret) if secret else None
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes

    def body(self, notification: Notification) -> bytes:
        """The encoded document, within ``max_body_bytes`` (values cut further until it fits)."""
        for limit in _CUTS:
            body = json.dumps(payload(notification, limit), ensure_ascii=False, separators=(",", ":")).encode()
            if len(body) <= self.max_body_bytes:
                break
        return body

    def render(self, notification: Notification) -> HttpRequest:
        body = self.body(notification)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": notification.idempotency_key,
            "webhook-timestamp": str(timestamp),
        }
        if self._key is not None:
            headers["webhook-signature"] = signature(self._key, notification.idempotency_key, timestamp, body)
        return HttpRequest(self._url.reveal(), body, headers)

    def classify(self, response: HttpResponse) -> Delivery:
        status = response.status
        if 200 <= status < 300:
            return Delivery(Outcome.SENT, status=status)
        if status == 503:
            delay = retry_after(response.headers)
            if delay is not None:
                return Delivery(Outcome.RETRY_AFTER, "HTTP 503", retry_after=delay, status=status)
        if 300 <= status < 400:
            return Delivery(Outcome.FAILED, f"HTTP {status}: redirects are not followed", status=status)
        if status == 410:
            return Delivery(Outcome.FAILED, "HTTP 410: the receiver asked to stop (endpoint gone)", status=status)
        return by_status(response, "")


def from_settings(settings: ChannelSettings) -> WebhookChannel | None:
    url = settings.webhook_url
    if not url:
        return None
    # Plain http is allowed: receivers inside a cluster often have no TLS, and the body carries no secret.
    checked_url("webhook_url", url.reveal(), carries_secret=False)
    return WebhookChannel(
        url,
        settings.webhook_secret,
        timeout_seconds=settings.request_timeout_seconds,
        max_body_bytes=settings.webhook_max_body_bytes,
    )
