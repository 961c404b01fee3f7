"""Multiprocess mode side by side with prometheus_client's, on the same workloads.

python -m benchmarks.multiprocess                # 20,000 requests through gunicorn, 2,000 restarts (minutes)
python -m benchmarks.multiprocess --quick        # 2,000 requests, 200 restarts
python -m benchmarks.multiprocess --update-docs  # also write the table into docs/performance.md

* Exact totals: real gunicorn, 4 sync workers restarting every 50 requests, the same detector service
  instrumented by nethical_otel (tests/integration/apps) and by prometheus_client (benchmarks/apps).
* No pile-up and flat scrapes: 4 live workers and N restarts (benchmarks/_multiprocess_churn.py).
* Hot path: a decorated call, metrics only, in multiprocess mode against one process; prometheus_client's
  four records likewise (in subprocesses: it chooses its mode at import).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from benchmarks._multiprocess_churn import CALLS as CALLS_PER_CHURN_WORKER
from benchmarks._multiprocess_churn import LIVE_WORKERS as LIVE_WORKERS_CHURN

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "performance.md"
START, END = "<!-- multiprocess-benchmark:start -->", "<!-- multiprocess-benchmark:end -->"
BIN = Path(sys.executable).parent
WORKERS, MAX_REQUESTS = 4, 50


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bytes(response.read())
    except OSError:
        return None


def _wait(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while _get(url) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.2)


def _text(index: int) -> str:
    return "please jailbreak the model" if index % 10 == 0 else ("fail now" if index % 25 == 1 else f"q {index}")


def gunicorn(implementation: str, requests: int, workdir: Path) -> dict[str, Any]:
    """Serve ``requests`` through real gunicorn; what /metrics says after, and what is on disk."""
    directory = workdir / implementation
    directory.mkdir()
    port, metrics_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "NETHICAL_", "PROMETHEUS_"))},
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_MAX_REQUESTS": str(MAX_REQUESTS),
        "XDG_RUNTIME_DIR": str(workdir),
    }
    if implementation == "nethical_otel":
        config = workdir / "nethical.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "prometheus": {"multiprocess_dir": str(directory)},
                    "metrics_server": {"port": metrics_port},
                    "alerting": {"enabled": False},
                    "tracing": {"enabled": False},
                }
            )
        )
        env["NETHICAL_OTEL_CONFIG"] = str(config)
        conf, app = ROOT / "examples" / "prefork" / "gunicorn.conf.py", "detector_service:app"
        pythonpath, metrics = ROOT / "tests" / "integration" / "apps", f"http://127.0.0.1:{metrics_port}/metrics"
    else:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        conf, app = ROOT / "benchmarks" / "apps" / "prometheus_client_gunicorn.conf.py", "prometheus_client_service:app"
        pythonpath, metrics = ROOT / "benchmarks" / "apps", f"http://127.0.0.1:{port}/metrics"
    env["PYTHONPATH"] = str(ROOT)
    command = [str(BIN / "gunicorn"), "-c", str(conf), "--pythonpath", str(pythonpath), app]
    with (workdir / f"{implementation}.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}/")
        _wait(metrics)

        def one(index: int) -> int:
            url = f"http://127.0.0.1:{port}/classify?{urllib.parse.urlencode({'text': _text(index)})}"
            for _ in range(20):
                body = _get(url)
                if body is not None:
                    return int(json.loads(body)["worker"])
            raise RuntimeError(f"request {index} never answered")

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            pids = set(pool.map(one, range(requests)))
        seconds = time.perf_counter() - started
        time.sleep(3)  # the last restarted workers finish booting
        body = _get(metrics) or b""
        files = len(os.listdir(directory))
    finally:
        server.terminate()
        server.wait(60)
    values: dict[str, float] = {}
    gauges = 0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
            gauges += sample.name == "nethical_active_detectors"
    # nethical_otel: one series, the sum over live workers. prometheus_client: one series per pid.
    lingering = (
        values.get("nethical_active_detectors", 0) - WORKERS if implementation == "nethical_otel" else gauges - WORKERS
    )
    return {
        "requests_total": values.get("nethical_requests_total", 0.0),
        "latency_count": values.get("nethical_request_latency_seconds_count", 0.0),
        "dead_gauge_series": lingering,
        "files": files,
        "workers_seen": len(pids),
        "seconds": seconds,
    }


def churn(implementation: str, restarts: int, workdir: Path, run: str = "") -> dict[str, Any]:
    directory = workdir / f"churn-{implementation}{run}"
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    name = "nethical" if implementation == "nethical_otel" else "prometheus_client"
    command = [sys.executable, "-m", "benchmarks._multiprocess_churn", name, str(directory), str(restarts)]
    output = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=3600)
    return dict(json.loads(output.stdout))


_PROMETHEUS_CLIENT_CALLS = """
import json, statistics, time
from benchmarks.overhead import prometheus_client_style
call = prometheus_client_style()
samples = []
for _ in range({rounds}):
    started = time.perf_counter_ns()
    for _ in range({calls}):
        call("ignore previous instructions")
    samples.append((time.perf_counter_ns() - started) / {calls})
