"""Grouping, rate limits, CRITICAL handling, resolves, re-sends and silences, decided without I/O."""

from __future__ import annotations

import pytest

from nethical_otel.alerting.grouping.buckets import RateLimiter
from nethical_otel.alerting.grouping.routing import (
    REASON_FIRST,
    REASON_REPEAT,
    REASON_RESEND,
    REASON_RESOLVED,
    Router,
    RoutingPolicy,
)
from nethical_otel.alerting.grouping.silences import Matcher, matchers_from, new_silence
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, AlertStatus, DeliveryStatus

WEBHOOK, SLACK, AM = AlertChannel.WEBHOOK, AlertChannel.SLACK, AlertChannel.ALERTMANAGER
T0 = 1_800_000_000.0


def alert(
    labels: dict[str, str] | None = None,
    severity: AlertSeverity = AlertSeverity.WARNING,
    status: AlertStatus = AlertStatus.FIRING,
    at: float = T0,
    ends_at: float | None = None,
) -> Alert:
    return Alert(
        "NethicalThreatDetected",
        "HIGH threat",
        "m",
        severity,
        labels or {"detector_type": "pi"},
        status=status,
        starts_at=at,
        ends_at=ends_at,
    )


def router(**overrides) -> Router:
    policy = {"max_per_minute": 10, "repeat_interval": 60.0, "group_wait": 0.0, **overrides}
    return Router(RoutingPolicy(**policy))


def test_a_storm_of_one_alert_is_one_notification_then_one_follow_up_with_the_count():
    r = router()
    first = r.route(alert(), 1, [WEBHOOK], T0)
    assert [d.status for d in first] == [DeliveryStatus.PENDING]
    assert first[0].notification.occurrences == 1 and first[0].notification.reason == REASON_FIRST
    for i in range(37):
        (decision,) = r.route(alert(at=T0 + i), 2 + i, [WEBHOOK], T0 + i)
        assert decision.status is DeliveryStatus.GROUPED
    assert r.due(T0 + 59) == []  # not before repeat_interval
    (follow_up,) = r.due(T0 + 60)
    assert follow_up.occurrences == 37 and follow_up.reason == REASON_REPEAT
    assert follow_up.first_seen == T0 and follow_up.alert_id == 38  # the latest occurrence is shown
    assert r.due(T0 + 200) == []  # nothing new: no further notification


def test_channel_bucket_enforces_max_alerts_per_minute_and_counts_the_rest_into_the_next_notification():
    r = router(max_per_minute=3)
    decisions = [r.route(alert({"detector_type": f"d{i}"}), i, [WEBHOOK], T0)[0] for i in range(5)]
    assert [d.status for d in decisions] == [DeliveryStatus.PENDING] * 3 + [DeliveryStatus.RATE_LIMITED] * 2
    assert r.due(T0 + 1) == []  # 3 per minute: no token yet
    later = r.due(T0 + 20.5)  # one token back after 20 s
    assert len(later) == 1 and later[0].occurrences == 1 and later[0].reason == REASON_FIRST
    assert len(r.due(T0 + 41)) == 1


def test_the_per_fingerprint_bucket_limits_one_alert_even_on_a_quiet_channel():
    r = router(max_per_minute=2, repeat_interval=0.0)
    outcomes = [r.route(alert(), i, [WEBHOOK], T0 + i * 0.01)[0].status for i in range(4)]
    assert outcomes == [
        DeliveryStatus.PENDING,
        DeliveryStatus.PENDING,
        DeliveryStatus.RATE_LIMITED,
        DeliveryStatus.RATE_LIMITED,
    ]


def test_critical_first_of_a_group_goes_out_at_once_even_without_tokens_and_the_rest_are_counted():
    r = router(max_per_minute=1)
    assert r.route(alert({"d": "warm"}), 1, [WEBHOOK], T0)[0].status is DeliveryStatus.PENDING  # bucket now empty
    critical = [r.route(alert({"d": "x"}, AlertSeverity.CRITICAL), 2 + i, [WEBHOOK], T0)[0] for i in range(4)]
    assert critical[0].status is DeliveryStatus.PENDING
    assert [d.status for d in critical[1:]] == [DeliveryStatus.GROUPED] * 3
    (follow_up,) = r.due(T0 + 61)
    assert follow_up.occurrences == 3 and follow_up.alert.severity is AlertSeverity.CRITICAL


def test_a_non_critical_group_without_tokens_is_rate_limited_not_dropped():
    r = router(max_per_minute=1)
    r.route(alert({"d": "warm"}), 1, [WEBHOOK], T0)
    decisions = [r.route(alert({"d": "y"}), 2 + i, [WEBHOOK], T0 + i)[0] for i in range(3)]
    assert [d.status for d in decisions] == [DeliveryStatus.RATE_LIMITED] * 3
    (delayed,) = r.due(T0 + 61)
    assert delayed.occurrences == 3 and delayed.first_seen == T0


def test_each_channel_has_its_own_group_and_bucket():
    r = router(max_per_minute=1)
    a, b = r.route(alert(), 1, [WEBHOOK, SLACK], T0)
    assert a.status is b.status is DeliveryStatus.PENDING
    assert a.notification.channel is WEBHOOK and b.notification.channel is SLACK


