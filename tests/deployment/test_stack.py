"""The compose stack's files, run with real binaries on 127.0.0.1 (no Docker engine here).

One workload feeds everything, as in the stack: the demo app runs with config/deployment.yaml, its
service endpoints pointed at local processes the way docker-compose.yml points them at services:

  demo --/metrics--> Prometheus (collector/prometheus.yml, jobs "nethical" and "alertmanager")
   |                     \\--rules (collector/alert-rules.yml)--> two Alertmanager peers gossiping as one
   |                                 cluster (collector/alertmanager.yml, started by its entrypoint) --> webhook
   |--OTLP--> rotel (the collector hop) --> VictoriaMetrics (PromQL, OTLP with Prometheus naming)
   |                                    \\--> trace sink
   |--alerts--> both peers of the same cluster (fleet mode);  --profiles--> a Pyroscope recorder

Stand-ins, and why: rotel for otelcol-contrib and VictoriaMetrics for "Prometheus scraping the
collector's prometheus exporter" (neither otelcol nor an OTLP-enabled Prometheus installs here;
VictoriaMetrics applies the same Prometheus naming rules to OTLP); recorders for Pyroscope and Jaeger.

To see an alert fire within the test, the copy of alert-rules.yml that Prometheus loads has one change:
NethicalHighErrorRate's threshold drops from 0.05 to 0.001 and its `for` to 0s (the demo's detectors fail
1-3% of calls). alert-rules.test.yml proves the real thresholds and durations with promtool.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests._support.alertmanager import AlertmanagerServer, cluster
from tests._support.binaries import require_binary
from tests._support.compose import COMPOSE_FILE
from tests._support.demo import DemoProcess
from tests._support.deployment import (
    ALERT_RULES,
    ALERTMANAGER_CONFIG,
    ALERTMANAGER_ENTRYPOINT,
    DEPLOYMENT_CONFIG,
    PROMETHEUS_CONFIG,
    load_yaml,
)
from tests._support.docs import promql_examples
from tests._support.grafana import (
    PanelQuery,
    expand,
    label_values_query,
    load_dashboards,
    panels,
    promql_queries,
    variable_queries,
)
from tests._support.net import wait_until
from tests._support.prometheus import PrometheusServer
from tests._support.recorder import RecordingServer
from tests._support.rotel import RotelCollector, require_rotel
from tests._support.victoria import VictoriaMetricsServer

pytestmark = pytest.mark.integration

# 120 calls/s: every per-detector panel of the drill-down (errors, false positives) sees events
# within the live window, with a chance of an empty one below 1 in 1000.
WORKLOAD_SECONDS, RATE = 25.0, 120.0
JOB_DIRECT, JOB_COLLECTOR = "nethical", "otel-collector"
DRILL_DOWN_DETECTOR = "prompt_injection"  # the simulated detector that exercises every drill-down panel
# Grafana's interval variables for the live checks: windows inside the workload.
LIVE = {"__rate_interval": "20s", "__range": "5m"}
# For comparing the two paths after the workload: windows covering all of it, so a series created at any
# moment of the run is in both answers.
SETTLED = {"__rate_interval": "90s", "__range": "5m"}
# Labels that say where a series came from rather than what it measures: the scrape target on one
# path, the OTLP resource on the other.
ORIGIN_LABELS = ("job", "instance", "service_", "telemetry_", "deployment_", "otel_scope_", "exported_")

DASHBOARD_QUERIES = [query for d in load_dashboards().values() for query in promql_queries(d)]
NETHICAL_QUERIES = [query for query in DASHBOARD_QUERIES if "nethical_" in query.expr]


@dataclass
class Stack:
    prometheus: PrometheusServer
    victoria: VictoriaMetricsServer
    alertmanagers: list[AlertmanagerServer]  # the peers of one cluster
    chat: RecordingServer
    traces: RecordingServer
    pyroscope: RecordingServer
    summary: dict[str, Any]
    live_at: float  # inside the workload: rates are the workload's
    settled_at: float  # after it: both paths hold every final value


def _rules_that_fire_here(workdir: Path) -> Path:
    rules = load_yaml(ALERT_RULES)
    (rule,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "NethicalHighErrorRate"]
    assert rule["expr"].count("> 0.05") == 1
    rule["expr"] = rule["expr"].replace("> 0.05", "> 0.001")
    rule["for"] = "0s"
    path = workdir / "alert-rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return path


def _prometheus_config(local: dict[str, str], rules: Path) -> dict[str, Any]:
    """collector/prometheus.yml with service addresses mapped to local ones; jobs without one dropped."""
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rules)]
    for alertmanagers in config["alerting"]["alertmanagers"]:
        for static in alertmanagers["static_configs"]:
            static["targets"] = [local[target] for target in static["targets"]]
    jobs = []
    for job in config["scrape_configs"]:
        targets = [target for static in job["static_configs"] for target in static["targets"]]
        if all(target in local for target in targets):
            job["static_configs"] = [{"targets": [local[target] for target in targets]}]
            jobs.append(job)
    config["scrape_configs"] = jobs
    assert {job["job_name"] for job in jobs} == {JOB_DIRECT, "alertmanager"}
    return config


def _compose_feature_flags() -> list[str]:
    """The --enable-feature flags docker-compose.yml gives Prometheus (exemplar storage)."""
    command = load_yaml(COMPOSE_FILE)["services"]["prometheus"]["command"]
    return [argument for argument in command if argument.startswith("--enable-feature=")]


def _total_requests(server: PrometheusServer | VictoriaMetricsServer, job: str) -> float:
    result = server.query(f'sum(nethical_requests_total{{job="{job}"}})')
    return result[0]["value"] if result else 0.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory, prometheus_binary, alertmanager_binary) -> Iterator[Stack]:
    victoria_binary = require_binary("victoria-metrics", package="victoria-metrics from trixie")
    rotel_binary = require_rotel()
    workdir = tmp_path_factory.mktemp("stack")
    with contextlib.ExitStack() as running:
        chat = running.enter_context(RecordingServer())
        traces = running.enter_context(RecordingServer())
        pyroscope = running.enter_context(RecordingServer())
        victoria = running.enter_context(VictoriaMetricsServer(victoria_binary, workdir))
        rotel = RotelCollector(
            rotel_binary,
            workdir,
            endpoint=traces.url,
            metrics_endpoint=victoria.otlp_metrics_url,
            # Prometheus labels what it scrapes from the collector job="otel-collector"; here the
            # collector hop adds the same label, so the dashboards' $job selects this path alike.
            resource_attributes={"job": JOB_COLLECTOR},
        )
        running.enter_context(rotel)
        secrets = workdir / "alertmanager-secrets"
        config = ALERTMANAGER_CONFIG.read_text(encoding="utf-8").replace("/run/alertmanager-secrets", str(secrets))
        # Started through collector/alertmanager-entrypoint.sh, which reads these (the child inherits them).
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv("ALERTMANAGER_BINARY", alertmanager_binary)
            environment.setenv("ALERTMANAGER_SECRETS_DIR", str(secrets))
            environment.setenv("SLACK_WEBHOOK_URL", f"{chat.url}/slack")
            environment.setenv("PAGERDUTY_ROUTING_KEY", "")
            peers = running.enter_context(cluster(str(ALERTMANAGER_ENTRYPOINT), workdir, config))
        demo = DemoProcess(
            workdir,
            duration=WORKLOAD_SECONDS,
            rate=RATE,
            linger=600.0,  # stopped by the fixture
            config=DEPLOYMENT_CONFIG,
            env={
                "OTEL_SERVICE_NAME": "nethical",
                "NETHICAL_ENVIRONMENT": "test",
                "NETHICAL_OTLP_ENDPOINT": rotel.otlp_http_url,
                "OTEL_METRIC_EXPORT_INTERVAL": "1000",
                "ALERTMANAGER_URL": peers[0].url,
                "ALERTMANAGER_URL_2": peers[1].url,
                "PYROSCOPE_SERVER_ADDRESS": pyroscope.url,
                "NETHICAL_ALERT_STORAGE": str(workdir / "alerts.sqlite"),
            },
        )
        local = {
            "nethical:9091": f"127.0.0.1:{demo.port}",
            "alertmanager:9093": f"127.0.0.1:{peers[0].port}",
            "alertmanager-2:9093": f"127.0.0.1:{peers[1].port}",
        }
        prometheus = PrometheusServer(
            prometheus_binary,
            workdir,
            config=_prometheus_config(local, _rules_that_fire_here(workdir)),
            extra_args=_compose_feature_flags(),
        )
        running.enter_context(prometheus)
        running.enter_context(demo)
        summary = demo.wait_workload(timeout=WORKLOAD_SECONDS + 60)
        workload_end = demo.summary_file.stat().st_mtime
        total = float(sum(row["count"] for row in summary["requests"]))
        for server, job in ((prometheus, JOB_DIRECT), (victoria, JOB_COLLECTOR)):
            wait_until(lambda s=server, j=job: _total_requests(s, j) == total, 30, f"final counts of {job}")
        yield Stack(prometheus, victoria, peers, chat, traces, pyroscope, summary, workload_end - 2.0, time.time())


# Expanding the dashboards' variables as Grafana would ------------------------------------------------
def _label_values(server: PrometheusServer | VictoriaMetricsServer, query: str, job: str) -> list[str]:
    selector, label = label_values_query(query)
    params = {"match[]": expand(selector, {"job": job})} if selector else {}
    return sorted(server.api(f"label/{label}/values", **params))


def _variables(server: PrometheusServer | VictoriaMetricsServer, query: PanelQuery, job: str) -> dict[str, str]:
    values = {"job": job}
    (dashboard,) = [d for d in load_dashboards().values() if d["uid"] == query.dashboard]
    detector = variable_queries(dashboard).get("detector_type")
    if detector is not None:
        detectors = _label_values(server, detector, job)
        assert DRILL_DOWN_DETECTOR in detectors
        (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == "detector_type"]
        # "All" of a multi-value variable: Grafana sends the regex (a|b|...) of every value.
        values["detector_type"] = f"({'|'.join(detectors)})" if variable["multi"] else DRILL_DOWN_DETECTOR
    return values


def _run(
    server: PrometheusServer | VictoriaMetricsServer, query: PanelQuery, job: str, intervals: dict[str, str], at: float
) -> list[dict[str, Any]]:
    expr = expand(query.expr, {**intervals, **_variables(server, query, job)})
    return server.query(expr, at=at)


def _series(result: list[dict[str, Any]]) -> set[tuple[tuple[str, Any], ...]]:
    """What each answer's series measure, independent of the path it came by (le compared as a number)."""
    series = set()
    for row in result:
        labels = {
            key: float(value) if key == "le" else value
            for key, value in row["metric"].items()
            if not key.startswith(ORIGIN_LABELS)
        }
        series.add(tuple(sorted(labels.items())))
    return series


