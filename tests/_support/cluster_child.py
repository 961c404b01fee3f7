"""An SDK process of its own (its own store) in front of an Alertmanager cluster, driven line by line:

    python -m tests._support.cluster_child STORAGE_PATH PEER_URL [PEER_URL ...]

stdin ``threat CATEGORY`` -> one CRITICAL threat from detector ``prompt_injection``, accepted and delivered
(prints ``delivered CATEGORY``); ``metrics`` -> prints the nethical_alert_peer_up lines; ``exit`` -> shuts
down.
"""

from __future__ import annotations

import sys

import nethical_otel
from nethical_otel import instrument_detector
from nethical_otel.alerting import get_alert_manager
from nethical_otel.monitoring import get_prometheus_metrics


def main() -> None:
    storage, peers = sys.argv[1], sys.argv[2:]
    nethical_otel.configure(
        {
            "metrics_server": {"enabled": False},
            "alerting": {
                "storage_path": storage,
                "console": "off",
                "alertmanager_url": peers,
                "request_timeout_seconds": 2,
                "retry_initial_delay_seconds": 0.1,
                "rules": {"enabled": False},  # fleet mode: Prometheus evaluates the rules
            },
        }
    )
    manager = get_alert_manager()
    assert manager is not None

    @instrument_detector("prompt_injection")
    def detect(category: str) -> dict[str, object]:
        return {"threat_level": "CRITICAL", "category": category, "confidence": 0.99}

    print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "threat":
            detect(argument)
            manager.flush(30)
            print(f"delivered {argument}", flush=True)
        elif command == "metrics":
            exposition = get_prometheus_metrics().export_metrics().decode()
            for sample in exposition.splitlines():
                if sample.startswith("nethical_alert_peer_up{"):
                    print(sample, flush=True)
            print("end", flush=True)
        elif command == "exit":
            break
    nethical_otel.shutdown()


if __name__ == "__main__":
    main()
