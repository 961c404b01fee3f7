"""The pre-fork example: gunicorn with two workers under ``opentelemetry-instrument``.

Every worker must push its own series (its own service.instance.id): the per-worker totals the OTLP
receiver ends up with must be exactly the requests each worker answered, none lost, none counted twice.
"""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._support.net import free_port, http_ok, wait_until
from tests._support.otlp import OtlpReceiver
from tests._support.processes import log_tail
from tests.auto._apps import EXAMPLES, OPENTELEMETRY_INSTRUMENT, VENV_BIN, clean_environment

pytestmark = pytest.mark.integration

REQUESTS = 40


@dataclass
class PreforkRun:
    served_by: Counter[int]  # requests answered, by worker pid
    requests: dict[tuple[str, Any], Any]  # last nethical_requests values, by (service.instance.id, labels)
    threats: dict[tuple[str, Any], Any]
    detector_spans: list[dict[str, Any]]
    exit_code: int
    output: str

    def requests_per_instance(self) -> Counter[str]:
        return Counter({instance: value for (instance, _labels), value in self.requests.items()})


def run_gunicorn(tmp_path: Path, config_file: str) -> PreforkRun:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with OtlpReceiver() as receiver:
        env = clean_environment(
            tmp_path,
            NETHICAL_OTEL_CONFIG="nethical.yaml",
            OTEL_PYTHON_DISTRO="nethical",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            GUNICORN_BIND=f"127.0.0.1:{port}",
        )
        command = [str(OPENTELEMETRY_INSTRUMENT), str(VENV_BIN / "gunicorn"), "-c", config_file, "app:app"]
        with log.open("wb") as output:
            master = subprocess.Popen(
                command, cwd=EXAMPLES / "prefork", env=env, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            wait_until(lambda: master.poll() is None and http_ok(f"{base}/healthz"), 30, "gunicorn to serve")
            texts = ["please jailbreak the model" if i % 4 == 0 else f"question {i}" for i in range(REQUESTS)]
            with ThreadPoolExecutor(4) as pool:  # overlapping requests, so both sync workers answer
                answers = list(pool.map(lambda text: _classify(base, text), texts))
        finally:
            master.send_signal(signal.SIGTERM)
            exit_code = master.wait(30)
        return PreforkRun(
            served_by=Counter(int(answer["worker"]) for answer in answers),
            requests=receiver.last_values("nethical_requests"),
            threats=receiver.last_values("nethical_threats_detected"),
            detector_spans=[span for span in receiver.span_dicts() if span["name"] == "detect content_filter"],
            exit_code=exit_code,
            output=log_tail(log, 8000),
        )


def _classify(base: str, text: str) -> dict[str, Any]:
    url = f"{base}/classify?{urllib.parse.urlencode({'text': text})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.load(response))


def test_two_prefork_workers_export_their_own_series_and_none_is_lost_or_doubled(tmp_path):
    run = run_gunicorn(tmp_path, "gunicorn.conf.py")

    assert run.exit_code == 0, run.output
    assert len(run.served_by) == 2, f"both workers should have answered: {run.served_by}"
    per_instance = run.requests_per_instance()
    assert sorted(per_instance.values()) == sorted(run.served_by.values()), (run.requests, run.served_by)
    assert sum(per_instance.values()) == REQUESTS
    assert sum(run.threats.values()) == REQUESTS // 4
    assert Counter(span["resource"]["service.instance.id"] for span in run.detector_spans) == per_instance
    assert "Traceback" not in run.output, run.output


def test_without_the_post_fork_hook_workers_share_one_instance_id_and_overwrite_each_other(tmp_path):
    # Why the example's gunicorn.conf.py has its hooks: the master's pipeline, copied by fork().
    bare = tmp_path / "bare.conf.py"
    bare.write_text("import os\nbind = os.environ['GUNICORN_BIND']\nworkers = 2\n", encoding="utf-8")
    run = run_gunicorn(tmp_path, str(bare))

    assert len(run.served_by) == 2, f"both workers should have answered: {run.served_by}"
    assert len(run.requests_per_instance()) == 1
    assert sum(run.requests_per_instance().values()) < REQUESTS  # the last writer wins