# Dashboards ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", DASHBOARD_QUERIES, ids=lambda q: q.id)
def test_every_dashboard_query_returns_data_from_prometheus(stack, query):
    result = _run(stack.prometheus, query, JOB_DIRECT, LIVE, stack.live_at)
    assert result, f"{query.id} returned no data: {query.expr}"
    assert any(math.isfinite(row["value"]) for row in result), f"{query.id}: only NaN/Inf: {result}"


def test_every_dashboard_variable_lists_the_demos_values(stack):
    for dashboard in load_dashboards().values():
        for name, query in variable_queries(dashboard).items():
            values = _label_values(stack.prometheus, query, JOB_DIRECT)
            if name == "job":
                assert JOB_DIRECT in values
            else:
                assert set(values) == {row["detector_type"] for row in stack.summary["requests"]}


@pytest.mark.parametrize("query", NETHICAL_QUERIES, ids=lambda q: q.id)
def test_dashboard_queries_return_the_same_series_through_the_collector(stack, query):
    direct = _run(stack.prometheus, query, JOB_DIRECT, SETTLED, stack.settled_at)
    collected = _run(stack.victoria, query, JOB_COLLECTOR, SETTLED, stack.settled_at)
    assert collected, f"{query.id} returned no data through the collector"
    assert _series(collected) == _series(direct)