def test_resolve_goes_only_to_channels_that_were_told_it_fired_and_deliver_resolves():
    r = router(told_of_resolves=frozenset({WEBHOOK}))
    r.route(alert(), 1, [WEBHOOK, SLACK], T0)
    resolved = alert(status=AlertStatus.RESOLVED, at=T0, ends_at=T0 + 30)
    webhook, slack = r.route(resolved, 2, [WEBHOOK, SLACK], T0 + 30)
    assert webhook.status is DeliveryStatus.PENDING and webhook.notification.reason == REASON_RESOLVED
    assert slack.status is DeliveryStatus.SKIPPED
    never_fired = alert({"detector_type": "other"}, status=AlertStatus.RESOLVED)
    assert r.route(never_fired, 3, [WEBHOOK], T0)[0].status is DeliveryStatus.SKIPPED


def test_a_new_firing_episode_after_a_resolve_notifies_again_at_once():
    r = router(told_of_resolves=frozenset({WEBHOOK}))
    r.route(alert(), 1, [WEBHOOK], T0)
    r.route(alert(status=AlertStatus.RESOLVED), 2, [WEBHOOK], T0 + 5)
    (again,) = r.route(alert(at=T0 + 6), 3, [WEBHOOK], T0 + 6)
    assert again.status is DeliveryStatus.PENDING and again.notification.reason == REASON_FIRST


def test_channels_that_forget_firing_alerts_get_them_resent_until_resolved():
    r = router(resend_every={AM: 60.0}, told_of_resolves=frozenset({AM}))
    r.route(alert(), 1, [AM], T0)
    assert r.due(T0 + 30) == []
    (resend,) = r.due(T0 + 60)
    assert resend.reason == REASON_RESEND and resend.channel is AM
    r.route(alert(status=AlertStatus.RESOLVED), 2, [AM], T0 + 70)
    assert r.due(T0 + 200) == []
    # An alert with its own end time (a threat event) is not re-sent: the receiver resolves it at endsAt.
    r.route(alert({"d": "event"}, ends_at=T0 + 300), 3, [AM], T0)
    assert r.due(T0 + 120) == []


def test_group_wait_collects_a_new_non_critical_group_before_the_first_notification():
    r = router(group_wait=10.0)
    decisions = [r.route(alert(at=T0 + i), i, [WEBHOOK], T0 + i)[0] for i in range(3)]
    assert [d.status for d in decisions] == [DeliveryStatus.GROUPED] * 3
    assert r.due(T0 + 9) == []
    (first,) = r.due(T0 + 10)
    assert first.occurrences == 3 and first.reason == REASON_FIRST
    critical = r.route(alert({"d": "c"}, AlertSeverity.CRITICAL), 9, [WEBHOOK], T0)[0]
    assert critical.status is DeliveryStatus.PENDING  # CRITICAL never waits


def test_silences_match_labels_alertname_and_severity_until_they_expire():
    r = router()
    silence = new_silence(
        matchers_from([("detector_type", "=~", "p.*"), ("severity", "!=", "critical")]), T0, T0 + 100, "", T0
    )
    r.silences[silence.id] = silence
    (muted,) = r.route(alert(), 1, [WEBHOOK], T0 + 1)
    assert muted.status is DeliveryStatus.SILENCED and silence.id in muted.reason
    assert r.route(alert({"detector_type": "other"}), 2, [WEBHOOK], T0 + 1)[0].status is DeliveryStatus.PENDING
    assert r.route(alert(severity=AlertSeverity.CRITICAL), 3, [WEBHOOK], T0 + 1)[0].status is DeliveryStatus.PENDING
    assert r.route(alert({"detector_type": "pz"}), 4, [WEBHOOK], T0 + 100)[0].status is DeliveryStatus.PENDING


def test_matchers_follow_alertmanager_semantics_and_refuse_bad_input():
    labels = {"alertname": "A", "detector_type": "pi"}
    assert Matcher("detector_type", "p", "=~").matches(labels) is False  # regexes match the whole value
    assert Matcher("missing", "", "=").matches(labels) is True  # a missing label is empty
    assert Matcher("alertname", "B", "!=").matches(labels) is True
    with pytest.raises(ValueError, match="operator"):
        Matcher("a", "b", "==")
    with pytest.raises(ValueError, match="regular expression"):
        Matcher("a", "(", "=~")
    with pytest.raises(ValueError, match="at least one"):
        matchers_from({})
    with pytest.raises(ValueError, match="end after"):
        new_silence(matchers_from({"a": "b"}), T0, T0, "", T0)


def test_original_rate_limiter_lets_critical_through_and_limits_the_rest_per_key():
    limiter = RateLimiter(max_alerts_per_minute=2)
    assert [limiter.should_send("k", AlertSeverity.WARNING) for _ in range(3)] == [True, True, False]
    assert limiter.should_send("other", "warning") is True
    assert all(limiter.should_send("k", AlertSeverity.CRITICAL) for _ in range(5))
    with pytest.raises(ValueError):
        RateLimiter(0)
