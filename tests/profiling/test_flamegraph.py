"""FlamegraphProfiler: py-spy recordings of real child processes, and cProfile runs of one call."""

from __future__ import annotations

import json
import pstats
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nethical_otel.profiling import FlamegraphProfiler, PySpyError, PySpyNotFoundError, PySpyPermissionError
from tests._support.binaries import require_binary

TARGET_SCRIPT = """
import sys, time

def nethical_known_hot_function(seconds):
    deadline = time.time() + seconds
    total = 0
    while time.time() < deadline:
        total += sum(range(500))
    return total

print("target ready", flush=True)
nethical_known_hot_function(float(sys.argv[1]))
"""


@pytest.fixture
def target_script(tmp_path: Path) -> Path:
    script = tmp_path / "target.py"
    script.write_text(TARGET_SCRIPT, encoding="utf-8")
    return script


@pytest.fixture
def running_target(target_script: Path) -> Iterator[subprocess.Popen[str]]:
    command = [sys.executable, str(target_script), "30"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "target ready"
            yield process
        finally:
            process.kill()


@pytest.fixture
def profiler(tmp_path: Path) -> FlamegraphProfiler:
    return FlamegraphProfiler(tmp_path / "profiles")


# py-spy --------------------------------------------------------------------------------------------
def test_profile_pid_writes_an_svg_flamegraph_naming_the_running_function(
    profiler: FlamegraphProfiler, running_target: subprocess.Popen[str]
) -> None:
    progress: list[tuple[float, float]] = []
    result = profiler.profile_pid(
        running_target.pid, duration_seconds=1, rate_hz=100, progress=lambda done, total: progress.append((done, total))
    )

    assert result.path.suffix == ".svg" and result.path.parent == profiler.output_dir
    assert result.paths == (result.path,)
    svg = result.path.read_text(encoding="utf-8")
    assert "<svg" in svg and "nethical_known_hot_function" in svg
    assert result.samples is not None and result.samples >= 50
    assert progress and all(total == 1.0 and 0 <= done <= 1.0 for done, total in progress)
    assert running_target.poll() is None  # the target keeps running


def test_profile_script_runs_the_script_under_py_spy_and_can_write_speedscope(
    profiler: FlamegraphProfiler, target_script: Path
) -> None:
    result = profiler.profile_script(target_script, duration_seconds=2, args=["0.7"], format="speedscope")

    assert result.path.name.startswith("flamegraph-target-") and result.path.name.endswith(".speedscope.json")
    document = json.loads(result.path.read_text(encoding="utf-8"))
    frame_names = {frame["name"] for frame in document["shared"]["frames"]}
    assert "nethical_known_hot_function" in frame_names
    assert "target ready" in result.output  # the script's own output is kept


def test_without_ptrace_permission_the_error_says_how_to_fix_it(
    profiler: FlamegraphProfiler, running_target: subprocess.Popen[str], tmp_path: Path
) -> None:
    setpriv = require_binary("setpriv", package="util-linux")
    # The real py-spy, run as an unprivileged user against this (root-owned) target.
    unprivileged = tmp_path / "py-spy-as-nobody"
    unprivileged.write_text(
        f'#!/bin/sh\nexec {setpriv} --reuid=65534 --regid=65534 --clear-groups {profiler.py_spy_path()} "$@"\n'
    )
    unprivileged.chmod(0o755)

    with pytest.raises(PySpyPermissionError) as caught:
        FlamegraphProfiler(profiler.output_dir, py_spy=str(unprivileged)).profile_pid(running_target.pid, 1)

    message = str(caught.value)
    assert f"py-spy may not attach to --pid {running_target.pid}" in message
    assert "CAP_SYS_PTRACE" in message and "kernel.yama.ptrace_scope" in message
    assert list(profiler.output_dir.iterdir()) == []  # no empty flamegraph left behind


def test_a_missing_py_spy_says_how_to_install_it(profiler: FlamegraphProfiler, tmp_path: Path) -> None:
    missing = FlamegraphProfiler(tmp_path, py_spy=str(tmp_path / "no-such-py-spy"))

    with pytest.raises(PySpyNotFoundError, match=r"pip install py-spy \(or pip install 'nethical-otel\[profiling\]'\)"):
        missing.profile_script(__file__, duration_seconds=1)


def test_a_process_that_is_not_python_is_reported_with_py_spys_reason(profiler: FlamegraphProfiler) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(PySpyError, match=f"py-spy failed on --pid {sleeper.pid}"):
            profiler.profile_pid(sleeper.pid, duration_seconds=1)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_bad_arguments_are_refused_before_py_spy_runs(profiler: FlamegraphProfiler, target_script: Path) -> None:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    with pytest.raises(ProcessLookupError, match=f"no process with PID {exited.pid}"):
        profiler.profile_pid(exited.pid, duration_seconds=1)
    with pytest.raises(ValueError, match="format must be one of svg, speedscope"):
        profiler.profile_script(target_script, 1, format="png")
    with pytest.raises(ValueError, match="duration_seconds must be positive"):
        profiler.profile_script(target_script, 0)
    with pytest.raises(FileNotFoundError, match="no script at"):
        profiler.profile_script(target_script.with_name("missing.py"), 1)
    assert not profiler.output_dir.exists() or list(profiler.output_dir.iterdir()) == []


# cProfile ------------------------------------------------------------------------------------------
def nethical_profiled_leaf(n: int) -> int:
    return sum(i * i for i in range(n))


def nethical_profiled_entry(n: int) -> int:
    return nethical_profiled_leaf(n) + nethical_profiled_leaf(n // 2)


def test_profile_sync_writes_stats_a_top_functions_report_and_collapsed_stacks(profiler: FlamegraphProfiler) -> None:
    profile = profiler.profile_sync(nethical_profiled_entry, 200_000)

    assert profile.result == nethical_profiled_entry(200_000)
    assert profile.paths == (profile.stats_path, profile.report_path, profile.collapsed_path)
    assert profile.stats_path.name.startswith("profile-nethical_profiled_entry-")
    stats = pstats.Stats(str(profile.stats_path))
    assert any(name == "nethical_profiled_leaf" for _, _, name in stats.stats)  # type: ignore[attr-defined]
    report = profile.report_path.read_text(encoding="utf-8")
    assert report.startswith("cProfile of nethical_profiled_entry:")
    assert "Top 30 functions by cumulative time" in report and "nethical_profiled_leaf" in report
    stacks = [line.rsplit(" ", 1) for line in profile.collapsed_path.read_text(encoding="utf-8").splitlines()]
    functions = [[frame.rsplit(" (", 1)[0] for frame in stack.split(";")] for stack, _ in stacks]
    assert ["nethical_profiled_entry", "nethical_profiled_leaf", "<built-in method builtins.sum>", "<genexpr>"] in (
        functions
    )
    assert all(int(weight) > 0 for _, weight in stacks)


def test_profile_sync_keeps_the_profile_of_a_call_that_raised(profiler: FlamegraphProfiler) -> None:
    def failing_detector() -> None:
        nethical_profiled_leaf(10_000)
        raise RuntimeError("model backend down")

    with pytest.raises(RuntimeError, match="model backend down"):
        profiler.profile_sync(failing_detector)

    (report,) = profiler.output_dir.glob("*.txt")
    assert "failing_detector" in report.read_text(encoding="utf-8")


async def test_profile_function_awaits_coroutines(profiler: FlamegraphProfiler) -> None:
    async def nethical_async_detector(n: int) -> int:
        return nethical_profiled_leaf(n)

    profile = await profiler.profile_function(nethical_async_detector, 50_000)

    assert profile.result == nethical_profiled_leaf(50_000)
    assert "nethical_async_detector" in profile.report_path.read_text(encoding="utf-8")
    assert "nethical_profiled_leaf" in profile.collapsed_path.read_text(encoding="utf-8")