# The collector path -------------------------------------------------------------------------------------
def test_the_collector_path_carries_every_nethical_metric_under_the_same_name_and_labels(stack):
    def families(server: PrometheusServer | VictoriaMetricsServer, job: str) -> dict[str, set[str]]:
        keys: dict[str, set[str]] = {}
        for row in server.query(f'{{__name__=~"nethical_.+", job="{job}"}}', at=stack.settled_at):
            labels = {k for k in row["metric"] if k != "__name__" and not k.startswith(ORIGIN_LABELS)}
            keys.setdefault(row["metric"]["__name__"], set()).update(labels)
        return keys

    direct = families(stack.prometheus, JOB_DIRECT)
    assert {"nethical_requests_total", "nethical_request_latency_seconds_bucket"} <= set(direct)
    assert families(stack.victoria, JOB_COLLECTOR) == direct


def test_the_collector_path_totals_equal_the_workload(stack):
    expected = {(row["detector_type"], row["status"]): row["count"] for row in stack.summary["requests"]}
    for server, job in ((stack.prometheus, JOB_DIRECT), (stack.victoria, JOB_COLLECTOR)):
        measured = {
            (row["metric"]["detector_type"], row["metric"]["status"]): row["value"]
            for row in server.query(f'sum by (detector_type, status) (nethical_requests_total{{job="{job}"}})')
        }
        assert measured == expected, job


