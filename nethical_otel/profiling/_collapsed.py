"""Collapsed stacks ("root;caller;callee weight" lines) estimated from a cProfile call graph.

cProfile records, per function, its own time, its cumulative time and the same two numbers per
caller->callee edge, not whole stacks. Walking the graph from its roots and sharing each function's
time among its callers in proportion to what each edge contributed gives the stacks a flamegraph
tool (flamegraph.pl, inferno, speedscope) renders. Where a function is reached along several paths,
its callees are split between them by that proportion: an estimate, exact for tree-shaped call
graphs. Weights are microseconds.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

FunctionKey = tuple[str, int, str]  # (filename, first line, name), as pstats keys functions

_MAX_DEPTH = 128
_MIN_SECONDS = 1e-6  # branches below a microsecond are dropped, which also bounds the walk
_MAX_NODES = 200_000  # paths multiply in graphs where many callers share callees
_PROFILER_ITSELF = "<method 'disable' of '_lsprof.Profiler' objects>"


def frame_label(function: FunctionKey) -> str:
    filename, line, name = function
    label = name if filename == "~" else f"{name} ({os.path.basename(filename)}:{line})"
    return label.replace(";", ",")  # ';' separates frames in the collapsed format


def collapsed_stacks(stats: Mapping[FunctionKey, Any]) -> dict[tuple[str, ...], int]:
    """Stack (root first) -> own time in microseconds, from ``pstats.Stats.stats``."""
    callees: dict[FunctionKey, list[tuple[FunctionKey, float]]] = defaultdict(list)
    roots: list[tuple[FunctionKey, float]] = []
    for function, (_, _, _, total, callers) in stats.items():
        if function[2] == _PROFILER_ITSELF:
            continue
        for caller, edge in callers.items():
            callees[caller].append((function, edge[3]))  # the edge's cumulative time
        # Time not explained by profiled callers came from outside the profile: the entry point (a
        # recursive one calls itself, so its own edge does not count).
        external = total - sum(edge[3] for caller, edge in callers.items() if caller != function)
        if external > max(_MIN_SECONDS, 0.001 * total):
            roots.append((function, external))
    weights: dict[tuple[str, ...], float] = defaultdict(float)
    budget = [_MAX_NODES]

    def walk(function: FunctionKey, cumulative: float, path: tuple[str, ...], on_path: frozenset[FunctionKey]) -> None:
        budget[0] -= 1
        _, _, own, total, _ = stats[function]
        share = cumulative / total if total > 0 else 0.0
        stack = (*path, frame_label(function))
        weights[stack] += own * share
        if len(stack) >= _MAX_DEPTH or budget[0] <= 0:
            return
        for callee, edge_cumulative in callees.get(function, ()):
            # Recursion is already inside this function's own and cumulative times.
            weight = edge_cumulative * share
            if callee in on_path or callee not in stats or weight < _MIN_SECONDS:
                continue
            walk(callee, weight, stack, on_path | {callee})

    for root, external in roots:
        walk(root, external, (), frozenset({root}))
    return {stack: round(seconds * 1e6) for stack, seconds in weights.items() if round(seconds * 1e6) > 0}


def format_collapsed(stacks: Mapping[tuple[str, ...], int]) -> str:
    return "".join(f"{';'.join(stack)} {weight}\n" for stack, weight in sorted(stacks.items()))
