"""Rule texts: the Python rendering writes what Prometheus' humanize functions write (values taken from
Prometheus' own template tests, template/template_test.go), and the Go template names the same fields."""

from __future__ import annotations

import pytest

from nethical_otel.alerting.rules.templates import Context, humanize_duration, humanize_percentage, render, to_go


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (60, "1m 0s"),
        (3600, "1h 0m 0s"),
        (86400, "1d 0h 0m 0s"),
        (86400 + 3600, "1d 1h 0m 0s"),
        (-(86400 * 2 + 3600 * 3 + 60 * 4 + 5), "-2d 3h 4m 5s"),
        (899.99, "14m 59s"),
        (0.1, "100ms"),
        (0.0001, "100us"),
        (0.12345, "123.5ms"),
        (60.1, "1m 0s"),
        (1.2345, "1.234s"),
        (12.345, "12.35s"),
    ],
)
def test_durations_read_like_humanize_duration(seconds, text):
    assert humanize_duration(seconds) == text


@pytest.mark.parametrize(("ratio", "text"), [(0, "0%"), (0.1, "10%"), (0.123456789, "12.35%"), (1, "100%")])
def test_percentages_read_like_humanize_percentage(ratio, text):
    assert humanize_percentage(ratio) == text


def test_one_template_renders_in_python_and_as_a_prometheus_template():
    template = "{subject} fails {value:percent} of requests (over {threshold:percent} in {window}, for {for})"
    context = Context("detector_type", 0.05, 300.0, 60.0)
    assert render(template, context, "pi", 0.1) == "pi fails 10% of requests (over 5% in 5 minutes, for 1 minute)"
    assert to_go(template, context) == (
        "{{ $labels.detector_type }} fails {{ $value | humanizePercentage }} of requests"
        " (over 5% in 5 minutes, for 1 minute)"
    )
