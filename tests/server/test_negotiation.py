"""The exposition format follows the scraper's Accept header strictly, and nothing of it is echoed back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nethical_otel.server._negotiation import OPENMETRICS, TEXT, choose_format

# What real scrapers send.
PROMETHEUS_2 = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3 = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,"
    "text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
)
PROMETHEUS_TEXT_ONLY = "text/plain;version=0.0.4;q=1,*/*;q=0.1"  # scrape_protocols: [PrometheusText0.0.4]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (PROMETHEUS_2, OPENMETRICS),
        (PROMETHEUS_3, OPENMETRICS),
        (PROMETHEUS_TEXT_ONLY, TEXT),
        ("application/openmetrics-text", OPENMETRICS),
        ('Application/OpenMetrics-Text; Version="1.0.0"', OPENMETRICS),
        ("", TEXT),
        ("*/*", TEXT),
        ("text/html,application/xhtml+xml", TEXT),  # a browser
        ("text/plain;q=0.9,application/openmetrics-text;q=0.8", TEXT),
        ("text/plain;q=0.5,application/openmetrics-text;q=0.5", TEXT),  # a tie goes to the first listed
    ],
)
def test_scrapers_get_the_format_they_prefer(accept, chosen):
    assert choose_format(accept) == chosen


@pytest.mark.parametrize(
    "accept",
    [
        "application/openmetrics-text; version=x",  # was a 500 with an ERROR traceback
        "application/openmetrics-text; version=1.1.<b>hi</b>",  # was echoed into the Content-Type
        "application/openmetrics-text; version=2.0.0",
        "application/openmetrics-text; q=2",
        "application/openmetrics-text; q=0",
        "application/openmetrics-text; q=0.5.5",
        "application/openmetrics-text; junk",
        "application/openmetrics-text;version=1.0.0;q=nan",
        ";;;,,,==;q=",
    ],
)
def test_anything_unusable_falls_back_to_the_text_format(accept):
    assert choose_format(accept) == TEXT


@given(st.text())
def test_the_content_type_is_always_one_of_two_constants(accept):
    _, content_type = choose_format(accept)
    assert content_type in (TEXT[1], OPENMETRICS[1])
