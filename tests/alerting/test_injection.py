"""Hostile titles and metadata through the whole pipeline: history, webhook payload and console stay intact."""

from __future__ import annotations

import json

import pytest

from nethical_otel.alerting import AlertSeverity
from nethical_otel.alerting.channels._text import body_text, one_line
from nethical_otel.alerting.intake.values import MESSAGE_LIMIT, METADATA_VALUE_LIMIT, TITLE_LIMIT
from tests._support.alerting import running, settled, verify_standard_webhook, wait_for_history
from tests._support.emulators.alerts import HOSTILE
from tests._support.recorder import RecordingServer

SECRET = "whsec_aG9zdGlsZS10ZXN0LXNpZ25pbmcta2V5LTI0Yg"  # Standard Webhooks format, unpadded


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("boom")

    __repr__ = __str__


class NotAString:
    def __str__(self):  # type: ignore[no-untyped-def]
        return 42  # noqa: PLE0307 - the point of the test


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_is_kept_safely_in_history_payloads_and_console(tmp_path, capsys, name):
    text = HOSTILE[name]
    with (
        RecordingServer() as receiver,
        running(tmp_path, webhook_url=f"{receiver.url}/hook", webhook_secret=SECRET, console="on") as manager,
    ):
        receipt = manager.send_alert_sync(
            text, text, AlertSeverity.CRITICAL, metadata={"input": text, text[:40]: "key", "obj": Unprintable()}
        )
        assert receipt is not None
        (entry,) = wait_for_history(manager, settled)
        (request,) = receiver.received("/hook")
    assert entry["delivery"] == {
        "console": entry["delivery"]["console"] | {"status": "sent"},
        "webhook": entry["delivery"]["webhook"] | {"status": "sent"},
    }
    # History: bounded, encodable text; the unprintable object is named, not raised.
    assert len(entry["title"]) <= TITLE_LIMIT and len(entry["message"]) <= MESSAGE_LIMIT
    assert all(len(str(value)) <= METADATA_VALUE_LIMIT for value in entry["metadata"].values())
    assert entry["metadata"]["obj"] == "<unprintable Unprintable>"
    json.dumps(entry).encode("utf-8")
    # One policy for every destination: a title is one line without controls, bidi or invalid characters.
    assert entry["title"] == (one_line(entry["title"]).strip() or "Untitled alert")
    if len(text) <= TITLE_LIMIT:
        assert entry["title"] == (one_line(text).strip() or "Untitled alert")
    assert entry["message"] == body_text(entry["message"])
    # Webhook: valid JSON, signature over the exact bytes, the text still one JSON string.
    verify_standard_webhook(request.headers, request.body, SECRET)
    body = request.json()
    assert body["alerts"][0]["title"] == entry["title"]
    # Console: exactly one line, whatever the title carried.
    printed = capsys.readouterr().err
    assert printed.count("\n") == 1 and "\r" not in printed
    assert "\x1b" not in printed and "\u2028" not in printed


def test_a_str_that_returns_no_string_and_huge_metadata_are_bounded(tmp_path):
    metadata = {f"key{i}": "v" * 10_000 for i in range(100)}
    metadata["odd"] = NotAString()
    with running(tmp_path) as manager:
        manager.send_alert_sync(NotAString(), Unprintable(), "warning", [], metadata)  # type: ignore[arg-type]
        (entry,) = wait_for_history(manager, lambda h: len(h) == 1)
    assert entry["title"] == "<unprintable NotAString>" and entry["message"] == "<unprintable Unprintable>"
    # 64 keys in all: the marker is one of them, so every channel that shows 64 annotations shows it.
    assert len(entry["metadata"]) == 64 and entry["metadata"]["metadata_truncated"] == "38 more keys not kept"
    assert entry["annotations"]["metadata_truncated"] == "38 more keys not kept"
    assert all(len(str(v)) <= METADATA_VALUE_LIMIT for v in entry["metadata"].values())
