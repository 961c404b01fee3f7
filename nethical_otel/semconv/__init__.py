"""The one source of truth for nethical_otel's telemetry names.

Every metric name, label key, unit, description and bucket layout, every span attribute key and every
list of names (levels, severities, channels, statuses) is declared in this package and nowhere else, one
module per concept, and used from here as ``semconv.NAME``. The metric families reproduce the original
Nethical monitoring contract name for name, label for label and bucket for bucket: dashboards and PromQL
written against ``nethical_requests_total`` and friends keep working.

Instrument names are chosen so that the OpenTelemetry Prometheus naming rules (``_total`` for
monotonic sums, a unit suffix only when the name lacks it) produce exactly the original names, both in
``opentelemetry-exporter-prometheus`` and in the Collector's ``prometheus`` exporter.
"""

from nethical_otel.semconv._alerting import *  # noqa: F403
from nethical_otel.semconv._attributes import *  # noqa: F403
from nethical_otel.semconv._contract import *  # noqa: F403
from nethical_otel.semconv._health import *  # noqa: F403
from nethical_otel.semconv._levels import *  # noqa: F403
from nethical_otel.semconv._spec import *  # noqa: F403
