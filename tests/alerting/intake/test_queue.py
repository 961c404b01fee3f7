"""The bounded hand-off from detector threads: a full queue tallies occurrences instead of dropping them."""

from __future__ import annotations

from nethical_otel.alerting.intake.queue import Intake, RawThreat
from tests._support.alerting import running, wait_for_history


def test_beyond_the_bound_occurrences_are_tallied_per_detector_level_and_category():
    intake = Intake(bound=3)
    for index in range(10):
        intake.offer_threat("pi", "HIGH", "jailbreak" if index % 2 else "leak", 0.9, index + 1, index + 1)
    assert len(intake) == 3 + 2  # three queued, two tallies
    items = intake.drain(100)
    assert [item.trace_id for item in items[:3]] == [1, 2, 3]
    tallies = {item.category: item.occurrences for item in items[3:]}
    assert tallies == {"jailbreak": 4, "leak": 3} and all(isinstance(i, RawThreat) for i in items)
    assert sum(item.occurrences for item in items) == 10 and len(intake) == 0


def test_when_even_the_tally_is_full_occurrences_are_counted_as_dropped():
    intake = Intake(bound=1)
    for index in range(10_002):
        intake.offer_threat(f"d{index}", "HIGH", "c", None, 0, 0)
    assert intake.dropped == 1  # one queued, 10,000 tallies, one dropped and counted


def test_a_full_intake_still_accounts_for_every_occurrence_in_history(tmp_path):
    with running(tmp_path, queue_size=10, console="on") as manager:
        for index in range(2000):
            manager.intake.offer_threat("pi", "CRITICAL", "exfiltration", 0.5, index + 1, index + 1)
        history = wait_for_history(manager, lambda h: sum(e["occurrences"] for e in h) == 2000)
        occurrences = [o for entry in history for o in manager.get_alert_occurrences(entry["id"])]
    assert sum(o["count"] for o in occurrences) == 2000
    assert any(o["count"] > 1 and o["trace_id"] is None for o in occurrences)  # tallied while full
