"""A PagerDuty Events API v2 emulator (alerting-channels reference §4).

``POST /v2/enqueue``: events over 512 KB, bodies that are not a JSON object, and events breaking the
documented rules (routing_key of 32 characters; event_action trigger/acknowledge/resolve; dedup_key at
most 255 and required to acknowledge or resolve; for a trigger a payload with summary of 1..1024,
source and a severity of critical/error/warning/info, an ISO 8601 timestamp if given) get 400
``invalid event`` with the reasons in ``errors``. Accepted events get 202 with their dedup_key (a new
32-hex one for a trigger without). A sliding window per routing key (120 events a minute by default)
answers 429.

Incidents follow PagerDuty's state machine per (routing_key, dedup_key): a trigger opens one, or joins
the open one; acknowledge and resolve move the open one; after a resolve the next trigger opens a new
incident; acknowledge/resolve with nothing open are accepted (202) but recorded as dropped.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests._support.emulators._service import ServiceEmulator, SlidingWindow
from tests._support.recorder import Recorded, Reply

EVENT_LIMIT_BYTES = 512_000
ROUTING_KEY_LENGTH = 32
DEDUP_KEY_LIMIT = 255
SUMMARY_LIMIT = 1024
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


@dataclass
class Incident:
    number: int
    routing_key: str
    dedup_key: str
    status: str = "triggered"  # -> acknowledged -> resolved
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status != "resolved"


@dataclass
class LoggedEvent:
    event: dict[str, Any]
    outcome: str  # "opened", "deduplicated", "acknowledged", "resolved", "dropped"
    incident: int | None


def _json(status: int, body: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _invalid(*errors: str) -> Reply:
    return _json(400, {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)})


class PagerDutyEmulator(ServiceEmulator):
    def __init__(self, *, limit_per_minute: int = 120, window_seconds: float = 60.0) -> None:
        super().__init__()
        self.limit_per_minute = limit_per_minute
        self.window_seconds = window_seconds
        self._windows: dict[str, SlidingWindow] = {}
        self.incidents: list[Incident] = []
        self.log: list[LoggedEvent] = []

    @property
    def events_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    def incidents_for(self, dedup_key: str) -> list[Incident]:
        with self.lock:
            return [incident for incident in self.incidents if incident.dedup_key == dedup_key]

    def serve(self, request: Recorded, now: float) -> Reply:
        if request.method != "POST" or request.path != "/v2/enqueue":
            return _json(404, {"status": "not found", "message": "Not Found"})
        if len(request.body) > EVENT_LIMIT_BYTES:
            return _invalid(f"Event object is too large (maximum is {EVENT_LIMIT_BYTES} bytes)")
        try:
            event = json.loads(request.body)
        except ValueError:
            return _invalid("Event object is not valid JSON")
        if not isinstance(event, dict):
            return _invalid("Event object must be a JSON object")
        errors = self._errors(event)
        if errors:
            return _invalid(*errors)
        window = self._windows.setdefault(
            event["routing_key"], SlidingWindow(self.limit_per_minute, self.window_seconds)
        )
        if window.take(now) > 0:
            return _json(
                429,
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly. Please retry later.",
                },
            )
        return _json(202, {"status": "success", "message": "Event processed", "dedup_key": self._apply(event)})

    @staticmethod
    def _errors(event: dict[str, Any]) -> list[str]:
        errors = []
        routing_key = event.get("routing_key")
        if not isinstance(routing_key, str) or len(routing_key) != ROUTING_KEY_LENGTH:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        action = event.get("event_action")
        if action not in ACTIONS:
            errors.append("'event_action' is missing or invalid (must be trigger, acknowledge or resolve)")
        dedup_key = event.get("dedup_key")
        if dedup_key is not None and (not isinstance(dedup_key, str) or not 0 < len(dedup_key) <= DEDUP_KEY_LIMIT):
            errors.append(f"'dedup_key' must be a string of 1 to {DEDUP_KEY_LIMIT} characters")
        if action in ("acknowledge", "resolve"):
            if dedup_key is None:
                errors.append(f"'dedup_key' is required to {action}")
            extra = set(event) - {"routing_key", "dedup_key", "event_action"}
            if extra:
                errors.append(f"unexpected fields for {action}: {', '.join(sorted(extra))}")
        if action == "trigger":
            errors += PagerDutyEmulator._payload_errors(event.get("payload"))
        return errors

    @staticmethod
    def _payload_errors(payload: Any) -> list[str]:
        if not isinstance(payload, dict):
            return ["'payload' is missing or not an object"]
        errors = []
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors.append("'payload.summary' is missing or blank")
        elif len(summary) > SUMMARY_LIMIT:
            errors.append(f"'payload.summary' is too long (maximum is {SUMMARY_LIMIT} characters)")
        source = payload.get("source")
        if not isinstance(source, str) or not source.strip():
            errors.append("'payload.source' is missing or blank")
        if payload.get("severity") not in SEVERITIES:
            errors.append("'payload.severity' must be one of critical, error, warning, info")
        if "timestamp" in payload:
            try:
                datetime.fromisoformat(str(payload["timestamp"]).replace("Z", "+00:00"))
            except ValueError:
                errors.append("'payload.timestamp' is not an ISO 8601 timestamp")
        if "custom_details" in payload and not isinstance(payload["custom_details"], (dict, str)):
            errors.append("'payload.custom_details' must be an object")
        for key in ("component", "group", "class"):
            if key in payload and not isinstance(payload[key], str):
                errors.append(f"'payload.{key}' must be a string")
        return errors

    def _apply(self, event: dict[str, Any]) -> str:
        routing_key, action = event["routing_key"], event["event_action"]
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        current = next(
            (i for i in self.incidents if i.routing_key == routing_key and i.dedup_key == dedup_key and i.open), None
        )
        if action == "trigger":
            if current is None:
                current = Incident(len(self.incidents) + 1, routing_key, dedup_key)
                self.incidents.append(current)
                outcome = "opened"
            else:
                outcome = "deduplicated"
        elif current is None or (action == "acknowledge" and current.status != "triggered"):
            self.log.append(LoggedEvent(event, "dropped", None))
            return dedup_key
        else:
            current.status = outcome = "acknowledged" if action == "acknowledge" else "resolved"
        current.events.append(event)
        self.log.append(LoggedEvent(event, outcome, current.number))
        return dedup_key
