"""Continuous profiling end to end: the real pyroscope-io agent pushing to a 127.0.0.1 receiver.

Each scenario runs the detector workload in its own interpreter (tests/profiling/_workload.py): the
agent is process-global and a test process could not start it fresh for every test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._support.net import free_port
from tests._support.pyroscope_receiver import PUSH_PATH, PyroscopeReceiver

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "profiled-detectors"
UNREACHABLE_WARNING = "the Pyroscope server at {address} is unreachable"


@pytest.fixture
def receiver() -> Iterator[PyroscopeReceiver]:
    with PyroscopeReceiver() as server:
        yield server


def profiling_config(address: str, **profiling: Any) -> dict[str, Any]:
    return {
        "service": {"name": SERVICE},
        "metrics_server": {"enabled": False},
        "alerting": {"enabled": False},
        "profiling": {
            "enabled": True,
            "server_address": address,
            "upload_interval_seconds": 1,
            "health_check_interval_seconds": 0.5,
            "tags": {"env": "test"},
            **profiling,
        },
    }


def run_workload(scenario: dict[str, Any], timeout: float = 60) -> dict[str, dict[str, Any]]:
    """Run the workload; its JSON report per process ("parent", and "child" after a fork)."""
    completed = subprocess.run(
        [sys.executable, "-m", "tests.profiling._workload", json.dumps(scenario)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    reports = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    return {report["process"]: report for report in reports}


def nethical_warnings(report: dict[str, Any]) -> list[str]:
    return [message for message in report["warnings"] if message.startswith("nethical_otel")]


def test_pushed_profiles_name_the_detector_function_carry_its_tag_and_the_service_name(
    receiver: PyroscopeReceiver,
) -> None:
    report = run_workload({"phases": [{"config": profiling_config(receiver.url), "seconds": 3}]})["parent"]

    phase = report["phases"][0]
    assert phase["calls"] > 20 and phase["threats"] == phase["calls"]
    assert nethical_warnings(report) == []
    pushes = receiver.pushes()
    assert len(pushes) >= 3  # one per second, the last at shutdown
    assert {(p.headers["Content-Type"], p.headers["Content-Encoding"]) for p in pushes} == {
        ("application/proto", "gzip")
    }

    series = receiver.series()
    assert {s.labels["service_name"] for s in series} == {SERVICE}  # application_name defaults to service.name
    assert {s.labels["env"] for s in series} == {"test"}
    samples = [sample for profile in receiver.profiles(SERVICE) for sample in profile.samples]
    in_detector = [s for s in samples if "scan_for_sql_injection" in s.stack]
    housekeeping = [s for s in samples if "untagged_housekeeping" in s.stack]
    assert in_detector and housekeeping
    weight = sum(s.values[0] for s in in_detector)
    tagged = sum(s.values[0] for s in in_detector if s.labels.get("detector_type") == "sql_injection")
    # The agent samples stacks and tags a little apart, so a few samples at the edges miss the tag.
    assert tagged >= 0.8 * weight
    untagged = sum(s.values[0] for s in housekeeping if "detector_type" not in s.labels)
    assert untagged >= 0.8 * sum(s.values[0] for s in housekeeping)
    # Root spans carry pyroscope.profile.id, and the detector's samples carry the same span_id.
    sample_span_ids = {s.labels["span_id"] for s in in_detector if "span_id" in s.labels}
    assert sample_span_ids and sample_span_ids <= set(phase["profile_ids"])


def test_a_server_that_is_down_leaves_detectors_working_and_warns_once() -> None:
    address = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    report = run_workload({"phases": [{"config": profiling_config(address), "seconds": 2.5}]})["parent"]

    phase = report["phases"][0]
    assert phase["calls"] > 20 and phase["threats"] == phase["calls"]
    (warning,) = nethical_warnings(report)
    assert UNREACHABLE_WARNING.format(address=address) in warning
    assert "the application is unaffected" in warning


def test_a_server_answering_500_leaves_detectors_working_and_warns_once(receiver: PyroscopeReceiver) -> None:
    receiver.failing(500)
    report = run_workload({"phases": [{"config": profiling_config(receiver.url), "seconds": 2.5}]})["parent"]

    phase = report["phases"][0]
    assert phase["calls"] > 20 and phase["threats"] == phase["calls"]
    (warning,) = nethical_warnings(report)
    assert f"the Pyroscope server at {receiver.url} answered HTTP 500" in warning
    agent_pushes = [r for r in receiver.received(PUSH_PATH) if r.headers.get("User-Agent", "").startswith("pyroscope")]
    assert len(agent_pushes) >= 2  # the agent kept trying; only nethical_otel's check spoke up


def test_without_pyroscope_io_detectors_run_unprofiled_after_one_warning(receiver: PyroscopeReceiver) -> None:
    scenario = {"hide_pyroscope": True, "phases": [{"config": profiling_config(receiver.url), "seconds": 1}]}
    report = run_workload(scenario)["parent"]

    phase = report["phases"][0]
    assert phase["calls"] > 10 and phase["threats"] == phase["calls"]
    (warning,) = nethical_warnings(report)
    assert "pyroscope-io is not installed (pip install 'nethical-otel[profiling]')" in warning
    assert phase["profile_ids"] == []  # the span processor stays inert
    assert receiver.received() == []


def test_configure_twice_restarts_the_agent_under_the_new_settings(receiver: PyroscopeReceiver) -> None:
    first = profiling_config(receiver.url, application_name="first-pipeline")
    second = profiling_config(receiver.url, application_name="second-pipeline")
    report = run_workload({"phases": [{"config": first, "seconds": 1.5}, {"config": second, "seconds": 1.5}]})["parent"]

    assert nethical_warnings(report) == []
    names = {s.labels["service_name"] for s in receiver.series()}
    assert names == {"first-pipeline", "second-pipeline"}
    second_functions = {f for p in receiver.profiles("second-pipeline") for f in p.function_names}
    assert "scan_for_sql_injection" in second_functions


def test_a_fork_child_warns_once_and_profiles_again_after_configure(receiver: PyroscopeReceiver) -> None:
    scenario = {
        "phases": [{"config": profiling_config(receiver.url, application_name="parent"), "seconds": 1}],
        "fork_child_config": profiling_config(receiver.url, application_name="child"),
    }
    reports = run_workload(scenario)

    (warning,) = nethical_warnings(reports["child"])
    assert "continuous profiling stopped in fork child" in warning
    assert "Call nethical_otel.configure() in the child" in warning
    assert nethical_warnings(reports["parent"]) == []
    child_samples = [s for p in receiver.profiles("child") for s in p.samples if "scan_for_sql_injection" in s.stack]
    assert any(s.labels.get("detector_type") == "sql_injection" for s in child_samples)


WAITING_DETECTOR = """
import json, sys, time
import nethical_otel

nethical_otel.configure(json.loads(sys.argv[1]))


@nethical_otel.instrument_detector("model_server")
def wait_for_the_model_server(prompt):
    time.sleep(0.8)  # waiting, not computing: no CPU time, no GIL
    return {"threat_level": "NONE"}


wait_for_the_model_server("hello")
nethical_otel.shutdown()
"""


@pytest.mark.parametrize("oncpu", [True, False])
def test_wall_clock_profiles_show_a_detector_that_waits_and_cpu_profiles_do_not(
    receiver: PyroscopeReceiver, oncpu: bool
) -> None:
    config = profiling_config(receiver.url, oncpu=oncpu, upload_interval_seconds=10, health_check_interval_seconds=0)
    completed = subprocess.run(
        [sys.executable, "-c", WAITING_DETECTOR, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    # Sample values are CPU nanoseconds, one period per sample.
    waiting_samples = sum(
        sum(sample.values) / profile.period
        for profile in receiver.profiles(SERVICE)
        for sample in profile.samples_with("wait_for_the_model_server")
    )
    if oncpu:
        assert waiting_samples == 0
    else:  # about 80 at 100 Hz over 0.8 s; a loaded machine may lose some
        assert waiting_samples > 20
