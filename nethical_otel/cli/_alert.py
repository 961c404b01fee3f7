"""``nethical-otel alert test`` and ``nethical-otel alert history``."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from nethical_otel.semconv import (
    ACTIVE_DELIVERY_STATUSES,
    HISTORY_STATUSES,
    AlertChannel,
    AlertSeverity,
    DeliveryStatus,
)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CHANNELS = tuple(channel.value for channel in AlertChannel)
_STATUSES = tuple(status.value for status in HISTORY_STATUSES)
_SEVERITIES = tuple(severity.value for severity in AlertSeverity)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("alert", help="send a test alert, or show the alert history")
    commands = parser.add_subparsers(dest="alert_command", metavar="ACTION", required=True)

    test = commands.add_parser("test", help="send a test alert through the configured channels and report each one")
    test.add_argument(
        "--config", default=None, metavar="FILE", help="nethical_otel YAML config (default: NETHICAL_OTEL_CONFIG)"
    )
    test.add_argument(
        "--channel", action="append", choices=_CHANNELS, metavar="C", help="only this channel (repeatable)"
    )
    test.add_argument("--severity", default=AlertSeverity.INFO.value, choices=_SEVERITIES)
    test.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="wait at most S seconds for results (default 30)"
    )
    test.set_defaults(handler=run_test)

    history = commands.add_parser("history", help="show recent alerts and their delivery per channel")
    history.add_argument("--config", default=None, metavar="FILE", help="nethical_otel YAML config")
    history.add_argument("--limit", type=int, default=20, metavar="N", help="at most N alerts (default 20)")
    history.add_argument("--since", default=None, metavar="WHEN", help="e.g. 15m, 2h, 1d, or an ISO 8601 time")
    history.add_argument("--severity", action="append", choices=_SEVERITIES)
    history.add_argument("--status", choices=_STATUSES, help="alert status or delivery status")
    history.add_argument("--channel", choices=_CHANNELS)
    history.add_argument("--json", action="store_true", help="print JSON instead of a table")
    history.add_argument(
        "--service",
        default=None,
        metavar="NAME",
        help="the service whose default store to read (default: service.name)",
    )
    history.set_defaults(handler=run_history)


def _config(path: str | None) -> Any:
    from nethical_otel.config import load_config

    return load_config(path)


def _say(text: object, limit: int = 4096) -> str:
    """Anything shown on the terminal: no control or bidi character gets through (titles are attacker text)."""
    from nethical_otel._text import Destination, clean

    return clean(text, Destination.TERMINAL, limit)


def run_test(args: argparse.Namespace) -> int:
    from nethical_otel.alerting import Alert, AlertChannel, AlertManager, AlertSeverity
    from nethical_otel.config import ConfigError

    try:
        full = _config(args.config)
        config = full.alerting
        manager = AlertManager(config, service_name=full.service.name)
    except ConfigError as error:
        print(_say(error), file=sys.stderr)
        return 2
    if not manager.enabled:
        print("alerting is disabled (alerting.enabled: false)", file=sys.stderr)
        return 2
    try:
        wanted = [AlertChannel(name) for name in args.channel] if args.channel else list(manager.channels)
        missing = [channel.value for channel in wanted if channel not in manager.channels]
        if missing:
            print(f"not configured: {', '.join(missing)} (see the alerting section of the config)", file=sys.stderr)
            return 2
        test_id = uuid.uuid4().hex[:12]
        alert = Alert(
            name="NethicalTestAlert",
            title="Test alert from nethical-otel",
            message="If you can read this, nethical-otel can deliver alerts to this channel.",
            severity=AlertSeverity(args.severity),
            labels={"test_id": test_id},  # its own group: never folded into an earlier test
            starts_at=time.time(),
        )
        receipt = manager.send_sync(alert, wanted)
        assert receipt is not None
        states = asyncio.run(manager.wait_for_delivery(receipt, args.timeout))
    finally:
        manager.shutdown(timeout=2.0)
    width = max(len(name) for name in states) if states else 0
    for name, (status, reason) in sorted(states.items()):
        detail = f": {_say(reason)}" if reason else ""
        if status in ACTIVE_DELIVERY_STATUSES:
            detail += f" (no result within {args.timeout:g}s; it stays queued and is retried by the next process)"
        print(f"{name:<{width}}  {status}{detail}")
    print(f"history: {_say(manager.store_path)}")
    return 0 if states and all(status == DeliveryStatus.SENT for status, _ in states.values()) else 1


def run_history(args: argparse.Namespace) -> int:
    import sqlite3

    from nethical_otel.alerting.store import MEMORY, HistoryQuery, Store
    from nethical_otel.alerting.store.location import KEY, resolve_path
    from nethical_otel.config import ConfigError

    try:
        full = _config(args.config)
        since = _since(args.since)
    except (ConfigError, ValueError) as error:
        print(_say(error), file=sys.stderr)
        return 2
    path = resolve_path(full.alerting.storage_path, args.service or full.service.name)
    if path == MEMORY or not Path(path).is_file():
        print(f"no alert history at {_say(path)}", file=sys.stderr)
        return 0 if path != MEMORY else 2
    try:
        store = Store(path)
    except (OSError, sqlite3.Error) as error:
        print(f"{KEY}: cannot read the alert store {_say(path)}: {_say(error)}", file=sys.stderr)
        return 2
    try:
        entries = store.history.query(
            HistoryQuery(
                limit=args.limit,
                since=since,
                severity=tuple(args.severity or ()),
                status=args.status,
                channel=args.channel,
            )
        )
    finally:
        store.close()
    if args.json:
        from nethical_otel._text import terminal_json

        print(terminal_json(json.dumps(entries, indent=2, ensure_ascii=False)))
        return 0
    if not entries:
        print("no alerts")
        return 0
    for entry in entries:
        print(_row(entry))
    return 0


def _row(entry: dict[str, Any]) -> str:
    when = str(entry["timestamp"])[:19].replace("T", " ")
    count = f" x{entry['occurrences']}" if entry["occurrences"] > 1 else ""
    deliveries = " ".join(f"{channel}={d['status']}" for channel, d in entry["delivery"].items()) or "-"
    row = f"{when}  {entry['severity']:<8}  {entry['status']:<8}  {_say(entry['title'], 80)}{count}  [{deliveries}]"
    return _say(row)


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    match = _DURATION.match(text.strip())
    if match:
        return time.time() - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: give a duration such as 15m, 2h, 1d, or an ISO 8601 time") from None
    return moment.timestamp()
