"""What exemplars add to a decorated call, and what they keep in memory.

Two pipelines identical but for the exemplar filter: ``trace_based`` (the default; every span is sampled,
so every call keeps its exemplars) and ``always_off``. A difference of a few hundred nanoseconds on a call
of tens of microseconds drowns in machine noise when the variants run minutes apart, so both
measurements alternate the variants in short blocks timed in the calling thread's CPU time (time the
machine gives to other processes does not count):

* the recording step alone (``Binding.succeeded`` for a sampled span: the only code that differs), the
  minimum of many blocks of each variant: the budget's figure;
* the whole decorated call, span and export included: the median of the per-pair differences, with its
  quartiles, which shows how much the machine's noise exceeds the difference itself.
"""

from __future__ import annotations

import functools
import gc
import statistics
import time
import tracemalloc
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from benchmarks.overhead import DETECTOR, RESULT, activate, detect, nethical_pipeline
from nethical_otel import instrument_detector, semconv
from nethical_otel.decorator._binding import DetectorPlan
from nethical_otel.metrics import LabelCleaner, LocalBackend
from nethical_otel.pipeline import Telemetry

OFF = {"prometheus": {"exemplar_filter": "always_off"}}
MODEL = "pi-v2"  # a model too: its inference histogram is one more recording with an exemplar
Variant = tuple[Callable[[], object], Callable[[], None]]  # (one call, what makes its pipeline active)


@dataclass
class ExemplarCost:
    step_on_ns: float  # recording step, minimum over blocks
    step_off_ns: float
    call_on_ns: float  # whole call, median over blocks
    call_off_ns: float
    call_added_ns: float  # median over block pairs of (on - off)
    call_quartiles_ns: tuple[float, float]
    pairs: int
    series_bytes_empty: int  # one latency series before any exemplar
    series_bytes_full: int  # after 100,000 calls with exemplars: one kept per bucket
    series_bytes_after: int  # after 100,000 more: unchanged

    @property
    def added_ns(self) -> float:
        return self.step_on_ns - self.step_off_ns


def _alternate(variants: tuple[Variant, Variant], pairs: int, calls: int) -> tuple[list[float], list[float]]:
    """CPU ns per call of each variant, block by block, alternating which goes first."""
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(pairs):
        if index % 100 == 0:
            gc.collect()
        for which in (0, 1) if index % 2 == 0 else (1, 0):
            call, enter = variants[which]
            enter()
            started = time.thread_time_ns()
            for _ in range(calls):
                call()
            samples[which].append((time.thread_time_ns() - started) / calls)
    return samples


def _recording_step(on: Telemetry, off: Telemetry, pairs: int) -> tuple[float, float]:
    # A sampled span context whose end() costs nothing: the step's own work is what is timed.
    span = NonRecordingSpan(SpanContext(2**127 + 5, 2**63 + 7, False, TraceFlags(TraceFlags.SAMPLED)))
    variants = []
    for telemetry in (on, off):
        assert telemetry.runtime is not None
        binding = DetectorPlan(detect, DETECTOR, MODEL, None, None, None).bind(telemetry.runtime)
        variants.append((functools.partial(binding.succeeded, span, None, RESULT, 0.0123), _nothing))
    on_ns, off_ns = _alternate((variants[0], variants[1]), pairs, 2_000)
    return min(on_ns), min(off_ns)


def measure(pairs: int) -> ExemplarCost:
    on, off = nethical_pipeline({}), nethical_pipeline(OFF)
    decorated = functools.partial(instrument_detector(DETECTOR, model=MODEL)(detect), "ignore previous instructions")
    try:
        step_on, step_off = _recording_step(on, off, max(pairs // 10, 20))
        call_on, call_off = _alternate(((decorated, activate(on)), (decorated, activate(off))), pairs, 100)
    finally:
        on.shutdown()
        off.shutdown()
    differences = [a - b for a, b in zip(call_on, call_off, strict=True)]
    quartiles = statistics.quantiles(differences, n=4)
    empty, full, after = _series_bytes()
    return ExemplarCost(
        step_on,
        step_off,
        statistics.median(call_on),
        statistics.median(call_off),
        statistics.median(differences),
        (quartiles[0], quartiles[2]),
        pairs,
        empty,
        full,
        after,
    )


def _nothing() -> None:
    return None


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
    low, high = cost.call_quartiles_ns
    return [
        "| exemplars: trace_based (every span sampled) vs always_off | on | off | added |",
        "|---|---:|---:|---:|",
        f"| recording step of a call, CPU ns (minimum of alternating blocks) | {cost.step_on_ns:,.0f} "
        f"| {cost.step_off_ns:,.0f} | {cost.added_ns:,.0f} |",
        f"| whole decorated call, CPU ns (median of {cost.pairs:,} alternating pairs of 100 calls; "
        f"difference quartiles {low:,.0f} to {high:,.0f}) | {cost.call_on_ns:,.0f} | {cost.call_off_ns:,.0f} "
        f"| {cost.call_added_ns:,.0f} |",
        "",
        "| memory of one latency series (11 buckets) | bytes |",
        "|---|---:|",
        f"| no exemplar yet | {cost.series_bytes_empty:,} |",
        f"| after 100,000 calls with exemplars (one kept per bucket) | {cost.series_bytes_full:,} |",
        f"| after 200,000 calls | {cost.series_bytes_after:,} |",
    ]
