"""The console channel: one line per notification, on the stream it is told to use."""

from __future__ import annotations

import pytest

from nethical_otel.alerting.channels import build_channels, console
from nethical_otel.alerting.channels._base import Outcome
from nethical_otel.alerting.model import AlertChannel
from nethical_otel.config import load_config
from tests._support.emulators.alerts import HOSTILE, deliver, hostile_alert, make_alert, make_notification


async def test_a_notification_is_one_line_on_stderr_with_facts_and_the_count(capsys):
    channel = console.ConsoleChannel()
    notification = make_notification(make_alert(), AlertChannel.CONSOLE, occurrences=38)
    assert (await deliver(channel, notification)).outcome is Outcome.SENT
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("[nethical-otel alert] [FIRING] CRITICAL: Prompt injection detected — Detector")
    assert "detector_type=prompt_injection" in line and "trace_id=0af7651916cd43dd8448eb211c80319c" in line
    assert line.endswith("]") and "and 37 more since" in line


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_text_never_breaks_the_line_and_is_bounded(capsys, name):
    channel = console.ConsoleChannel("stdout")
    await deliver(channel, make_notification(hostile_alert(HOSTILE[name]), AlertChannel.CONSOLE))
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n") and "\r" not in out and "\x1b" not in out
    assert len(out) < 2600


def test_console_is_the_fallback_only_when_nothing_else_is_configured():
    auto = load_config({}).alerting
    assert list(build_channels(auto)) == [AlertChannel.CONSOLE]
    with_webhook = load_config({"alerting": {"webhook_url": "http://127.0.0.1:1/x"}}).alerting
    assert list(build_channels(with_webhook)) == [AlertChannel.WEBHOOK]
    both = load_config({"alerting": {"webhook_url": "http://127.0.0.1:1/x", "console": "on"}}).alerting
    assert list(build_channels(both)) == [AlertChannel.WEBHOOK, AlertChannel.CONSOLE]
    assert build_channels(load_config({"alerting": {"console": "off"}}).alerting) == {}
    with pytest.raises(ValueError):
        console.ConsoleChannel("stdin")
