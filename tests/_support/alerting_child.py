"""A process that gets alerts accepted into the outbox, says so, and waits to be killed (crash tests).

python -m tests._support.alerting_child STORAGE_PATH WEBHOOK_URL COUNT
"""

from __future__ import annotations

import sys
import time

from nethical_otel.alerting import AlertManager


def main() -> None:
    path, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    manager = AlertManager(
        {
            "storage_path": path,
            "webhook_url": url,
            "console": "off",
            "max_alerts_per_minute": 10_000,
            "max_groups_per_source": 1000,  # one group per title: the flood bounds are not what this tests
            "request_timeout_seconds": 30,
            "retry_initial_delay_seconds": 30,
        }
    )
    for index in range(count):
        manager.send_alert_sync(f"alert {index}", "accepted before the crash", "critical")
    print("ACCEPTED", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
