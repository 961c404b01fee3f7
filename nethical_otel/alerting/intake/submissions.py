"""Alerts handed in by code (the ``send_alert`` API, ``send(Alert)``, rules): made bounded and safe to keep,
then queued as a :class:`~.queue.Submission` that the caller may wait on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nethical_otel.alerting.intake import values
from nethical_otel.alerting.intake.queue import Submission
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity

ACCEPT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class AlertReceipt:
    """What ``send_alert`` returns once the alert is accepted: its history id and fingerprint."""

    id: int
    fingerprint: str


def api_alert(
    title: object, message: object, severity: AlertSeverity | str, metadata: Mapping[str, Any] | None, lasts: float
) -> tuple[Alert, dict[str, Any]]:
    """The original API's alert: identified by its title and severity, the metadata as annotations. The
    original API has no resolve: such an alert is an event, over ``lasts`` seconds after it happened."""
    level = AlertSeverity(severity.lower() if isinstance(severity, str) else severity)
    clean_metadata = values.metadata(metadata)
    clean_title = values.text(title, values.TITLE_LIMIT)
    now = time.time()
    alert = Alert(
        name=clean_title,
        title=clean_title,
        message=values.text(message, values.MESSAGE_LIMIT),
        severity=level,
        labels={"severity": level.value},
        annotations={key: "" if value is None else str(value) for key, value in clean_metadata.items()},
        starts_at=now,
        ends_at=now + lasts,
    )
    return alert, clean_metadata


def awaited(alert: Alert, channels: Iterable[AlertChannel | str], metadata: dict[str, Any], source: str) -> Submission:
    """A submission whose future resolves to the alert's history id once it is recorded."""
    wanted = tuple(dict.fromkeys(AlertChannel(channel) for channel in channels))
    return Submission(values.clean_alert(alert), wanted, metadata, concurrent.futures.Future(), source)


async def accepted(submission: Submission | None) -> AlertReceipt | None:
    """Once ``submission`` is recorded: its receipt (None for an alert that was not taken)."""
    if submission is None or submission.future is None:
        return None
    return AlertReceipt(await asyncio.wrap_future(submission.future), submission.alert.fingerprint)


def accepted_sync(submission: Submission | None) -> AlertReceipt | None:
    """:func:`accepted`, blocking."""
    if submission is None or submission.future is None:
        return None
    return AlertReceipt(submission.future.result(ACCEPT_TIMEOUT_SECONDS), submission.alert.fingerprint)
