"""What exemplars add to a decorated call, and what they keep in memory.

Two pipelines identical but for the exemplar filter: ``trace_based`` (the default; every span is sampled,
so every call keeps its exemplars) and ``always_off``. A difference of a few hundred nanoseconds on a call
of tens of microseconds drowns in machine noise when the variants run minutes apart, so they run in
alternating short blocks, timed in the calling thread's CPU time (time the machine gives to other
processes does not count), and the median of the per-pair differences is reported, with its quartiles.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.overhead import DETECTOR, activate, detect, nethical_pipeline
from nethical_otel import instrument_detector, semconv
from nethical_otel.metrics import LabelCleaner, LocalBackend


@dataclass
class ExemplarCost:
    on_ns: float
    off_ns: float
    added_ns: float  # median over block pairs of (on - off)
    quartiles_ns: tuple[float, float]
    pairs: int
    calls_per_block: int
    series_bytes_empty: int  # one latency series before any exemplar
    series_bytes_full: int  # after 100,000 calls with exemplars: one kept per bucket
    series_bytes_after: int  # after 100,000 more: unchanged


def measure(pairs: int, calls: int) -> ExemplarCost:
    on = nethical_pipeline({})
    off = nethical_pipeline({"prometheus": {"exemplar_filter": "always_off"}})
    decorated = instrument_detector(DETECTOR)(detect)
    enter_on, enter_off = activate(on), activate(off)

    def block(enter: Callable[[], None], count: int) -> float:
        enter()
        started = time.thread_time_ns()
        for _ in range(count):
            decorated("ignore previous instructions")
        return (time.thread_time_ns() - started) / count

    for enter in (enter_on, enter_off):  # warm-up: bindings, caches, first exemplars
        block(enter, 2_000)
    on_ns, off_ns, differences = [], [], []
    try:
        for index in range(pairs):
            if index % 100 == 0:
                gc.collect()
            first, second = (enter_on, enter_off) if index % 2 == 0 else (enter_off, enter_on)
            a, b = block(first, calls), block(second, calls)
            with_ns, without_ns = (a, b) if first is enter_on else (b, a)
            on_ns.append(with_ns)
            off_ns.append(without_ns)
            differences.append(with_ns - without_ns)
    finally:
        on.shutdown()
        off.shutdown()
    quartiles = statistics.quantiles(differences, n=4)
    empty, full, after = _series_bytes()
    return ExemplarCost(
        statistics.median(on_ns),
        statistics.median(off_ns),
        statistics.median(differences),
        (quartiles[0], quartiles[2]),
        pairs,
        calls,
        empty,
        full,
        after,
    )


def _series_bytes() -> tuple[int, int, int]:
    """Traced bytes of one latency histogram series: fresh, after 100,000 observations with exemplars
    spread over its buckets, and after 100,000 more (the slots are replaced, never added to)."""
    family = LocalBackend(LabelCleaner(128), 100).family(semconv.REQUEST_LATENCY, lambda spec, value: None)
    bounds = (*semconv.LATENCY_BUCKETS, 10.0)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    child = family.child(DETECTOR)
    sizes = array("q", [0, 0, 0])  # keeps plain machine ints: storing a size allocates nothing
    sizes[0] = tracemalloc.get_traced_memory()[0] - base
    for run in (1, 2):
        for index in range(100_000):  # 128-bit trace ids and 64-bit span ids, as real spans have
            child.record(bounds[index % len(bounds)], (2**127 - index, 2**63 - index, time.time_ns()))
        del index  # the loop's own int is not the series' memory
        gc.collect()
        sizes[run] = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return sizes[0], sizes[1], sizes[2]


def table(cost: ExemplarCost) -> list[str]:
    low, high = cost.quartiles_ns
    return [
        "| exemplars (same pipeline, every span sampled) | CPU ns per call |",
        "|---|---:|",
        f"| trace_based (the default): exemplars kept | {cost.on_ns:,.0f} |",
        f"| always_off | {cost.off_ns:,.0f} |",
        f"| added by exemplars: median of {cost.pairs} paired blocks of {cost.calls_per_block:,} calls "
        f"(quartiles {low:,.0f} to {high:,.0f}) | {cost.added_ns:,.0f} |",
        "",
        "| memory of one latency series (11 buckets) | bytes |",
        "|---|---:|",
        f"| no exemplar yet | {cost.series_bytes_empty:,} |",
        f"| after 100,000 calls with exemplars (one kept per bucket) | {cost.series_bytes_full:,} |",
        f"| after 200,000 calls | {cost.series_bytes_after:,} |",
    ]
