"""`nethical-otel demo`: the first command of the README, run for real."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_demo_runs_serves_metrics_and_reports_progress(tmp_path):
    summary = tmp_path / "summary.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "nethical_otel.cli",
            "demo",
            "--duration",
            "3",
            "--port",
            "0",
            "--rate",
            "40",
            "--summary",
            str(summary),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "/metrics" in out and "/health" in out
    assert "requests" in out and "threats" in out and "errors" in out
    recorded = json.loads(summary.read_text())
    assert sum(row["count"] for row in recorded["requests"]) >= 100
    assert set(recorded["threats"]) >= {"HIGH", "CRITICAL"}


def test_the_demo_names_a_taken_port_instead_of_crashing(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "nethical_otel.cli", "demo", "--duration", "1", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert completed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
    assert "Traceback" not in completed.stderr
