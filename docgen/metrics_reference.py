"""The metrics reference: every ``MetricSpec`` of ``nethical_otel.semconv``, as Prometheus and OTLP see it."""

from __future__ import annotations

import math

from docgen.blocks import cell
from nethical_otel import semconv
from nethical_otel.semconv import MetricKind, MetricSpec


def own_metrics() -> list[MetricSpec]:
    """The families semconv declares beyond the original contract: nethical_otel's own health."""
    own = {value for value in vars(semconv).values() if isinstance(value, MetricSpec) and value not in semconv.CONTRACT}
    return sorted(own, key=lambda spec: spec.prometheus_name)


def _all() -> list[MetricSpec]:
    return [*semconv.CONTRACT, *own_metrics()]


def _families(specs: list[MetricSpec]) -> str:
    rows = ["| family on `/metrics` | type | labels | description |", "|---|---|---|---|"]
    for spec in specs:
        labels = ", ".join(f"`{key}`" for key in spec.label_keys)
        rows.append(f"| `{spec.prometheus_name}` | {spec.kind.value} | {labels} | {cell(spec.description)} |")
    return "\n".join(rows)


def contract_table() -> str:
    """The original Nethical metric contract."""
    return _families(list(semconv.CONTRACT))


def own_table() -> str:
    """nethical_otel's own health metrics."""
    return _families(own_metrics())


def buckets_table() -> str:
    """The bucket bounds of every histogram, spelled as the ``le`` label spells them."""
    rows = ["| histogram | bucket bounds (`le`, plus `+Inf`) |", "|---|---|"]
    for spec in _all():
        if spec.kind is MetricKind.HISTOGRAM:
            rows.append(f"| `{spec.prometheus_name}` | {' '.join(repr(bound) for bound in spec.buckets)} |")
    return "\n".join(rows)


_MERGE_MEANING = {
    semconv.GaugeMerge.SUM: "sum over the live workers",
    semconv.GaugeMerge.MIN: "minimum over the live workers",
    semconv.GaugeMerge.MAX: "maximum over the live workers",
}


def gauge_merge_table() -> str:
    """Multiprocess mode: how each gauge's per-worker values become one series (``MetricSpec.merge``)."""
    rows = ["| gauge | merged value |", "|---|---|"]
    for spec in _all():
        if spec.merge is not None:
            rows.append(f"| `{spec.prometheus_name}` | {_MERGE_MEANING[spec.merge]} |")
    return "\n".join(rows)


def _accepted(spec: MetricSpec) -> str:
    low, high = spec.valid_min, spec.valid_max
    if math.isinf(low) and math.isinf(high):
        return "any finite number"
    if math.isinf(high):
        return f"≥ {low:g}"
    return f"{low:g} to {high:g}"


def otlp_table() -> str:
    """Each family's OTLP instrument and the values it records (others are refused and counted)."""
    rows = ["| family on `/metrics` | OTLP instrument | unit | values recorded |", "|---|---|---|---|"]
    for spec in _all():
        unit = f"`{spec.unit}`" if spec.unit else ""
        rows.append(f"| `{spec.prometheus_name}` | `{spec.name}` | {unit} | {_accepted(spec)} |")
    return "\n".join(rows)


def label_values() -> str:
    """The label values semconv fixes; every other label value comes from the detectors."""
    statuses = semconv.STATUSES
    rows = [
        "| label | values |",
        "|---|---|",
        f"| `{semconv.STATUS}` | {', '.join(f'`{value}`' for value in statuses)} |",
        f"| `{semconv.THREAT_LEVEL}` | as the detector or caller gave it, cleaned; "
        f"{', '.join(f'`{level.value}`' for level in semconv.ThreatLevel)} are the levels compared with, in any case |",
        f"| `{semconv.OUTCOME}` | {', '.join(f'`{outcome.value}`' for outcome in semconv.ALERT_OUTCOMES)} |",
        f"| any label | `{semconv.UNKNOWN}` for an empty value |",
    ]
    return "\n".join(rows)


def exemplars_table() -> str:
    """The families whose series carry exemplars, and where."""
    rows = ["| family on `/metrics` | an exemplar on |", "|---|---|"]
    for spec in _all():
        if spec.exemplars:
            where = "each bucket (`_bucket{le}`)" if spec.kind is MetricKind.HISTOGRAM else "each series"
            rows.append(f"| `{spec.prometheus_name}` | {where} |")
    return "\n".join(rows)


def family_names() -> str:
    """The family names alone, for the README."""
    return ", ".join(f"`{spec.prometheus_name}`" for spec in semconv.CONTRACT) + "."
