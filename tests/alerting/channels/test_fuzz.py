"""Every channel renderer, fed arbitrary Unicode (surrogates, controls, bidi, noncharacters, huge strings)
and bytes decoded with surrogateescape, gives a payload that validators nobody here wrote accept:
``slack_sdk`` models, ``discord.py`` embeds within Discord's limits, a PagerDuty Events v2 JSON schema
(``jsonschema``), ``email.policy.strict``, the official ``standardwebhooks`` library, and the
Alertmanager API's label rules. No output carries a control or bidi character where it would act.
"""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from email import message_from_bytes, policy
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.attachments import Attachment, AttachmentField
from standardwebhooks import Webhook

from nethical_otel.alerting.channels import alertmanager, console, discord, email, pagerduty, slack, webhook
from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.config import load_config
from tests._support.emulators.alerts import make_alert, make_notification

with warnings.catch_warnings():  # discord.py imports audioop for voice, deprecated in Python 3.11+
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord as discord_py

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SECRET = "whsec_" + "a2V5LWZvci10aGUtZnV6ei10ZXN0cy0wMTIzNDU2Nzg5"
ROUTING_KEY = "R" * 32
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

hostile = st.one_of(
    st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=300),
    st.binary(max_size=300).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.lists(
        st.sampled_from(["\ud800", "\udfff", "\x1b[2J", "\x9b", "\u202e", "\r\n", "\x00", "\ufffe", "<!channel>"])
    ).map("".join),
    st.integers(min_value=0, max_value=20_000).map(lambda n: "\U0001f525" * n),
    st.just("   "),
)
alerts = st.builds(
    lambda title, message, labels, annotations, severity: make_alert(
        title=title, message=message, labels=labels, annotations=annotations, severity=severity
    ),
    hostile,
    hostile,
    st.dictionaries(hostile, hostile, max_size=8),
    st.dictionaries(hostile, hostile, max_size=8),
    st.sampled_from(list(AlertSeverity)),
)

# PagerDuty Events API v2, written from /work/shared/contracts/alerting-channels.md §4.
PAGERDUTY_EVENT = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "minLength": 32, "maxLength": 32},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "client": {"type": "string"},
        "payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
                "source": {"type": "string", "minLength": 1, "maxLength": 255},
                "severity": {"enum": ["critical", "error", "warning", "info"]},
                "timestamp": {"type": "string", "format": "date-time"},
                "component": {"type": "string", "maxLength": 255},
                "group": {"type": "string", "maxLength": 255},
                "class": {"type": "string", "maxLength": 255},
                "custom_details": {"type": "object"},
            },
        },
    },
    "if": {"properties": {"event_action": {"const": "trigger"}}},
    "then": {"required": ["payload"]},
}


def unsafe_on_a_line(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in BIDI]


def unsafe_in_a_body(text: str) -> list[str]:
    return [c for c in unsafe_on_a_line(text) if c not in "\n\t"]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def channel(module: Any, **alerting: Any) -> Any:
    built = module.from_settings(load_config({"alerting": alerting}).alerting)
    assert built is not None
    return built


SLACK = channel(slack, slack_webhook_url="https://hooks.slack.com/services/T000/B000/" + "x" * 24)
DISCORD = channel(discord, discord_webhook_url="https://discord.com/api/webhooks/1/" + "t" * 30)
PAGERDUTY = channel(pagerduty, pagerduty_api_key=ROUTING_KEY, pagerduty_source="fuzz")
WEBHOOK = channel(webhook, webhook_url="https://receiver.example/hook", webhook_secret=SECRET)
ALERTMANAGER = channel(alertmanager, alertmanager_url="http://127.0.0.1:9093")
EMAIL = channel(email, smtp={"host": "127.0.0.1", "from": "alerts@example.com", "to": ["ops@example.com"]})


