"""Where the alert store lives: one private store per service, clear errors for unusable paths, and a
default location that can never stop the application from starting (real read-only file systems)."""

from __future__ import annotations

import logging
import sqlite3
import stat

import pytest

import nethical_otel
from nethical_otel.alerting import AlertManager
from nethical_otel.alerting.store.location import default_path, open_store, resolve_path, service_name
from nethical_otel.config import ConfigError
from tests._support.alerting import settings
from tests._support.mounts import tmpfs
from tests._support.recorder import RecordingServer


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_store_is_one_per_service_in_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path("billing") == tmp_path / "nethical-otel" / "billing" / "alerts.sqlite3"
    assert default_path("../../etc/x y") == tmp_path / "nethical-otel" / "etc_x_y" / "alerts.sqlite3"
    assert resolve_path(None, "search") != resolve_path(None, "billing")
    assert resolve_path("~/x.db").startswith(str(__import__("pathlib").Path.home()))
    assert resolve_path(":memory:") == ":memory:"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    assert service_name() == "checkout" and service_name("configured") == "configured"


def test_two_services_never_share_a_store_or_adopt_each_others_groups(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    one = AlertManager({"console": "off", "webhook_url": "http://127.0.0.1:9/x"}, service_name="one")
    one.send_alert_sync("from one", "m", "warning")
    one.shutdown(timeout=0.5)
    two = AlertManager({"console": "off", "webhook_url": "http://127.0.0.1:9/x"}, service_name="two")
    try:
        assert two.get_alert_history() == [] and two.store_path != one.store_path
    finally:
        two.shutdown(timeout=0.5)


def test_the_store_directory_is_0700_and_its_files_0600(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    (tmp_path / "nethical-otel").mkdir(mode=0o755)  # as an older version left it
    store = open_store(None, "billing")
    store.probe(0.0)
    try:
        path = default_path("billing")
        assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert all(file.exists() and mode(file) == 0o600 for file in files), [(f, oct(mode(f))) for f in files]
    finally:
        store.close()


def test_an_unusable_storage_path_is_a_config_error_naming_the_key_and_the_reason(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    for path, reason in [(tmp_path, "it is a directory"), (plain / "alerts.sqlite3", f"{plain} is not a directory")]:
        with pytest.raises(ConfigError) as raised:
            AlertManager(settings(tmp_path, storage_path=str(path)))
        assert "alerting.storage_path" in str(raised.value) and reason in str(raised.value)
    with pytest.raises(ConfigError, match=r"alerting\.storage_path"):
        nethical_otel.configure({"metrics_server": {"enabled": False}, "alerting": {"storage_path": str(tmp_path)}})


def test_a_storage_path_on_a_read_only_file_system_is_a_config_error(tmp_path):
    with (
        tmpfs(tmp_path / "ro", readonly=True) as directory,
        pytest.raises(ConfigError, match=r"alerting\.storage_path.*Read-only file system"),
    ):
        AlertManager(settings(tmp_path, storage_path=str(directory / "alerts.sqlite3")))


def test_a_corrupt_store_is_moved_aside_with_a_warning_and_a_new_one_started(tmp_path, caplog):
    path = tmp_path / "alerts.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, "nethical_otel.alerting"):
        manager = AlertManager(settings(tmp_path))
    try:
        manager.send_alert_sync("after recovery", "m", "warning")
        assert [e["title"] for e in manager.get_alert_history()] == ["after recovery"]
    finally:
        manager.shutdown(timeout=0.5)
    (aside,) = tmp_path.glob("alerts.sqlite3.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert any("moved aside" in r.getMessage() and str(aside) in r.getMessage() for r in caplog.records)
    sqlite3.connect(path).execute("SELECT count(*) FROM alerts").fetchone()


def test_a_read_only_home_keeps_alerts_in_memory_with_one_warning_and_the_app_starts(monkeypatch, tmp_path, caplog):
    with tmpfs(tmp_path / "home", readonly=True) as home, RecordingServer() as receiver:
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("XDG_DATA_HOME")
        with caplog.at_level(logging.WARNING, "nethical_otel.alerting"):
            telemetry = nethical_otel.configure(
                {
                    "metrics_server": {"enabled": False},
                    "alerting": {"console": "off", "webhook_url": f"{receiver.url}/hook", "rules": {"enabled": False}},
                }
            )
            try:
                manager = nethical_otel.alerting.get_alert_manager()
                assert manager is not None and manager.store_path == ":memory:"
                manager.send_alert_sync("still alerting", "m", "critical")
                receiver.wait_for(1, "/hook", timeout=10)
            finally:
                telemetry.shutdown()
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "alerting.storage_path" in warnings[0] and "Read-only" in warnings[0]
