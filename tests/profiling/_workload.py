"""A detector workload run in a child process with continuous profiling on.

pyroscope-io runs one agent per process and cannot be reset between tests, so each scenario gets its
own interpreter: ``python -m tests.profiling._workload '<json>'``. It prints one JSON line with what
happened: per phase the detector results and root-span profile ids, and the warnings logged.

Scenario keys: ``phases`` (list of {"config": ..., "seconds": ...}, each configure()d in turn),
``hide_pyroscope`` (import fails as if pyroscope-io were not installed), ``fork_child_config``
(fork with the last phase's pipeline running, as a pre-fork server does; the child configure()s with
this and runs the detector; each process prints its own line).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

os.environ["NETHICAL_OTEL_RAISE_INTERNAL_ERRORS"] = "1"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def scan_for_sql_injection(text: str) -> dict[str, Any]:
    """CPU-bound on purpose: the profile should show this function under the detector's tag."""
    score = 0
    deadline = time.process_time() + 0.02
    while time.process_time() < deadline:
        score += sum(ord(c) for c in text) % 7
    return {"is_threat": "' or 1=1" in text, "threat_level": "HIGH", "category": "sqli", "confidence": 0.9}


def untagged_housekeeping() -> None:
    deadline = time.process_time() + 0.01
    while time.process_time() < deadline:
        pass


def run_phase(config: dict[str, Any], seconds: float) -> dict[str, Any]:
    """configure() with ``config`` and call the detector for ``seconds``; what happened."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import nethical_otel
    from nethical_otel import instrument_detector

    detector = instrument_detector("sql_injection")(scan_for_sql_injection)
    exporter = InMemorySpanExporter()  # one per pipeline: shutdown() stops it
    nethical_otel.configure(config, additional_span_processors=[SimpleSpanProcessor(exporter)])
    calls = threats = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        result = detector("name' or 1=1 --")
        calls += 1
        threats += bool(result["is_threat"])
        untagged_housekeeping()
    nethical_otel.shutdown()
    profile_ids = {
        str(span.attributes[PROFILE_ID])
        for span in exporter.get_finished_spans()
        if span.attributes and PROFILE_ID in span.attributes
    }
    return {"calls": calls, "threats": threats, "profile_ids": sorted(profile_ids)}


def main() -> None:
    scenario = json.loads(sys.argv[1])
    if scenario.get("hide_pyroscope"):
        sys.modules["pyroscope"] = None  # type: ignore[assignment]  # import raises ImportError
    collected = Collect()
    logging.getLogger().addHandler(collected)

    phases = [run_phase(phase["config"], phase["seconds"]) for phase in scenario["phases"]]
    child_config = scenario.get("fork_child_config")
    if child_config is None:
        report("parent", collected, phases)
        return
    import nethical_otel

    # Fork with the last phase's pipeline still running, as a pre-fork server does.
    last = scenario["phases"][-1]
    nethical_otel.configure(last["config"])
    logged_before_fork = len(collected.messages)
    pid = os.fork()
    if pid == 0:
        del collected.messages[:logged_before_fork]
        report("child", collected, [run_phase(child_config, 2.0)])
        os._exit(0)
    os.waitpid(pid, 0)
    nethical_otel.shutdown()
    report("parent", collected, phases)


def report(process: str, collected: Collect, phases: list[dict[str, Any]]) -> None:
    line = {"process": process, "phases": phases, "warnings": collected.messages}
    print(json.dumps(line), flush=True)


PROFILE_ID = "pyroscope.profile.id"

if __name__ == "__main__":
    main()
