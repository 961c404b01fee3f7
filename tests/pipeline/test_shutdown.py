"""Shutdown and exit are bounded whatever the collector does; its credentials never show.

The collector here is a real TCP listener that accepts and never answers (it used to hold
``shutdown(timeout=5)`` for 35 s). Bounds are asserted with generous slack, as the machine running the
suite may be loaded; the measured figures come from ``python -m benchmarks.faults``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time

import nethical_otel
from nethical_otel import instrument_detector
from tests._support.net import black_hole, closed_port, wait_until

SLACK_SECONDS = 4.0


def busy_pipeline(endpoint: str) -> nethical_otel.Telemetry:
    """A pipeline with more spans queued than one batch, and metrics, for ``endpoint``."""
    telemetry = nethical_otel.configure(
        {
            "metrics_server": {"enabled": False},
            "alerting": {"enabled": False},
            "otlp": {"endpoint": endpoint, "export_interval_seconds": 0.5, "timeout_seconds": 30},
        }
    )

    @instrument_detector("prompt_injection")
    def detect(prompt: str) -> dict[str, str]:
        return {"threat_level": "HIGH", "category": "jailbreak"}

    for _ in range(3000):
        detect("x")
    return telemetry


def abandoned_steps() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("nethical-otel ")]


def test_shutdown_returns_within_its_timeout_when_the_collector_never_answers(caplog):
    with black_hole() as port:
        telemetry = busy_pipeline(f"http://127.0.0.1:{port}")
        time.sleep(1.0)  # the exporters are now waiting on the black hole
        started = time.monotonic()
        telemetry.shutdown(timeout=2.0)
        elapsed = time.monotonic() - started

    assert elapsed < 2.0 + SLACK_SECONDS
    assert "did not finish within 2.0 s" in caplog.text  # what was abandoned is said, not silent
    # The abandoned exporters were told to stop: once the collector goes away they give up, they do not
    # retry in the background for the rest of the process's life.
    wait_until(lambda: not abandoned_steps(), 30, "the abandoned export steps to end")


def test_the_exit_hook_is_bounded_by_its_setting_when_the_collector_never_answers():
    with black_hole() as port:
        script = textwrap.dedent(
            f"""
            import atexit, time
            # Registered before nethical_otel's own hook, so it runs after it: how long the hook took.
            atexit.register(lambda: print("exit hook took", time.monotonic() - marks[0], flush=True))
            marks = []
            from tests.pipeline.test_shutdown import busy_pipeline
            telemetry = busy_pipeline("http://127.0.0.1:{port}")
            assert telemetry.config.shutdown.at_exit_timeout_seconds == 2.0  # the default
            time.sleep(1.0)
            marks.append(time.monotonic())
            """
        )
        done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-3000:]
    took = float(done.stdout.rsplit("exit hook took", 1)[1])
    assert took < 2.0 + SLACK_SECONDS


def test_credentials_in_an_otlp_endpoint_never_appear_in_logs_or_reprs(caplog):
    caplog.set_level(logging.DEBUG)
    secret = "s3cr3t-token"
    telemetry = busy_pipeline(f"http://collector:{secret}@127.0.0.1:{closed_port()}")
    telemetry.force_flush(timeout=1.5)
    shown = repr(telemetry.config)
    telemetry.shutdown(timeout=1.0)

    assert secret not in shown and "http://****@127.0.0.1" in shown
    assert "Connection refused" in caplog.text  # the exporters did report their failures
    assert secret not in caplog.text
    wait_until(lambda: not abandoned_steps(), 30, "the abandoned export steps to end")
