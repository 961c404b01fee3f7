"""Multiprocess mode with real worker processes: exact merged totals, gauge policies, compaction, crashes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nethical_otel.metrics import Instruments, LabelCleaner, MultiprocessBackend, MultiprocessDir
from nethical_otel.metrics.multiprocess._cell_file import INITIAL_BYTES
from nethical_otel.semconv import (
    ACTIVE_DETECTORS,
    CONFIDENCE_SCORE,
    DETECTOR_HEALTH,
    REQUEST_LATENCY,
    REQUESTS,
    THREATS_DETECTED,
)
from tests._support.multiprocess import CONFIDENCE, LATENCY, backend, merged

ROOT = Path(__file__).resolve().parents[2]
PI = (("detector_type", "pi"),)


def write(directory: Path, calls: int, **env: str) -> None:
    """A worker that records ``calls`` detector calls and exits."""
    command = [sys.executable, "-m", "tests._support.multiprocess", str(directory), "write", str(calls)]
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=True, timeout=60)


class Looping:
    """A worker recording detector calls until it is killed."""

    def __init__(self, directory: Path, **env: str) -> None:
        command = [sys.executable, "-m", "tests._support.multiprocess", str(directory), "loop"]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_counters_and_histograms_of_every_worker_add_up_exactly(tmp_path):
    view = backend(tmp_path, writes_file=False)
    for calls in (300, 500, 700):
        write(tmp_path, calls)

    values = merged(view)
    assert values[(REQUESTS.name, (*PI, ("status", "success")))] == 1500
    count, total, buckets = values[(REQUEST_LATENCY.name, PI)]
    assert (count, total) == (1500, 1500 * LATENCY)
    assert buckets[REQUEST_LATENCY.buckets.index(LATENCY)] == 1500
    count, total, _ = values[(CONFIDENCE_SCORE.name, PI)]
    assert (count, total) == (1500, 1500 * CONFIDENCE)
    assert files(tmp_path) == ["archive.mmap"]  # the workers folded themselves in on their way out


def test_gauges_merge_by_their_family_policy_and_a_dead_workers_gauges_go(tmp_path):
    view = backend(tmp_path, writes_file=False)
    healthy = Looping(tmp_path, WORKER_HEALTH="1")
    unhealthy = Looping(tmp_path, WORKER_HEALTH="0")
    try:
        values = merged(view)
        assert values[(ACTIVE_DETECTORS.name, PI)] == 2  # live sum
        assert values[(DETECTOR_HEALTH.name, PI)] == 0  # minimum over live workers
        unhealthy.kill()
        values = merged(view)
        assert values[(ACTIVE_DETECTORS.name, PI)] == 1
        assert values[(DETECTOR_HEALTH.name, PI)] == 1
    finally:
        healthy.kill()
        unhealthy.kill()
    values = merged(view)
    assert (ACTIVE_DETECTORS.name, PI) not in values
    assert (DETECTOR_HEALTH.name, PI) not in values
    assert values[(REQUESTS.name, (*PI, ("status", "success")))] > 0  # counts stay, folded into the archive
    assert files(tmp_path) == ["archive.mmap"]


def test_a_worker_that_died_without_shutdown_is_folded_at_the_next_merge(tmp_path):
    view = backend(tmp_path, writes_file=False)
    write(tmp_path, 40, WORKER_FOLD="0")
    assert len([name for name in files(tmp_path) if name.startswith("w-")]) == 1

    values = merged(view)

    assert values[(REQUESTS.name, (*PI, ("status", "success")))] == 40
    assert files(tmp_path) == ["archive.mmap"]


def test_the_first_process_of_a_run_wipes_what_a_previous_run_left(tmp_path):
    write(tmp_path, 40)
    (tmp_path / "unrelated.txt").write_text("kept")
    live = Looping(tmp_path)
    try:
        # A second process of the same run: the archive and the live worker's file stay.
        second = backend(tmp_path, writes_file=False)
        assert merged(second)[(REQUESTS.name, (*PI, ("status", "success")))] > 40
        second.close()
    finally:
        live.kill()
    fresh = backend(tmp_path, writes_file=False)  # nobody else here any more: a new run
    assert merged(fresh) == {}
    assert files(tmp_path) == ["unrelated.txt"]


def test_a_killed_writer_never_leaves_the_merged_view_inconsistent(tmp_path):
    """SIGKILL lands mid-update again and again; every merged view taken meanwhile must add up."""
    rng = random.Random(13)
    view = backend(tmp_path, writes_file=False)
    running = [Looping(tmp_path) for _ in range(2)]
    kills, previous = 0, (0, 0)
    try:
        while kills < 8:
            time.sleep(rng.uniform(0.01, 0.15))
            running.pop(rng.randrange(len(running))).kill()
            kills += 1
            running.append(Looping(tmp_path))
            values = merged(view)
            requests = values[(REQUESTS.name, (*PI, ("status", "success")))]
            count, total, buckets = values[(REQUEST_LATENCY.name, PI)]
            assert total == LATENCY * count, "a histogram's sum and count disagree"
            assert sum(buckets) == count == buckets[REQUEST_LATENCY.buckets.index(LATENCY)]
            assert requests >= previous[0] and count >= previous[1], "a merged total went backwards"
            previous = (requests, count)
    finally:
        for process in running:
            process.kill()
    values = merged(view)
    requests = values[(REQUESTS.name, (*PI, ("status", "success")))]
    count, total, _ = values[(REQUEST_LATENCY.name, PI)]
    assert total == LATENCY * count and count >= previous[1]
    # Each call records the counter, then the histogram: a kill in between leaves one more request.
    assert 0 <= requests - count <= kills + len(running)
    assert files(tmp_path) == ["archive.mmap"]


def test_worker_restarts_leave_live_workers_plus_one_file_and_no_growth(tmp_path):
    def churn(workers: int) -> dict[str, float]:
        output = subprocess.run(
            [sys.executable, "-m", "tests._support.multiprocess", str(tmp_path / str(workers)), "churn", str(workers)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return dict(json.loads(output.stdout))

    small, large = churn(40), churn(160)

    for run in (small, large):
        assert run["most_files"] == run["files_after"] == 1  # the archive; no worker is alive between runs
        assert run["requests"] == run["latency_count"] == 10 * run["workers"]
        assert run["latency_sum"] == LATENCY * run["latency_count"]
    # Four times the restarts, no growth: the archive holds the series, plus the names of the files its last
    # fold took in (so a reader never counts one twice), whose pids may differ by a digit and so by 8 bytes.
    assert abs(large["archive_bytes"] - small["archive_bytes"]) <= 8


def test_a_file_grows_past_its_first_mapping_and_earlier_series_keep_counting(tmp_path):
    local = backend(tmp_path)
    instruments: Instruments = local.instruments  # type: ignore[attr-defined]
    first = instruments.requests.child("first", "success")
    first.record(1)
    for index in range(INITIAL_BYTES // 100):
        instruments.request_latency.child(f"d{index}").record(0.01)
    first.record(2)

    values = merged(backend(tmp_path, writes_file=False))

    assert values[(REQUESTS.name, (("detector_type", "first"), ("status", "success")))] == 3
    assert values[(REQUEST_LATENCY.name, (("detector_type", "d0"),))][0] == 1
    assert (tmp_path / local.directory._own_name).stat().st_size > INITIAL_BYTES  # type: ignore[operator]


def test_the_merged_view_keeps_the_cardinality_cap(tmp_path):
    view = MultiprocessBackend(LabelCleaner(64), 6, MultiprocessDir(tmp_path, 6, writes_file=False))
    Instruments(view)
    for start in (0, 5):
        code = (
            "from tests._support.multiprocess import backend\n"
            f"b = backend({str(tmp_path)!r})\n"
            f"[b.instruments.requests.child(f'd{{i}}', 'success').record(1) for i in range({start}, {start} + 5)]\n"
            "b.close()\n"
        )
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=30)
    values = merged(view)
    series = {labels: value for (name, labels), value in values.items() if name == REQUESTS.name}
    assert len(series) == 6
    assert series[(("otel.metric.overflow", True),)] == 5
    assert sum(series.values()) == 10


def test_a_forked_child_does_not_keep_its_parents_file_alive(tmp_path):
    view = backend(tmp_path, writes_file=False)
    code = (
        "import os, sys\n"
        "from tests._support.multiprocess import backend\n"
        f"b = backend({str(tmp_path)!r})\n"
        "b.instruments.requests.child('pi', 'success').record(7)\n"
        "if os.fork() == 0:\n"
        "    print('up', flush=True)\n"  # past the fork handlers
        "    sys.stdin.read()\n"  # the child outlives its parent, holding every inherited descriptor
        "    os._exit(0)\n"
        "os._exit(0)\n"  # the parent dies without shutdown
    )
    child_holder = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child_holder.stdout is not None
        assert child_holder.stdout.readline().strip() == "up"
        child_holder.wait(30)
        values = merged(view)
        assert values[(REQUESTS.name, (*PI, ("status", "success")))] == 7
        assert files(tmp_path) == ["archive.mmap"]  # dead parent folded although its child lives on
    finally:
        assert child_holder.stdin is not None and child_holder.stdout is not None
        child_holder.stdin.close()
        child_holder.stdout.close()


def test_a_directory_that_cannot_be_used_is_a_config_error_naming_the_key(tmp_path):
    from nethical_otel import ConfigError, configure

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"prometheus\.multiprocess_dir: cannot use"):
        configure({"prometheus": {"multiprocess_dir": str(blocker / "sub")}, "metrics_server": {"enabled": False}})


def test_prometheus_multiproc_dir_turns_the_mode_on(tmp_path, monkeypatch):
    from nethical_otel import configure, shutdown

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    telemetry = configure({"metrics_server": {"enabled": False}})
    try:
        assert telemetry.multiprocess is not None and telemetry.multiprocess.path == tmp_path
        assert telemetry.instruments is not None
        telemetry.instruments.requests.child("pi", "success").record(1)
        assert telemetry.is_evaluating_process() is True  # the oldest (only) live worker
    finally:
        shutdown()
    assert files(tmp_path) == ["archive.mmap"]


def test_the_sdk_collection_internals_are_used_only_with_the_tested_sdk_releases():
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement

    from nethical_otel.metrics._provider import SDK_VERSIONS

    pinned = [Requirement(r) for r in requires("nethical-otel") or () if r.startswith("opentelemetry-sdk")]
    assert [str(requirement.specifier) for requirement in pinned] == [str(Requirement(f"x{SDK_VERSIONS}").specifier)]
    assert version("opentelemetry-sdk") in pinned[0].specifier


def test_prometheus_clients_own_multiprocess_mode_can_share_the_directory(tmp_path):
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    view = backend(tmp_path, writes_file=False)
    write(tmp_path, 5, WORKER_FOLD="0")  # a worker file and, after the merge, the archive
    assert merged(view)[(REQUESTS.name, (*PI, ("status", "success")))] == 5
    live = Looping(tmp_path)
    try:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
        assert b"nethical" not in generate_latest(registry)  # it reads none of our files as its own
    finally:
        live.kill()


def test_exemplars_of_every_worker_reach_the_merged_view_newest_first_and_survive_the_archive(tmp_path):
    view = backend(tmp_path, writes_file=False)
    code = (
        "import sys\n"
        "from tests._support.multiprocess import backend\n"
        f"b = backend({str(tmp_path)!r})\n"
        "trace, span, at = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])\n"
        "b.instruments.threats_detected.child('pi', 'HIGH', 'jailbreak').record(1, (trace, span, at))\n"
        "b.instruments.request_latency.child('pi').record(0.5, (trace, span, at))\n"
        "b.close(fold=sys.argv[4] == 'fold')\n"
    )
    big_trace = (1 << 127) + 5  # both halves of the 128-bit trace id matter
    for trace, span, at, fold in ((big_trace, 7, 1_000, "fold"), (42, 8, 2_000, "leave")):
        subprocess.run([sys.executable, "-c", code, str(trace), str(span), str(at), fold], cwd=ROOT, check=True)

    from nethical_otel.metrics._points import ReaderState

    metrics = {m.name: m for m in view.collect(ReaderState(0, False, latest_exemplars=True)) or []}
    (counter,) = metrics[THREATS_DETECTED.name].data.data_points
    assert counter.value == 2
    assert [(e.trace_id, e.span_id, e.time_unix_nano) for e in counter.exemplars] == [(42, 8, 2_000)]
    (histogram,) = metrics[REQUEST_LATENCY.name].data.data_points
    assert [(e.trace_id, e.value) for e in histogram.exemplars] == [(42, 0.5)]
    assert files(tmp_path) == ["archive.mmap"]  # both folded: the exemplars came through the archive
