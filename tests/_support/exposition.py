"""Read a Prometheus text exposition into comparable structures (with prometheus_client's own parser)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Exemplar


@dataclass(frozen=True)
class FamilyShape:
    """What a dashboard relies on: the family's name, type, label keys and (histograms) bucket bounds."""

    name: str
    type: str
    label_keys: frozenset[str]
    buckets: tuple[str, ...] = ()


def families(text: str) -> dict[str, FamilyShape]:
    shapes: dict[str, FamilyShape] = {}
    for family in text_string_to_metric_families(text):
        keys: set[str] = set()
        buckets: list[str] = []
        for sample in family.samples:
            keys.update(k for k in sample.labels if k != "le")
            if sample.name.endswith("_bucket") and sample.labels["le"] not in buckets:
                buckets.append(sample.labels["le"])
        name = family.name + "_total" if family.type == "counter" else family.name
        assert name not in shapes, f"{name} appears as two families"
        shapes[name] = FamilyShape(name, family.type, frozenset(keys), tuple(buckets))
    return shapes


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample keyed by (sample name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def exemplars(openmetrics: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], Exemplar]:
    """Every exemplar of an OpenMetrics exposition, keyed like :func:`samples` (the parser validates it)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.exemplar
        for family in openmetrics_families(openmetrics)
        for sample in family.samples
        if sample.exemplar is not None
    }


def type_lines(text: str) -> list[str]:
    return [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]


def le(bounds: Iterable[float]) -> tuple[str, ...]:
    """Bucket bounds spelled as the original prometheus_client exposition spelled them."""
    return (*(repr(float(b)) for b in bounds), "+Inf")
