"""Interleaved timing: every variant runs once per round, rounds repeat, medians are reported.

Interleaving spreads machine noise (other processes, CPU frequency) over all variants instead of
letting it land on whichever variant happened to run during it.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Variant:
    name: str
    call: Callable[[str], object]
    enter: Callable[[], None] = lambda: None  # makes the variant's pipeline the active one
    samples_ns: list[float] = field(default_factory=list)

    @property
    def median_ns(self) -> float:
        return statistics.median(self.samples_ns)


def run_interleaved(variants: list[Variant], rounds: int, calls: int, seed: int = 1) -> None:
    order = list(variants)
    shuffle = random.Random(seed).shuffle
    for variant in variants:  # warm-up: caches, lazy bindings, first-call allocations
        variant.enter()
        for _ in range(min(calls, 2000)):
            variant.call("warm")
    for _ in range(rounds):
        shuffle(order)
        for variant in order:
            variant.enter()
            call = variant.call
            gc.collect()
            started = time.perf_counter_ns()
            for _ in range(calls):
                call("ignore previous instructions")
            variant.samples_ns.append((time.perf_counter_ns() - started) / calls)


def time_once(function: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` runs of ``function``."""
    durations = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        function()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)
