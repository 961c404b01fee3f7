"""An attacker who names a new threat category per request: notifications stay bounded, nothing goes
uncounted, and a genuine alert from another detector still gets through at once.

Real pipeline (``configure()`` + ``@instrument_detector``), real HTTP receivers on 127.0.0.1. The figures
are printed (``pytest -s``) for the docs.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from nethical_otel import instrument_detector
from nethical_otel.alerting import get_alert_manager
from tests._support.alerting import settings, settled, statuses, wait_for_history
from tests._support.pipeline import attrs, capture
from tests._support.recorder import RecordingServer

pytestmark = pytest.mark.integration


def attacker(level: str):
    @instrument_detector("prompt_injection")
    def detect(category: str) -> dict[str, Any]:
        return {"threat_level": level, "category": category, "confidence": 0.9}

    return detect


@pytest.mark.parametrize(("level", "severity"), [("CRITICAL", "critical"), ("HIGH", "warning")])
def test_300_threats_with_distinct_categories_make_at_most_20_notifications_per_channel_and_all_are_counted(
    tmp_path, level, severity
):
    calls = 300
    with RecordingServer() as webhook, RecordingServer() as alertmanager:
        alerting = settings(
            tmp_path,
            webhook_url=f"{webhook.url}/hook",
            alertmanager_url=alertmanager.url,
            max_alerts_per_minute=10,
        )
        with capture({"alerting": alerting}) as cap:
            detect = attacker(level)
            for index in range(calls):
                detect(f"attack-{index}")
            manager = get_alert_manager()
            assert manager is not None
            history = wait_for_history(manager, lambda h: sum(e["occurrences"] for e in h) == calls and settled(h))
            time.sleep(1.0)  # anything else would have been sent by now
            counts = cap.metrics()["nethical_alerts"]
            sent_so_far = {
                "webhook": len(webhook.received("/hook")),
                "alertmanager": len(alertmanager.received("/api/v2/alerts")),
            }
        # (At shutdown, counted groups report their counts as follow-ups, within the same bounds.)
        hooks, posts = webhook.received("/hook"), alertmanager.received("/api/v2/alerts")
    print(f"\n{calls} {level} threats, distinct categories: {len(hooks)} webhook, {len(posts)} Alertmanager posts")
    assert 1 <= len(hooks) <= 20 and 1 <= len(posts) <= 20
    # The history accounts for every occurrence, on every channel: sent, grouped, rate-limited or overflow.
    per_channel: dict[str, Counter[str]] = {"webhook": Counter(), "alertmanager": Counter()}
    for entry in history:
        for channel, status in statuses(entry).items():
            per_channel[channel][status] += entry["occurrences"]
    for channel, outcome in per_channel.items():
        assert sum(outcome.values()) == calls, (channel, outcome)
        assert outcome["overflow"] >= calls - 20 - 1, outcome
        # ... and so does nethical_alerts_total: the same counts, each notification once as sent.
        metric = {o: counts.get(attrs(channel=channel, severity=severity, outcome=o), 0) for o in outcome}
        assert metric == {**outcome, "sent": sent_so_far[channel]}, (metric, outcome)
    overflow = [e for e in history if e["labels"].get("alert_group") == "overflow"]
    assert overflow and overflow[-1]["annotations"]["further_groups"] == str(calls - 20)
    assert "further categories" in overflow[-1]["title"]
    # The groups one detector keeps are bounded by the cap: 20 categories and one overflow group.
    assert len({e["fingerprint"] for e in history}) == 21


def test_a_genuine_alert_from_another_detector_arrives_within_5_s_of_a_2000_category_flood(tmp_path):
    with RecordingServer() as webhook:
        alerting = settings(tmp_path, webhook_url=f"{webhook.url}/hook", max_alerts_per_minute=10)
        with capture({"alerting": alerting}):
            flood = attacker("HIGH")
            for index in range(2000):
                flood(f"attack-{index}")

            @instrument_detector("deepfake")
            def genuine(_: str) -> dict[str, Any]:
                return {"threat_level": "HIGH", "category": "face_swap", "confidence": 0.97}

            started = time.time()
            genuine("frame")

            def arrived() -> list[Any]:
                return [
                    r for r in webhook.received("/hook") if r.json()["commonLabels"].get("detector_type") == "deepfake"
                ]

            deadline = started + 10.0
            while not arrived() and time.time() < deadline:
                time.sleep(0.02)
            found = arrived()
        assert found, "the genuine alert never arrived"
        delay = found[0].received_at - started
    print(f"\ngenuine alert after a 2,000-category flood: arrived in {delay:.2f}s")
    assert delay < 5.0
