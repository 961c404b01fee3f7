"""Grafana's provisioning and dashboards, validated statically (no Grafana installs here): structure,
stable uids, datasources referenced by uid, panel types, the original nine panels and the additions, and
thresholds equal to the SDK's alert defaults. Their PromQL runs for real in test_stack.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nethical_otel import semconv
from nethical_otel.config import AlertRulesConfig, load_config
from tests._support.deployment import DEPLOYMENT_CONFIG, GRAFANA_DIR, host_port, load_yaml
from tests._support.grafana import load_dashboards, panels, promql_queries

DASHBOARD_UIDS = {
    "nethical-overview.json": "nethical-overview",
    "nethical-detector.json": "nethical-detector",
    "nethical-alerts.json": "nethical-alerts",
}
DATASOURCES = {  # uid -> (type, compose service, port)
    "prometheus": ("prometheus", "prometheus", 9090),
    "alertmanager": ("alertmanager", "alertmanager", 9093),
    "jaeger": ("jaeger", "jaeger", 16686),
    "pyroscope": ("grafana-pyroscope-datasource", "pyroscope", 4040),
}
PANEL_TYPES = {"timeseries", "stat", "gauge", "heatmap", "bargauge", "table", "flamegraph"}
ORIGINAL_NINE = [
    "Requests/s by detector",
    "Latency P50 / P95 / P99",
    "Threats by type",
    "Cache hit rate",
    "Active detectors",
    "Error rate by detector",
    "Model inference P95",
    "Latency heatmap",
    "Confidence distribution",
]
DEFAULTS = AlertRulesConfig()


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict[str, Any]]:
    return load_dashboards()


@pytest.fixture(scope="module")
def datasources() -> dict[str, dict[str, Any]]:
    provisioned = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "datasources.yml")
    return {source["uid"]: source for source in provisioned["datasources"]}


def _by_title(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {panel["title"]: panel for panel in panels(dashboard)}


def _references(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for panel in panels(dashboard):
        found.append((panel["title"], panel["datasource"]))
        found += [(f"{panel['title']}/{t['refId']}", t["datasource"]) for t in panel.get("targets", [])]
    found += [(f"${v['name']}", v["datasource"]) for v in dashboard["templating"]["list"] if "datasource" in v]
    return found


def test_datasources_have_fixed_uids_and_point_at_the_stacks_services(datasources, services):
    assert set(datasources) == set(DATASOURCES)
    for uid, (kind, service, port) in DATASOURCES.items():
        source = datasources[uid]
        assert source["type"] == kind, uid
        assert host_port(source["url"]) == (service, port), uid
        assert service in services, uid
        assert port in {int(p["target"]) for p in services[service]["ports"]}, uid
    assert [uid for uid, source in datasources.items() if source.get("isDefault")] == ["prometheus"]
    # $__rate_interval is derived from this; it must be Prometheus' scrape interval.
    scrape_interval = load_yaml(GRAFANA_DIR.parent / "collector" / "prometheus.yml")["global"]["scrape_interval"]
    assert datasources["prometheus"]["jsonData"]["timeInterval"] == scrape_interval


def test_the_dashboard_provider_loads_the_directory_compose_mounts(services):
    (provider,) = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml")["providers"]
    mounts = {v["target"]: v["source"] for v in services["grafana"]["volumes"] if v["type"] == "bind"}
    assert mounts[provider["options"]["path"]] == str(GRAFANA_DIR / "dashboards")
    assert provider["allowUiUpdates"] is False


def test_every_dashboard_has_its_stable_uid_and_the_nethical_tag(dashboards):
    assert {name: d["uid"] for name, d in dashboards.items()} == DASHBOARD_UIDS
    for dashboard in dashboards.values():
        assert dashboard["id"] is None  # provisioning assigns ids; uids are what links use
        assert "nethical" in dashboard["tags"]
        assert dashboard["title"] and dashboard["schemaVersion"] >= 36


def test_every_datasource_reference_is_a_provisioned_uid_of_the_right_type(dashboards, datasources):
    for name, dashboard in dashboards.items():
        for where, reference in _references(dashboard):
            assert set(reference) == {"type", "uid"}, f"{name} {where}: {reference}"
            assert reference["uid"] in datasources, f"{name} {where}: unknown datasource uid {reference}"
            assert reference["type"] == datasources[reference["uid"]]["type"], f"{name} {where}"
        # Exported dashboards carry ${DS_...} inputs that provisioning cannot fill.
        assert "${DS_" not in str(dashboard) and "__inputs" not in dashboard, name


def test_panels_have_known_types_unique_ids_and_fit_the_grid(dashboards):
    for name, dashboard in dashboards.items():
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)), name
        cells: set[tuple[int, int]] = set()
        for panel in panels(dashboard):
            assert panel["type"] in PANEL_TYPES, f"{name}: {panel['title']} is a {panel['type']}"
            assert panel["title"] and panel["description"], f"{name}: panel {panel['id']} lacks title/description"
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, f"{name}: {panel['title']} overflows the grid"
            area = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
            assert not area & cells, f"{name}: {panel['title']} overlaps another panel"
            cells |= area
            assert panel["type"] == "flamegraph" or panel.get("targets"), f"{name}: {panel['title']} has no query"


def test_the_overview_has_the_original_nine_panels_and_the_additions(dashboards):
    overview = _by_title(dashboards["nethical-overview.json"])
    missing = [title for title in ORIGINAL_NINE if title not in overview]
    assert not missing, missing
    assert overview["Latency heatmap"]["type"] == "heatmap"
    assert overview["Confidence distribution"]["targets"][0]["expr"].startswith(
        "sum by (le) (increase(nethical_confidence_score_bucket"
    )
    assert "nethical_detector_health" in overview["Detector health"]["targets"][0]["expr"]
    alerts = overview["Alerts by channel and outcome"]["targets"][0]["expr"]
    assert "nethical_alerts_total" in alerts and "by (channel, outcome)" in alerts
    flame = [panel for panel in overview.values() if panel["type"] == "flamegraph"]
    assert len(flame) == 1 and flame[0]["datasource"]["uid"] == "pyroscope"


def test_flame_graphs_query_cpu_profiles_of_the_service(dashboards):
    for dashboard in dashboards.values():
        for panel in panels(dashboard):
            if panel["type"] == "flamegraph":
                (target,) = panel["targets"]
                assert target["queryType"] == "profile"
                assert target["profileTypeId"] == "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
                assert target["labelSelector"].startswith('{service_name="nethical"')


def test_detector_type_is_a_variable_on_the_overview_and_a_single_choice_on_the_drill_down(dashboards):
    def variable(dashboard: dict[str, Any], name: str) -> dict[str, Any]:
        (found,) = [v for v in dashboard["templating"]["list"] if v["name"] == name]
        return found

    overview = variable(dashboards["nethical-overview.json"], "detector_type")
    assert overview["multi"] and overview["includeAll"]
    drill_down = variable(dashboards["nethical-detector.json"], "detector_type")
    assert not drill_down["multi"] and not drill_down["includeAll"]
    for dashboard in dashboards.values():
        assert not variable(dashboard, "job")["multi"], "two sources at once would count everything twice"


def test_every_nethical_query_reads_one_source_and_honours_the_detector_selection(dashboards):
    for dashboard in dashboards.values():
        has_detector = any(v["name"] == "detector_type" for v in dashboard["templating"]["list"])
        for query in promql_queries(dashboard):
            for selector in re.findall(r"(nethical_\w+)\{([^}]*)\}", query.expr):
                assert 'job="$job"' in selector[1], f"{query.id}: {selector[0]} is not filtered by $job"
            metrics = set(re.findall(r"nethical_\w+", query.expr))
            per_detector = any(m.startswith(("nethical_requests", "nethical_request_latency")) for m in metrics)
            if has_detector and per_detector:
                assert "$detector_type" in query.expr, f"{query.id} ignores the detector selection"


def test_panel_thresholds_are_the_sdk_alert_defaults(dashboards):
    overview = _by_title(dashboards["nethical-overview.json"])

    def steps(title: str) -> list[float]:
        defaults = overview[title]["fieldConfig"]["defaults"]
        return [step["value"] for step in defaults["thresholds"]["steps"] if step["value"] is not None]

    assert steps("Latency P50 / P95 / P99") == [DEFAULTS.high_latency_threshold_ms / 1000.0]
    assert steps("Error rate by detector") == [DEFAULTS.high_error_rate_threshold]
    assert steps("Cache hit rate") == [DEFAULTS.min_cache_hit_rate]
    assert steps("Threat rate") == [DEFAULTS.high_threat_rate_threshold]


def test_dashboards_link_to_each_other(dashboards):
    for name, dashboard in dashboards.items():
        assert any(link["type"] == "dashboards" and "nethical" in link["tags"] for link in dashboard["links"]), name


# Exemplars: from a latency or confidence bucket to the trace of a call in it, and on to its profile ------
EXEMPLAR_FAMILIES = {spec.prometheus_name for spec in semconv.CONTRACT if spec.exemplars}
EXEMPLAR_PANEL_TYPES = {"timeseries", "heatmap"}  # the panels that draw exemplars


def _reads_exemplars(expr: str) -> bool:
    return any(re.search(rf"\b{family}(_bucket)?\b", expr) for family in EXEMPLAR_FAMILIES)


def test_the_prometheus_datasource_opens_exemplar_trace_ids_in_jaeger_by_uid(datasources):
    (destination,) = datasources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert destination["name"] == semconv.EXEMPLAR_TRACE_ID  # the exemplar label the SDK writes
    assert datasources[destination["datasourceUid"]]["type"] == "jaeger"
    assert "url" not in destination  # an internal link, by uid: no host name to keep in step


def test_latency_and_confidence_panels_show_exemplars(dashboards):
    for name in ("nethical-overview.json", "nethical-detector.json"):
        by_title = _by_title(dashboards[name])
        for title in ("Latency P50 / P95 / P99", "Latency heatmap", "Confidence distribution"):
            panel = by_title[title]
            assert panel["type"] in EXEMPLAR_PANEL_TYPES, f"{name}: {title} is a {panel['type']}"
            assert any(target.get("exemplar") for target in panel["targets"]), f"{name}: {title}"
        assert by_title["Confidence distribution"]["targets"][0]["range"] is True  # exemplars need a range


def test_exemplars_are_asked_for_only_where_they_exist_and_show(dashboards):
    for name, dashboard in dashboards.items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if target.get("exemplar"):
                    where = f"{name}: {panel['title']}/{target['refId']}"
                    assert panel["type"] in EXEMPLAR_PANEL_TYPES, where
                    assert _reads_exemplars(target["expr"]), where
            # One query per panel asks: the quantiles of one histogram share its exemplars.
            assert sum(bool(t.get("exemplar")) for t in panel.get("targets", [])) <= 1, panel["title"]


def test_spans_keep_their_link_to_cpu_profiles(datasources, monkeypatch):
    monkeypatch.delenv("PYROSCOPE_SERVER_ADDRESS", raising=False)
    profiling = load_config(DEPLOYMENT_CONFIG).profiling
    assert profiling.enabled and profiling.span_links  # root spans carry pyroscope.profile.id
    assert semconv.ATTR_PROFILE_ID == "pyroscope.profile.id"  # the key Grafana's span profiles look for
    assert datasources["pyroscope"]["type"] == "grafana-pyroscope-datasource"
