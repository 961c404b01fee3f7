"""PagerDuty Events API v2: trigger an incident per alert, resolve it when the alert resolves.

The ``dedup_key`` is derived from the alert fingerprint only, so every notification of the same alert
(repeats, retries, restarts) lands on the same PagerDuty incident and the resolve closes exactly that
one. The summary is one line of at most 1024 characters; if the whole event would pass PagerDuty's
512 KB, the custom details are cut, and dropped as a last resort (as Alertmanager does).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from nethical_otel import semconv
from nethical_otel.alerting.channels import _summary
from nethical_otel.alerting.channels._base import Delivery, HttpChannel, HttpRequest, HttpResponse, Outcome
from nethical_otel.alerting.channels._http import by_status, excerpt, json_object
from nethical_otel.alerting.channels._settings import checked_url, invalid
from nethical_otel.alerting.channels._text import fit, one_line, safe_notification, valid_unicode
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, AlertStatus, Notification
from nethical_otel.config import ChannelSettings, Secret

ROUTING_KEY_LENGTH = 32
SUMMARY_LIMIT = 1024
EVENT_LIMIT_BYTES = 512_000  # "512 KB", read the strict way (as Alertmanager does)
DETAIL_LIMIT = 4096  # each custom_details string, once the event is too large
SHORT_FIELD_LIMIT = 255  # source, component, group, class: PagerDuty shows them as one-line tags
CLIENT = "nethical-otel"

SEVERITIES = {
    AlertSeverity.CRITICAL: "critical",
    AlertSeverity.WARNING: "warning",
    AlertSeverity.INFO: "info",
}


def dedup_key(alert: Alert) -> str:
    """The incident key of an alert: stable for the alert's name and labels, nothing else."""
    return f"{CLIENT}/{alert.fingerprint}"


class PagerDutyChannel(HttpChannel):
    kind = AlertChannel.PAGERDUTY

    def __init__(self, routing_key: Secret, *, events_url: str, source: str, timeout_seconds: float = 10.0) -> None:
        self._routing_key = routing_key
        self._events_url = events_url
        self._source = fit(one_line(source), SHORT_FIELD_LIMIT) or CLIENT
        self.timeout_seconds = timeout_seconds

    def render(self, notification: Notification) -> HttpRequest:
        body = json.dumps(self.event(notification), ensure_ascii=False).encode("utf-8")
        if len(body) > EVENT_LIMIT_BYTES:
            body = json.dumps(self.event(notification, detail_limit=DETAIL_LIMIT), ensure_ascii=False).encode("utf-8")
        if len(body) > EVENT_LIMIT_BYTES:
            body = json.dumps(self.event(notification, detail_limit=0), ensure_ascii=False).encode("utf-8")
        return HttpRequest(self._events_url, body, {"Content-Type": "application/json"})

    def event(self, notification: Notification, detail_limit: int | None = None) -> dict[str, Any]:
        """The event; ``detail_limit`` cuts each custom_details string, 0 replaces them with a note."""
        notification = safe_notification(notification)
        alert = notification.alert
        key = dedup_key(alert)
        if alert.status is AlertStatus.RESOLVED:
            # Resolve events carry nothing but these three fields.
            return {"routing_key": self._routing_key.reveal(), "dedup_key": key, "event_action": "resolve"}
        summary = _summary.headline(notification)
        note = _summary.occurrence_note(notification)
        if note:
            summary = f"{summary} ({note})"
        payload: dict[str, Any] = {
            "summary": fit(one_line(summary), SUMMARY_LIMIT),
            "source": self._source,
            "severity": SEVERITIES[alert.severity],
            "timestamp": _summary.iso8601(_summary.event_time(notification)),
            "group": fit(one_line(alert.name), SHORT_FIELD_LIMIT),
            "custom_details": self._details(notification, detail_limit),
        }
        for field, label in (("component", semconv.DETECTOR_TYPE), ("class", semconv.THREAT_CATEGORY)):
            value = one_line(alert.labels.get(label, "")).strip()
            if value:
                payload[field] = fit(value, SHORT_FIELD_LIMIT)
        return {
            "routing_key": self._routing_key.reveal(),
            "event_action": "trigger",
            "dedup_key": key,
            "payload": payload,
            "client": CLIENT,
        }

    @staticmethod
    def _details(notification: Notification, limit: int | None) -> dict[str, Any]:
        if limit == 0:
            return {"error": f"custom details removed: the event exceeded {EVENT_LIMIT_BYTES} bytes"}

        def cut(text: str) -> str:
            return fit(text, limit) if limit else valid_unicode(text)

        alert = notification.alert
        details: dict[str, Any] = {
            "message": cut(alert.message),
            "labels": {cut(name): cut(value) for name, value in alert.labels.items()},
            "annotations": {cut(name): cut(value) for name, value in alert.annotations.items()},
            "occurrences": notification.occurrences,
            "notification_reason": cut(notification.reason),
            "fingerprint": alert.fingerprint,
        }
        if notification.first_seen:
            details["first_seen"] = _summary.iso8601(notification.first_seen)
        if notification.last_seen:
            details["last_seen"] = _summary.iso8601(notification.last_seen)
        if alert.trace_id:
            details["trace_id"] = cut(alert.trace_id)
        if alert.span_id:
            details["span_id"] = cut(alert.span_id)
        return details

    def classify(self, response: HttpResponse) -> Delivery:
        if 200 <= response.status < 300:
            return Delivery(Outcome.SENT, status=response.status)
        answer = json_object(response.body)
        if answer is None:
            what = excerpt(response.body, (self._routing_key.reveal(),))
        else:
            # PagerDuty explains a 400 in "message" plus a list of "errors".
            errors = answer.get("errors")
            details = "; ".join(str(error) for error in errors) if isinstance(errors, list) else ""
            text = " ".join(part for part in (str(answer.get("message", "")), details) if part)
            what = excerpt(text, (self._routing_key.reveal(),))
        return by_status(response, what)


def from_settings(settings: ChannelSettings) -> PagerDutyChannel | None:
    """The PagerDuty channel, or None without ``alerting.pagerduty_api_key``."""
    key = settings.pagerduty_api_key
    if not key:
        return None
    value = key.reveal()
    if len(value) != ROUTING_KEY_LENGTH or not value.isascii() or not value.isalnum():
        # Only the length is told: the key itself is a secret.
        invalid(
            "pagerduty_api_key",
            f"must be a {ROUTING_KEY_LENGTH}-character Events API v2 routing key of letters and digits "
            f"(got {len(value)} characters)",
        )
    checked_url("pagerduty_events_url", settings.pagerduty_events_url, carries_secret=True)
    source = settings.pagerduty_source if settings.pagerduty_source is not None else socket.gethostname()
    if not one_line(source).strip():
        invalid("pagerduty_source", "must not be empty")
    return PagerDutyChannel(
        key, events_url=settings.pagerduty_events_url, source=source, timeout_seconds=settings.request_timeout_seconds
    )
