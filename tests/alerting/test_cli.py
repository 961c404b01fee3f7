"""``nethical-otel alert test`` and ``nethical-otel alert history``, run as the user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests._support.recorder import RecordingServer, Reply

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nethical_otel.cli", "alert", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def config_file(tmp_path: Path, **alerting: object) -> str:
    path = tmp_path / "nethical.yaml"
    section = {"storage_path": str(tmp_path / "alerts.sqlite3"), "retry_max_delay_seconds": 0.2, **alerting}
    path.write_text(yaml.safe_dump({"alerting": section}), encoding="utf-8")
    return str(path)


def test_alert_test_reports_each_channel_and_history_shows_it(tmp_path):
    with RecordingServer() as receiver:
        receiver.script = [Reply(500)]  # one failure first: the CLI waits for the retry
        config = config_file(tmp_path, webhook_url=f"{receiver.url}/hook/token-secret", console="on")
        done = cli("test", "--config", config, "--severity", "warning", "--timeout", "10")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines()[:2] == ["console  sent", "webhook  sent"]
        assert "[nethical-otel alert] [FIRING] WARNING: Test alert from nethical-otel" in done.stderr
        (first, second) = receiver.received()
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
    shown = cli("history", "--config", config)
    assert shown.returncode == 0, shown.stderr
    (line,) = shown.stdout.splitlines()
    assert "warning" in line and "Test alert from nethical-otel" in line and "[console=sent webhook=sent]" in line
    as_json = json.loads(cli("history", "--config", config, "--json", "--status", "sent").stdout)
    assert [entry["name"] for entry in as_json] == ["NethicalTestAlert"]
    assert as_json[0]["delivery"]["webhook"]["attempts"] == 2
    assert "token-secret" not in done.stdout + done.stderr + shown.stdout + json.dumps(as_json)
    assert cli("history", "--config", config, "--severity", "critical").stdout.strip() == "no alerts"
    assert cli("history", "--config", config, "--since", "1h").stdout.count("\n") == 1


def test_alert_test_fails_with_the_reason_when_a_channel_fails(tmp_path):
    with RecordingServer(default=Reply(404)) as receiver:
        config = config_file(tmp_path, webhook_url=f"{receiver.url}/hook")
        done = cli("test", "--config", config, "--channel", "webhook", "--timeout", "10")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == "webhook  failed: HTTP 404"


def test_alert_test_names_a_channel_that_is_not_configured_and_bad_config(tmp_path):
    config = config_file(tmp_path, console="on")
    done = cli("test", "--config", config, "--channel", "slack")
    assert done.returncode == 2 and "not configured: slack" in done.stderr
    bad = config_file(tmp_path, max_alerts_per_minute=-1)
    refused = cli("test", "--config", bad)
    assert refused.returncode == 2 and "alerting.max_alerts_per_minute" in refused.stderr
    assert cli("history", "--config", config, "--since", "yesterday").returncode == 2


def test_alert_history_without_a_database_says_so(tmp_path):
    done = cli("history", "--config", config_file(tmp_path))
    assert done.returncode == 0 and "no alert history at" in done.stderr
    assert not (tmp_path / "alerts.sqlite3").exists()


def test_alert_history_shows_no_terminal_control_or_bidi_character_in_table_or_json(tmp_path):
    from nethical_otel.alerting import AlertManager

    hostile = "pay \x9b2J\x1b[31m\u202eevil\u2066 now"
    manager = AlertManager({"storage_path": str(tmp_path / "alerts.sqlite3"), "console": "off"})
    manager.send_alert_sync(hostile, hostile, "warning", metadata={"prompt": hostile})
    manager.shutdown(timeout=1.0)
    table = cli("history", "--config", config_file(tmp_path))
    as_json = cli("history", "--json", "--config", config_file(tmp_path))
    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    for output in (table.stdout, as_json.stdout):
        assert not any(char in output for char in "\x9b\x1b\u202e\u2066"), repr(output)
    assert "pay" in table.stdout and "evil" in table.stdout
    (entry,) = json.loads(as_json.stdout)
    assert entry["title"] == "pay  2J [31m evil  now"


def test_alert_history_of_an_unusable_store_is_an_error_without_traceback(tmp_path):
    (tmp_path / "alerts.sqlite3").write_bytes(b"not a database at all" * 50)
    done = cli("history", "--config", config_file(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "alerting.storage_path" in done.stderr
