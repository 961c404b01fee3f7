"""Merging the workers' cells into one view: counters and histograms summed, gauges by their family's policy.

Plain data in, plain data out: the values read from the files (and this process's own in-memory cells)
go in; the series of each family, or the entries of the archive of dead workers, come out. The
cardinality cap applies to the merged view too: a label combination past it is counted in the
family's overflow series, as in one process.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from nethical_otel.metrics._families import OVERFLOW_ATTRIBUTES, Kept
from nethical_otel.metrics.multiprocess._cell_file import CounterEntry, FileValues, HistogramEntry, encode_key
from nethical_otel.semconv import GaugeMerge, MetricKind, MetricSpec

_KEY_CACHE_MAX = 100_000

Decoded = tuple[str, dict[str, Any], tuple[Any, ...]]  # family name, attributes, identity


class KeyCache:
    """Decoded entry keys, kept between merges (the same keys come back at every scrape)."""

    def __init__(self) -> None:
        self._keys: dict[bytes, Decoded | None] = {}

    def decode(self, key: bytes) -> Decoded | None:
        found = self._keys.get(key, False)
        if found is not False:
            return found  # type: ignore[return-value]  # False is only the cache-miss marker
        decoded: Decoded | None
        try:
            name, attributes = json.loads(key.decode("utf-8", "surrogatepass"))
            decoded = (name, attributes, (name, *attributes.items()))
        except (ValueError, TypeError, AttributeError):
            decoded = None  # not a key this layout writes: ignored
        if len(self._keys) >= _KEY_CACHE_MAX:
            self._keys.clear()
        self._keys[key] = decoded
        return decoded


class Accumulator:
    """Sums (or, for gauges, collects) series across sources, under a per-family series cap."""

    def __init__(self, keys: KeyCache, limit: int) -> None:
        self._keys = keys
        self._limit = limit
        self.counters: dict[str, dict[tuple[Any, ...], list[Any]]] = {}
        self.histograms: dict[str, dict[tuple[Any, ...], list[Any]]] = {}
        self.gauges: dict[str, dict[tuple[Any, ...], list[Any]]] = {}
        self.buckets: dict[str, int] = {}

    def _slot(self, table: dict[str, dict[tuple[Any, ...], list[Any]]], decoded: Decoded) -> tuple[Any, list[Any]]:
        name, attributes, identity = decoded
        series = table.setdefault(name, {})
        if identity in series:
            return identity, series[identity]
        if len(series) >= self._limit - 1:  # one slot stays for the overflow series
            identity = (name, *OVERFLOW_ATTRIBUTES.items())
            attributes = dict(OVERFLOW_ATTRIBUTES)
            if identity in series:
                return identity, series[identity]
        return identity, series.setdefault(identity, [attributes])

    def add_file(self, values: FileValues, live: bool) -> None:
        decode = self._keys.decode
        for key, value, declared, kept in values.counters:
            if (decoded := decode(key)) is not None:
                self._add_counter(decoded, value, declared, kept)
        for key, buckets, slot, declared, kept_list in values.histograms:
            if (decoded := decode(key)) is not None:
                self._add_histogram(decoded, buckets, slot, declared, kept_list)
        if live:  # a dead worker's gauges describe nothing any more
            for key, value in values.gauges:
                if not math.isnan(value) and (decoded := decode(key)) is not None:
                    self._slot(self.gauges, decoded)[1].append(value)

    def add_series(self, spec: MetricSpec, series: Iterable[Any]) -> None:
        """This process's in-memory series (see :func:`nethical_otel.metrics._families.local_series`)."""
        for item in series:
            attributes = item[1]
            decoded = (spec.name, attributes, (spec.name, *attributes.items()))
            if spec.kind is MetricKind.COUNTER:
                self._add_counter(decoded, item[2], item[3], item[4])
            elif spec.kind is MetricKind.GAUGE:
                if item[2] is not None:
                    self._slot(self.gauges, decoded)[1].append(item[2])
            else:
                _key, _attributes, counts, total, low, high, declared, kept = item
                slot = [*counts, total, low, high]
                self._add_histogram(decoded, len(spec.buckets), slot, declared, kept or [None] * len(counts))

    def _add_counter(self, decoded: Decoded, value: float, declared: bool, kept: Kept | None) -> None:
        _identity, row = self._slot(self.counters, decoded)
        if len(row) == 1:
            row += [value, declared, kept]
        else:
            row[1] += value
            row[2] = row[2] or declared
            row[3] = _newer(row[3], kept)

    def _add_histogram(
        self, decoded: Decoded, buckets: int, slot: list[float], declared: bool, kept: list[Kept | None]
    ) -> None:
        name = decoded[0]
        if self.buckets.setdefault(name, buckets) != buckets:
            return  # written by a version with other buckets: cannot be added up
        _identity, row = self._slot(self.histograms, decoded)
        if len(row) == 1:
            row += [list(slot), declared, list(kept)]
            return
        merged = row[1]
        for i in range(buckets + 2):  # bucket counts and the sum
            merged[i] += slot[i]
        merged[-2] = min(merged[-2], slot[-2])
        merged[-1] = max(merged[-1], slot[-1])
        row[2] = row[2] or declared
        row[3] = [_newer(a, b) for a, b in zip(row[3], kept, strict=True)]

    # Results ----------------------------------------------------------------------------------------
    def series(self, specs: Iterable[MetricSpec]) -> list[tuple[MetricSpec, list[Any]]]:
        """Per family, the merged series in the shape :func:`build_metrics` takes."""
        out: list[tuple[MetricSpec, list[Any]]] = []
        for spec in specs:
            if spec.kind is MetricKind.COUNTER:
                rows = self.counters.get(spec.name, {})
                out.append((spec, [(k, r[0], r[1], r[2], r[3]) for k, r in rows.items()]))
            elif spec.kind is MetricKind.GAUGE:
                combine = _COMBINE[spec.merge or GaugeMerge.SUM]
                rows = self.gauges.get(spec.name, {})
                out.append((spec, [(k, r[0], combine(r[1:])) for k, r in rows.items() if len(r) > 1]))
            else:
                rows = self.histograms.get(spec.name, {})
                n = len(spec.buckets) + 1
                if self.buckets.get(spec.name, n - 1) != n - 1:
                    out.append((spec, []))
                    continue
                out.append(
                    (
                        spec,
                        [
                            (k, r[0], [int(c) for c in r[1][:n]], r[1][n], r[1][n + 1], r[1][n + 2], r[2], r[3])
                            for k, r in rows.items()
                        ],
                    )
                )
        return out

    def archive_entries(self) -> tuple[list[CounterEntry], list[HistogramEntry]]:
        """Counters and histograms as entries of the archive file (gauges are never archived)."""
        counters = [
            (encode_key(identity[0], row[0]), row[1], row[2], row[3])
            for rows in self.counters.values()
            for identity, row in rows.items()
        ]
        histograms = [
            (encode_key(identity[0], row[0]), self.buckets[identity[0]], row[1], row[2], row[3])
            for rows in self.histograms.values()
            for identity, row in rows.items()
        ]
        return counters, histograms


def _newer(a: Kept | None, b: Kept | None) -> Kept | None:
    """Of two kept exemplars, the more recent one (workers keep one each; the merged view shows one)."""
    if a is None or (b is not None and b[1][2] > a[1][2]):
        return b
    return a


_COMBINE: dict[GaugeMerge, Callable[[list[float]], float]] = {
    GaugeMerge.SUM: sum,
    GaugeMerge.MIN: min,
    GaugeMerge.MAX: max,
}
