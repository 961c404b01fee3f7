"""Attacker-shaped strings, and the checks every output they reach must pass.

The strings: arbitrary code points (lone and reversed surrogates, noncharacters, private use), the
controls that break lines or steer terminals (C0, C1 with the 8-bit CSI U+009B), bidi overrides and
isolates, very long strings, and arbitrary bytes as Python reads them from a non-UTF-8 source
(``surrogateescape``). The checks use parsers nobody here wrote: prometheus_client's text and
OpenMetrics parsers, ``promtool check metrics``, and the OTLP protobuf encoders.
"""

from __future__ import annotations

import logging
import subprocess
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SPECIAL = ["\ud800", "\udc00", "\ud83d", "\x00", "\x1b", "\x07", "\x9b", "\x85", "\u2028", "\r", "\n", "\t"]
SPECIAL += [*BIDI, "\ufffe", "\uffff", "\U0010ffff", '"', "\\", "{", "}", "=", ",", "#", " ", "a", "é", "😀"]

hostile_text = st.one_of(
    st.text(st.characters(codec=None, categories=None, exclude_categories=())),
    st.binary().map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.text(st.sampled_from(SPECIAL)),
    st.text(st.sampled_from(SPECIAL), min_size=2000, max_size=20_000),  # very long
)


def unsafe_characters(text: str, *, keep: str = "") -> list[str]:
    """The characters of ``text`` that no label, attribute or line may carry."""
    return [
        char
        for char in text
        if char not in keep and (unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI)
    ]


def check_exposition(text_format: str, openmetrics_format: str, promtool: str) -> None:
    """Both formats parse whole with prometheus_client, and promtool accepts the text format."""
    assert list(parse_text(text_format))
    assert list(parse_openmetrics(openmetrics_format))
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text_format, capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def no_export_errors() -> Iterator[None]:
    """Fails if the OTLP exporters or their encoders log a problem (they log and drop what they cannot
    encode, and log every failed export)."""
    handler = _Errors()
    logger = logging.getLogger("opentelemetry.exporter.otlp")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [record.getMessage() for record in handler.records]


def check_otlp(spans: Sequence[ReadableSpan], metrics: MetricsData | None) -> None:
    """Spans and metrics encode to OTLP protobuf whole: no attribute dropped, nothing raised."""
    with no_export_errors():
        encode_spans(spans).SerializeToString()
        if metrics is not None:
            encode_metrics(metrics).SerializeToString()


def check_span_attributes(spans: Sequence[ReadableSpan], limit: int) -> None:
    """Every string on every span and event is valid, free of line breakers and bidi, within ``limit``."""
    for span in spans:
        span.name.encode("utf-8")
        assert not unsafe_characters(span.name)
        sources: list[Any] = [span.attributes or {}, *(event.attributes or {} for event in span.events)]
        for attributes in sources:
            for key, value in attributes.items():
                if not isinstance(value, str):
                    continue
                value.encode("utf-8")
                multiline = key in ("exception.stacktrace", "exception.message")
                assert not unsafe_characters(value, keep="\n\t" if multiline else ""), (key, value[:200])
                assert len(value) <= limit, (key, len(value))
        if span.status.description is not None:
            assert not unsafe_characters(span.status.description)