@FUZZ
@given(alerts)
def test_slack_messages_pass_slack_sdk_validation_and_carry_no_controls_or_mentions(alert):
    request = SLACK.render(make_notification(alert, AlertChannel.SLACK))
    (raw,) = json.loads(request.body)["attachments"]
    fields = [AttachmentField(title=f["title"], value=f["value"], short=f["short"]) for f in raw["fields"]]
    Attachment(
        text=raw["text"],
        fallback=raw["fallback"],
        fields=fields,
        color=raw["color"],
        title=raw["title"],
        footer=raw["footer"],
        ts=raw["ts"],
        markdown_in=raw["mrkdwn_in"],
    ).validate_json()
    for key in ("title", "fallback", "footer"):
        assert unsafe_on_a_line(raw[key]) == [] and raw[key].strip()
    assert unsafe_in_a_body(raw["text"]) == []
    assert "<!" not in request.body.decode() and len(raw["fields"]) <= slack.MAX_FIELDS


@FUZZ
@given(alerts)
def test_discord_embeds_stay_within_every_discord_limit(alert):
    body = json.loads(DISCORD.render(make_notification(alert, AlertChannel.DISCORD)).body)
    assert body["allowed_mentions"] == {"parse": []}
    (raw,) = body["embeds"]
    embed = discord_py.Embed.from_dict(raw)
    assert len(embed) <= 6000 and len(embed.fields) <= 25
    assert len(embed.title or "") <= 256 and len(embed.description or "") <= 4096
    assert len(embed.footer.text or "") <= 2048
    for field in embed.fields:
        assert 0 < len(field.name or "") <= 256 and 0 < len(field.value or "") <= 1024
        assert unsafe_on_a_line(field.name or "") == []
    assert unsafe_on_a_line(embed.title or "") == [] and unsafe_in_a_body(embed.description or "") == []


@FUZZ
@given(alerts)
def test_pagerduty_events_match_the_events_v2_schema_and_size(alert):
    request = PAGERDUTY.render(make_notification(alert, AlertChannel.PAGERDUTY))
    event = json.loads(request.body)
    jsonschema.validate(event, PAGERDUTY_EVENT, format_checker=jsonschema.FormatChecker())
    assert len(request.body) <= pagerduty.EVENT_LIMIT_BYTES
    assert unsafe_on_a_line(event["payload"]["summary"]) == []
    assert all(unsafe_in_a_body(s) == [] for s in strings(event["payload"]["custom_details"]))


@FUZZ
@given(alerts)
def test_webhooks_verify_with_the_official_library_and_stay_bounded(alert):
    request = WEBHOOK.render(make_notification(alert, AlertChannel.WEBHOOK))
    document = Webhook(SECRET).verify(request.body, dict(request.headers))
    assert len(request.body) <= webhook.MAX_BODY_BYTES
    entry = document["alerts"][0]
    assert entry["title"].strip() and unsafe_on_a_line(entry["title"]) == []
    assert unsafe_in_a_body(entry["message"]) == []
    assert all(unsafe_on_a_line(s) == [] for s in strings(entry["labels"]) + strings(entry["annotations"]))


@FUZZ
@given(alerts)
def test_alertmanager_alerts_have_valid_distinct_label_names_and_clean_values(alert):
    (posted,) = json.loads(ALERTMANAGER.render(make_notification(alert, AlertChannel.ALERTMANAGER)).body)
    for section in ("labels", "annotations"):
        for name, value in posted[section].items():
            assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) and len(name) <= 128, name
            assert value and (unsafe_on_a_line(value) == [] or name == "description")
    assert posted["labels"]["alertname"].strip() and unsafe_on_a_line(posted["labels"]["alertname"]) == []
    # Distinct keys stay distinct: every label of the alert is there (or had an empty value).
    assert len(posted["labels"]) >= len([v for v in alert.labels.values() if v.strip()]) - 1


@FUZZ
@given(alerts)
def test_emails_parse_under_the_strict_policy_with_one_line_headers(alert):
    message = EMAIL.message(make_notification(alert, AlertChannel.EMAIL))
    parsed = message_from_bytes(message.as_bytes(), policy=policy.strict)
    subject = str(parsed["Subject"])
    assert subject.strip() and unsafe_on_a_line(subject) == [] and len(subject) <= email.SUBJECT_LIMIT
    assert parsed.get_all("Bcc") is None and len(parsed.get_all("To") or []) == 1


@FUZZ
@given(alerts)
def test_the_console_prints_exactly_one_terminal_safe_line(alert):
    line = console.line(make_notification(alert, AlertChannel.CONSOLE))
    assert unsafe_on_a_line(line) == [] and "\x9b" not in line
    line.encode("utf-8")
