"""nethical_otel's own health on the same /metrics: refused measurements and the metrics server's guard."""

from __future__ import annotations

from nethical_otel.semconv._contract import METRIC, REASON
from nethical_otel.semconv._spec import MetricKind, MetricSpec

__all__ = [
    "INVALID_MEASUREMENTS",
    "METRICS_SERVER_CONNECTIONS_CLOSED",
    "SERVER_CLOSE_BODY_TIMEOUT",
    "SERVER_CLOSE_EVICTED",
    "SERVER_CLOSE_HEADER_TIMEOUT",
    "SERVER_CLOSE_REASONS",
    "SERVER_CLOSE_REFUSED",
    "SERVER_CLOSE_RESPONSE_TIMEOUT",
]

# The SDK's own health: measurements refused because they were NaN, infinite or out of range.
INVALID_MEASUREMENTS = MetricSpec(
    "nethical_invalid_measurements",
    MetricKind.COUNTER,
    "Measurements rejected by nethical_otel (NaN, infinite or out of range), by metric and reason",
    (METRIC, REASON),
)

# The metrics server's own protection against stalled and hostile clients (see nethical_otel.server).
SERVER_CLOSE_HEADER_TIMEOUT = "header_timeout"
SERVER_CLOSE_BODY_TIMEOUT = "body_timeout"
SERVER_CLOSE_RESPONSE_TIMEOUT = "response_timeout"
SERVER_CLOSE_EVICTED = "evicted"
SERVER_CLOSE_REFUSED = "refused"
SERVER_CLOSE_REASONS = (
    SERVER_CLOSE_HEADER_TIMEOUT,
    SERVER_CLOSE_BODY_TIMEOUT,
    SERVER_CLOSE_RESPONSE_TIMEOUT,
    SERVER_CLOSE_EVICTED,
    SERVER_CLOSE_REFUSED,
)
METRICS_SERVER_CONNECTIONS_CLOSED = MetricSpec(
    "nethical_metrics_server_connections_closed",
    MetricKind.COUNTER,
    "Connections the metrics server closed or refused to protect itself, by reason "
    "(header_timeout, body_timeout, response_timeout, evicted, refused)",
    (REASON,),
)