def test_the_promql_of_the_docs_returns_the_same_series_through_the_collector(stack):
    examples = promql_examples()
    assert examples
    for example in examples:
        expr = example.expr.replace("[5m]", f"[{SETTLED['__rate_interval']}]")
        direct = stack.prometheus.query(expr, at=stack.settled_at)
        collected = stack.victoria.query(expr, at=stack.settled_at)
        assert direct, f"{example.where} {example.title!r} returned no data: {expr}"
        assert _series(collected) == _series(direct), example.title


def _exported_spans(stack: Stack) -> list[tuple[str, str, str, str]]:
    """(service.name, span name, trace id, span id) of every span that reached the trace sink."""
    spans = []
    for recorded in stack.traces.received("/v1/traces"):
        request = ExportTraceServiceRequest.FromString(recorded.body)
        for resource_spans in request.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                spans += [
                    (resource.get("service.name", ""), span.name, span.trace_id.hex(), span.span_id.hex())
                    for span in scope.spans
                ]
    return spans


def test_spans_pass_through_the_collector_with_the_apps_resource(stack):
    detectors = {f"detect {row['detector_type']}" for row in stack.summary["requests"]}
    wait_until(lambda: detectors <= {span[1] for span in _exported_spans(stack)}, 30, "spans of all four detectors")
    # Every span the app exported (its alert deliveries too) kept the app's resource on the way.
    assert {span[0] for span in _exported_spans(stack)} == {"nethical"}


EXEMPLAR_QUERIES = [
    query
    for dashboard in load_dashboards().values()
    for panel in panels(dashboard)
    for target in panel.get("targets", [])
    if target.get("exemplar")
    for query in promql_queries(dashboard)
    if (query.panel, query.ref_id) == (panel["title"], target["refId"])
]


