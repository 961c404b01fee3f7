"""A storm of 10,000 HIGH-threat detector calls: notifications stay within the limits and every occurrence is
accounted for in the history. (What the storm costs the detectors is measured by ``python -m benchmarks``.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from nethical_otel import instrument_detector
from nethical_otel.alerting import get_alert_manager
from tests._support.alerting import settings, settled, statuses, wait_for_history
from tests._support.pipeline import attrs, capture
from tests._support.recorder import RecordingServer

pytestmark = pytest.mark.integration

CALLS = 10_000
CATEGORIES = ("jailbreak", "exfiltration", "toxicity", "pii", "injection")


def storm_detector() -> Callable[[int], dict[str, Any]]:
    @instrument_detector("prompt_injection")
    def detect(index: int) -> dict[str, Any]:
        return {"threat_level": "HIGH", "category": CATEGORIES[index % len(CATEGORIES)], "confidence": 0.9}

    return detect


def storm(detect: Callable[[int], Any], calls: int = CALLS) -> None:
    for index in range(calls):
        detect(index)


def test_a_storm_of_ten_thousand_threats_is_accounted_for_within_the_limits(tmp_path):
    limit = 10
    with RecordingServer() as receiver:
        alerting = settings(tmp_path, webhook_url=f"{receiver.url}/hook", max_alerts_per_minute=limit)
        with capture({"alerting": alerting}) as cap:
            storm(storm_detector())
            manager = get_alert_manager()
            assert manager is not None
            history = wait_for_history(
                manager, lambda h: sum(e["occurrences"] for e in h) == CALLS and settled(h), limit=CALLS
            )
            exposition_counts = cap.metrics()["nethical_alerts"]
            notifications = receiver.received("/hook")
        # At shutdown each group reports what it counted since its first notification ("and N more").
        final = receiver.received("/hook")[len(notifications) :]
    # One notification per fingerprint (5) during the storm, one follow-up each at shutdown: 10 in all,
    # within the 10 per minute of the channel.
    assert len(notifications) == len(CATEGORIES) and len(notifications) + len(final) <= limit
    assert {n.json()["commonLabels"]["threat_category"] for n in notifications} == set(CATEGORIES)
    reported = sum(n.json()["occurrences"] for n in notifications + final)
    assert reported == CALLS  # every occurrence was told, as the first of a group or in a count
    # Every occurrence is in the history, each counted as sent (the first of its group) or grouped.
    per_status: Counter[str] = Counter()
    per_category: Counter[str] = Counter()
    for entry in history:
        per_status[statuses(entry)["webhook"]] += entry["occurrences"]
        per_category[entry["labels"]["threat_category"]] += entry["occurrences"]
    assert per_category == {category: CALLS // len(CATEGORIES) for category in CATEGORIES}
    assert set(per_status) <= {"sent", "grouped"} and sum(per_status.values()) == CALLS
    grouped = exposition_counts[attrs(channel="webhook", severity="warning", outcome="grouped")]
    sent = exposition_counts[attrs(channel="webhook", severity="warning", outcome="sent")]
    assert (sent, grouped + sent) == (len(CATEGORIES), CALLS)
