"""Threat levels are recorded as the caller gave them (after the safety cleaning only), through the decorator
and the original API, in metrics, spans and alert labels; comparisons with a level ignore case."""

from __future__ import annotations

import re

import pytest

from nethical_otel import instrument_detector
from nethical_otel.alerting import get_alert_manager
from nethical_otel.alerting.engine.spool import Spool
from nethical_otel.alerting.intake.queue import RawThreat
from nethical_otel.config import ConfigError, load_config
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.alerting import settings, settled, wait_for_history
from tests._support.exposition import samples
from tests._support.pipeline import attrs, capture


def _threat_series(exposition: str) -> dict[tuple[str, str, str], float]:
    return {
        (labels["detector_type"], labels["threat_level"], labels["threat_category"]): value
        for (name, key), value in samples(exposition).items()
        if name == "nethical_threats_detected_total"
        for labels in (dict(key),)
    }


def test_the_decorator_records_the_level_as_the_detector_spelled_it_in_metrics_spans_and_alerts(tmp_path):
    with capture({"alerting": settings(tmp_path)}) as captured:

        @instrument_detector("pi")
        def detect(level: str) -> dict[str, object]:
            return {"threat_level": level, "category": "jailbreak"}

        for level in ("high", "High", "HIGH", " critical\u202e\n"):
            detect(level)
        manager = get_alert_manager()
        assert manager is not None
        history = wait_for_history(manager, lambda h: settled(h) and len(h) == 4)
        exposition = captured.exposition()
        span_levels = [span.attributes["nethical.threat.level"] for span in captured.spans()]

    assert _threat_series(exposition) == {
        ("pi", "high", "jailbreak"): 1,
        ("pi", "High", "jailbreak"): 1,
        ("pi", "HIGH", "jailbreak"): 1,
        ("pi", "critical", "jailbreak"): 1,  # trimmed, the bidi override and the newline removed
    }
    assert span_levels == ["high", "High", "HIGH", "critical"]
    # HIGH is at the default threat_alert_level whatever its case; "critical" passes the CRITICAL rule.
    by_level = {entry["labels"]["threat_level"]: entry for entry in history}
    assert set(by_level) == {"high", "High", "HIGH", "critical"}
    assert by_level["critical"]["severity"] == "critical"
    assert {by_level[level]["severity"] for level in ("high", "High", "HIGH")} == {"warning"}
    assert by_level["high"]["title"] == "high threat detected by pi"


def test_non_threat_levels_and_thresholds_ignore_case(tmp_path):
    with capture({"alerting": settings(tmp_path, threat_alert_level="HIGH")}) as captured:

        @instrument_detector("pi")
        def detect(level: str) -> dict[str, object]:
            return {"threat_level": level}

        for level in ("none", "Safe", "ok", "medium", "Critical"):
            detect(level)
        manager = get_alert_manager()
        assert manager is not None
        history = wait_for_history(manager, settled)
        points = captured.metrics()["nethical_threats_detected"]

    assert points == {
        attrs(detector_type="pi", threat_level="medium", threat_category="unknown"): 1,
        attrs(detector_type="pi", threat_level="Critical", threat_category="unknown"): 1,
    }
    assert [entry["labels"]["threat_level"] for entry in history] == ["Critical"]


def test_the_original_api_records_the_level_as_given(captured):
    metrics = get_prometheus_metrics()
    metrics.track_threat("pi", "high", "jailbreak")
    metrics.track_threat("pi", "HIGH", "jailbreak")
    metrics.track_threat("pi", "Medium\x00", "pii", 0.4)

    assert _threat_series(captured.exposition()) == {
        ("pi", "high", "jailbreak"): 1,
        ("pi", "HIGH", "jailbreak"): 1,
        ("pi", "Medium", "pii"): 1,
    }


@pytest.mark.parametrize(("case", "expected"), [("upper", "HIGH"), ("lower", "high")])
def test_the_opt_in_normalisation_recases_levels_through_both_apis(case, expected):
    with capture({"prometheus": {"threat_level_case": case}, "alerting": {"enabled": False}}) as captured:
        instrument_detector("pi")(lambda prompt: {"threat_level": "High", "category": "jailbreak"})("x")
        get_prometheus_metrics().track_threat("manual", "High", "jailbreak")
        series = _threat_series(captured.exposition())
        (span,) = captured.spans()
    assert series == {("pi", expected, "jailbreak"): 1, ("manual", expected, "jailbreak"): 1}
    assert span.attributes["nethical.threat.level"] == expected


def test_normalisation_is_off_by_default_and_an_unknown_case_is_a_config_error():
    assert load_config({}).prometheus.threat_level_case == "as_given"
    problem = "prometheus.threat_level_case: 'title' is not one of as_given, upper, lower"
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_config({"prometheus": {"threat_level_case": "title"}})


def test_the_alert_stores_fallback_treats_a_critical_level_as_critical_in_any_case(tmp_path):
    spool = Spool(capacity=10, path=str(tmp_path / "alerts.sqlite3"), critical_level="CRITICAL")
    for level, critical in (("critical", True), ("Critical", True), ("CRITICAL", True), ("high", False)):
        assert spool.is_critical(RawThreat("pi", level, "jailbreak", None, 0, 0, 0.0)) is critical, level