@pytest.mark.parametrize("query", EXEMPLAR_QUERIES, ids=lambda q: q.id)
def test_exemplar_panels_get_exemplars_whose_traces_reached_the_trace_backend(stack, query):
    # What Grafana asks Prometheus for an exemplar-enabled query, over the dashboard's time range.
    expr = expand(query.expr, {**LIVE, **_variables(stack.prometheus, query, JOB_DIRECT)})
    answer = stack.prometheus.api(
        "query_exemplars", query=expr, start=f"{stack.settled_at - 3600:.3f}", end=f"{stack.settled_at:.3f}"
    )
    linked = {(e["labels"]["trace_id"], e["labels"]["span_id"]) for series in answer for e in series["exemplars"]}
    assert linked, f"{query.id}: Prometheus holds no exemplar for {expr}"
    # Exemplars are the latest calls, whose spans may still wait in the app's batch span processor.
    wait_until(
        lambda: linked <= {(span[2], span[3]) for span in _exported_spans(stack)},
        30,
        f"{query.id}: the spans of its exemplars at the trace backend",
    )
    exported = {(trace_id, span_id): name for _, name, trace_id, span_id in _exported_spans(stack)}
    assert {exported[ids] for ids in linked} <= {f"detect {row['detector_type']}" for row in stack.summary["requests"]}


# Alerting -----------------------------------------------------------------------------------------------
def test_a_firing_rule_reaches_the_webhook_through_alertmanager(stack):
    def posted() -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in stack.chat.received("/slack")]

    def error_rate_messages() -> list[dict[str, Any]]:
        return [
            attachment
            for message in posted()
            for attachment in message.get("attachments", [])
            if attachment.get("title", "").startswith("[FIRING]") and " fails " in attachment["title"]
        ]

    wait_until(lambda: bool(error_rate_messages()), 90, "NethicalHighErrorRate in the Slack-format webhook")
    held = [a for a in stack.alertmanagers[0].alerts() if a["labels"]["alertname"] == "NethicalHighErrorRate"]
    assert held, "Alertmanager does not hold the alert"
    for alert in held:
        assert alert["labels"]["severity"] == "warning"
        assert alert["labels"]["stack"] == "nethical-otel"  # Prometheus' external label
        assert [receiver["name"] for receiver in alert["receivers"]] == ["chat"]
    detectors = {alert["labels"]["detector_type"] for alert in held}
    assert any(detector in message["title"] for message in error_rate_messages() for detector in detectors)


def test_the_apps_own_alerts_reach_every_peer_of_the_same_alertmanager_cluster(stack):
    def from_the_app(peer: AlertmanagerServer) -> set[str]:
        return {a["fingerprint"] for a in peer.alerts() if "stack" not in a["labels"]}

    first, second = stack.alertmanagers
    wait_until(lambda: bool(from_the_app(first)), 30, "an alert the app sent to Alertmanager itself")
    wait_until(lambda: from_the_app(first) <= from_the_app(second), 30, "the same alerts on the other peer")
    for alert in first.alerts():
        assert alert["labels"]["severity"] in ("critical", "warning", "info")
    sent = stack.prometheus.query(
        f'nethical_alerts_total{{job="{JOB_DIRECT}", channel="alertmanager", outcome="sent"}}'
    )
    assert sent and sum(row["value"] for row in sent) > 0
    # Both peers accepted the app's last post: each shows as up in the app's self-metrics.
    up = stack.prometheus.query(f'nethical_alert_peer_up{{job="{JOB_DIRECT}"}}')
    assert {row["metric"]["peer"]: row["value"] for row in up} == {peer.url: 1.0 for peer in stack.alertmanagers}


def test_profiles_reach_pyroscope(stack):
    pushes = stack.pyroscope.received("/push.v1.PusherService/Push")
    assert pushes, "no profile was pushed during the workload"
