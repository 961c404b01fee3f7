"""Components plug into the pipeline by name: the built-in ones and those of installed packages."""

from __future__ import annotations

import importlib
import sys
import textwrap

import nethical_otel
from nethical_otel.pipeline._components import BUILTIN, ENTRY_POINT_GROUP, registered


def test_builtin_components_start_in_order_profiling_alerting_then_the_metrics_server():
    assert list(registered())[:3] == ["profiling", "alerting", "metrics_server"]
    assert list(BUILTIN) == ["profiling", "alerting", "metrics_server"]


def test_a_package_registers_a_component_through_its_entry_point(tmp_path, monkeypatch):
    (tmp_path / "recorder_component.py").write_text(
        textwrap.dedent(
            """
            from nethical_otel.pipeline import Component

            events = []

            class Recorder(Component):
                name = "recorder"

                def start(self, telemetry):
                    events.append(("start", telemetry.metrics_server is not None))

                def shutdown(self, timeout):
                    events.append(("shutdown", timeout))

            def build(config):
                return Recorder() if config.service.name == "with-recorder" else None
            """
        )
    )
    dist = tmp_path / "recorder_component-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: recorder-component\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nrecorder = recorder_component:build\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    nethical_otel.configure({"metrics_server": {"port": 0}, "service": {"name": "with-recorder"}})
    nethical_otel.shutdown(timeout=3.0)
    nethical_otel.configure({"metrics_server": {"enabled": False}})  # its factory says no: not built
    nethical_otel.shutdown()

    events = sys.modules["recorder_component"].events
    # Registered components start after the built-in ones (the metrics server is already up) and stop first,
    # with what remains of the shutdown budget.
    ((started, server_up), (stopped, budget)) = events
    assert (started, server_up, stopped) == ("start", True, "shutdown")
    assert 2.0 < budget <= 3.0


def test_a_broken_plugin_is_logged_and_the_pipeline_still_starts(tmp_path, monkeypatch, caplog):
    dist = tmp_path / "broken_component-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-component\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = no_such_module_anywhere:build\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    telemetry = nethical_otel.configure({"metrics_server": {"enabled": False}})

    assert telemetry.enabled
    assert "cannot load nethical_otel component 'broken'" in caplog.text
