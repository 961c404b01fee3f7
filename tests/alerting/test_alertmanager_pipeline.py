"""End to end into a real Alertmanager: a detector's threat and a metric rule fire there, and the rule resolves."""

from __future__ import annotations

import pytest

from nethical_otel import instrument_detector
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.alerting import settings
from tests._support.alertmanager import AlertmanagerServer
from tests._support.net import wait_until
from tests._support.pipeline import capture

pytestmark = pytest.mark.integration

RULES = {"evaluation_interval_seconds": 0.1, "window_seconds": 1.0, "for_seconds": 0.2}
ROUTE = {"receiver": "null", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}


def active(am: AlertmanagerServer, alertname: str) -> list[dict]:
    return [
        alert
        for alert in am.alerts()
        if alert["labels"]["alertname"] == alertname and alert["status"]["state"] == "active"
    ]


def test_threats_and_rules_reach_alertmanager_and_a_resolved_rule_leaves_it(alertmanager_binary, tmp_path):
    config = {"route": ROUTE, "receivers": [{"name": "null"}]}
    with AlertmanagerServer(alertmanager_binary, tmp_path, config) as am:
        alerting = settings(tmp_path, alertmanager_url=am.url, rules=RULES)
        with capture({"alerting": alerting}):

            @instrument_detector("prompt_injection")
            def detect() -> dict:
                return {"threat_level": "CRITICAL", "category": "exfiltration", "confidence": 0.99}

            detect()
            wait_until(lambda: bool(active(am, "NethicalThreatDetected")), 15, "the threat in Alertmanager")
            (threat,) = active(am, "NethicalThreatDetected")
            assert threat["labels"] | {"alertname": "", "severity": ""} == {
                "alertname": "",
                "severity": "",
                "detector_type": "prompt_injection",
                "threat_level": "CRITICAL",
                "threat_category": "exfiltration",
            }
            assert threat["labels"]["severity"] == "critical"
            metrics = get_prometheus_metrics()
            metrics.set_detector_health("pi", False)
            wait_until(lambda: bool(active(am, "NethicalDetectorDown")), 15, "the rule alert in Alertmanager")
            metrics.set_detector_health("pi", True)
            wait_until(lambda: not active(am, "NethicalDetectorDown"), 15, "the resolve to reach Alertmanager")
