"""Collapsed stacks estimated from cProfile's call graph."""

from __future__ import annotations

import cProfile
import pstats
import time

from nethical_otel.profiling._collapsed import collapsed_stacks, format_collapsed, frame_label

A, B, C = ("app.py", 1, "handle"), ("app.py", 10, "tokenize"), ("app.py", 20, "classify")


def test_a_shared_callee_is_split_between_its_callers_by_edge_time() -> None:
    # handle -> tokenize (1 s) and handle -> classify -> tokenize (1 s); tokenize's own 2 s split evenly.
    stats = {
        A: (1, 1, 0.5, 3.5, {}),
        B: (2, 2, 2.0, 2.0, {A: (1, 1, 1.0, 1.0), C: (1, 1, 1.0, 1.0)}),
        C: (1, 1, 0.0, 1.0, {A: (1, 1, 0.0, 1.0)}),
    }

    assert collapsed_stacks(stats) == {
        ("handle (app.py:1)",): 500_000,
        ("handle (app.py:1)", "tokenize (app.py:10)"): 1_000_000,
        ("handle (app.py:1)", "classify (app.py:20)", "tokenize (app.py:10)"): 1_000_000,
    }


def test_builtins_have_no_file_and_semicolons_cannot_break_the_format() -> None:
    assert frame_label(("~", 0, "<built-in method builtins.sum>")) == "<built-in method builtins.sum>"
    assert frame_label(("/srv/we;ird.py", 3, "f")) == "f (we,ird.py:3)"
    assert format_collapsed({("a", "b"): 5, ("a",): 1}) == "a 1\na;b 5\n"


def spin(seconds: float) -> None:
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass


def shared_step() -> None:
    spin(0.01)


def via_classifier() -> None:
    shared_step()
    shared_step()


def entry_point() -> None:
    shared_step()
    via_classifier()


def recursive_scan(depth: int) -> None:
    spin(0.002)
    if depth:
        recursive_scan(depth - 1)


def profile(func: object) -> dict[tuple[str, ...], int]:
    # CPU time, not wall time: other processes on a busy machine must not skew the split.
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(func)  # type: ignore[arg-type]
    return collapsed_stacks(pstats.Stats(profiler).stats)  # type: ignore[attr-defined]


def names(stack: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(frame.rsplit(" (", 1)[0] for frame in stack)


def test_a_real_profile_attributes_time_along_both_call_paths() -> None:
    by_path: dict[tuple[str, ...], int] = {}
    for stack, weight in profile(entry_point).items():
        if names(stack)[-1] == "spin":
            by_path[names(stack)] = by_path.get(names(stack), 0) + weight

    direct = by_path[("entry_point", "shared_step", "spin")]
    indirect = by_path[("entry_point", "via_classifier", "shared_step", "spin")]
    assert 1.5 < indirect / direct < 2.5  # called twice as often along the second path


def test_recursion_folds_into_one_frame_and_keeps_all_the_time() -> None:
    profiler = cProfile.Profile()
    profiler.runcall(recursive_scan, 9)
    stats = pstats.Stats(profiler)
    stacks = collapsed_stacks(stats.stats)  # type: ignore[attr-defined]

    assert all(names(stack).count("recursive_scan") == 1 for stack in stacks)
    total_own_seconds = stats.total_tt  # type: ignore[attr-defined]
    assert abs(sum(stacks.values()) / 1e6 - total_own_seconds) < 0.05 * total_own_seconds