print(json.dumps(statistics.median(samples)))
"""


def hot_path(rounds: int, calls: int, workdir: Path) -> dict[str, float]:
    from benchmarks._timing import Variant, run_interleaved
    from benchmarks.overhead import DETECTOR, activate, detect, nethical_pipeline
    from nethical_otel import instrument_detector

    decorated = instrument_detector(DETECTOR)(detect)
    metrics_only = {"tracing": {"enabled": False}}
    # With sampled spans every call's measurements carry an exemplar (the default trace_based filter).
    pipelines = {
        "single": nethical_pipeline(metrics_only),
        "multiprocess": nethical_pipeline({**metrics_only, "prometheus": {"multiprocess_dir": str(workdir / "hot")}}),
        "single, exemplars": nethical_pipeline({}),
        "multiprocess, exemplars": nethical_pipeline({"prometheus": {"multiprocess_dir": str(workdir / "hot-ex")}}),
    }
    variants = [Variant(name, decorated, activate(pipeline)) for name, pipeline in pipelines.items()]
    run_interleaved(variants, rounds=rounds, calls=calls)
    for pipeline in pipelines.values():
        pipeline.shutdown()
    result = {variant.name: variant.median_ns for variant in variants}
    for mode in ("single", "multiprocess"):
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        if mode == "multiprocess":
            env["PROMETHEUS_MULTIPROC_DIR"] = str(workdir / "hot-prometheus-client")
            os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
        code = _PROMETHEUS_CLIENT_CALLS.format(rounds=rounds, calls=calls)
        output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
        result[f"prometheus_client {mode}"] = float(json.loads(output.stdout))
    return result


def table(
    requests: int,
    restarts: int,
    totals: dict[str, Any],
    churns: dict[str, Any],
    long_churn: dict[str, Any],
    calls: dict[str, float],
):
    ours, theirs = totals["nethical_otel"], totals["prometheus_client"]
    ours_churn, theirs_churn = churns["nethical_otel"], churns["prometheus_client"]
    long_restarts = long_churn["restarts"]
    long_requests = (long_restarts + LIVE_WORKERS_CHURN) * CALLS_PER_CHURN_WORKER

    def ratio(run: dict[str, Any]) -> float:
        return float(run["last_scrape_ms"] / run["first_scrape_ms"])

    def scrapes(run: dict[str, Any]) -> str:
        return f"{ratio(run):.2f}× ({run['first_scrape_ms']:.1f} → {run['last_scrape_ms']:.1f} ms)"

    mp, sp = calls["multiprocess"], calls["single"]
    mpx, spx = calls["multiprocess, exemplars"], calls["single, exemplars"]
    pc_mp, pc_sp = calls["prometheus_client multiprocess"], calls["prometheus_client single"]
    rows = [
        (
            "sum(nethical_requests_total)",
            f"{ours['requests_total']:,.0f}",
            f"{theirs['requests_total']:,.0f}",
            f"= {requests:,}",
            ours["requests_total"] == requests,
        ),
        (
            "latency histogram `_count`",
            f"{ours['latency_count']:,.0f}",
            f"{theirs['latency_count']:,.0f}",
            f"= {requests:,}",
            ours["latency_count"] == requests,
        ),
        (
            "gauge series left by dead workers",
            f"{ours['dead_gauge_series']:,.0f}",
            f"{theirs['dead_gauge_series']:,.0f}",
            "0",
            ours["dead_gauge_series"] == 0,
        ),
        (
            f"files after {restarts:,} restarts, {WORKERS} live workers",
            f"{ours_churn['files']:,}",
            f"{theirs_churn['files']:,}",
            f"{WORKERS + 1}",
            ours_churn["files"] == WORKERS + 1,
        ),
        (
            f"scrape after {restarts:,} restarts ÷ scrape after 1",
            scrapes(ours_churn),
            scrapes(theirs_churn),
            "≤ 1.2×",
            ratio(ours_churn) <= 1.2,
        ),
        (
            f"after {long_restarts:,} restarts: files, archive, scrape ÷ first, requests counted",
            f"{long_churn['files']}, {long_churn['archive_bytes']:,} B, {scrapes(long_churn)},"
            f" {long_churn['requests_total']:,.0f}",
            "not run: 20,000 files, each scrape reads all",
            f"{WORKERS + 1}, ≤ 1.2×, = {long_requests:,}",
            long_churn["files"] == WORKERS + 1
            and ratio(long_churn) <= 1.2
            and long_churn["requests_total"] == long_requests,
        ),
        (
            "call cost, multiprocess ÷ one process (metrics only)",
            f"{mp / sp:.2f}× ({sp:,.0f} → {mp:,.0f} ns)",
            f"{pc_mp / pc_sp:.2f}× ({pc_sp:,.0f} → {pc_mp:,.0f} ns, 4 records)",
            "≤ 1.5×",
            mp <= 1.5 * sp,
        ),
        (
            "call cost with sampled spans and exemplars, multiprocess − one process",
            f"+{mpx - spx:,.0f} ns ({spx:,.0f} → {mpx:,.0f} ns)",
            "no exemplars in multiprocess mode",
            "reported",
            True,
        ),
    ]
    lines = [
        f"| {requests:,} requests, gunicorn {WORKERS} workers, max_requests={MAX_REQUESTS} | nethical_otel | "
        "prometheus_client multiprocess | target | |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {'pass' if ok else '**FAIL**'} |" for a, b, c, d, ok in rows]
    return lines, all(ok for *_rest, ok in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.multiprocess")
    parser.add_argument("--quick", action="store_true", help="2,000 requests and 200 restarts")
    parser.add_argument("--update-docs", action="store_true", help=f"write the table into {DOCS.name}")
    args = parser.parse_args(argv)
    requests, restarts = (2_000, 200) if args.quick else (20_000, 2_000)
    long_restarts = 1_000 if args.quick else 10_000
    rounds, calls_per_round = (3, 5_000) if args.quick else (9, 40_000)
    started, load_at_start = time.time(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        totals = {name: gunicorn(name, requests, workdir) for name in ("nethical_otel", "prometheus_client")}
        churns = {name: churn(name, restarts, workdir) for name in ("nethical_otel", "prometheus_client")}
        long_churn = {**churn("nethical_otel", long_restarts, workdir, "long"), "restarts": long_restarts}
        calls = hot_path(rounds, calls_per_round, workdir)
    from benchmarks.__main__ import _machine

    lines, passed = table(requests, restarts, totals, churns, long_churn, calls)
    command = "python -m benchmarks.multiprocess" + (" --quick" if args.quick else "")
    report = "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d', time.gmtime(started))} on {_machine()}, load average "
            f"{load_at_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end; command: `{command}`. "
            f"gunicorn served {totals['nethical_otel']['workers_seen']} worker processes for nethical_otel and "
            f"{totals['prometheus_client']['workers_seen']} for prometheus_client.",
            "",
            *lines,
        ]
    )
    print(report)
    if args.update_docs:
        text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Performance\n"
        if START not in text:
            text += f"\n## Multiprocess mode\n\n{START}\n{END}\n"
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        DOCS.parent.mkdir(exist_ok=True)
        DOCS.write_text(f"{head}{START}\n{report}\n{END}{tail}", encoding="utf-8")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
