"""What an attacker who names a new threat category per request costs: memory, store and groups.

python -m benchmarks.flood [CATEGORIES]     # default 100,000

Runs the real pipeline (``configure()`` + ``@instrument_detector``, alerting to a webhook that answers at
once) and reports, after every tenth of the flood, the process's resident memory, the store's size on
disk (file + WAL), the history rows, and the alert groups and open identities kept in memory. The bound
is the point: these stop growing once the source's ``max_groups_per_source`` groups are open.
"""

from __future__ import annotations

import gc
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

import nethical_otel
from nethical_otel import instrument_detector
from nethical_otel.alerting import get_alert_manager

_PAGE = 4096


def rss_mib() -> float:
    """Current resident memory (from /proc, so it can go down as well as up)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * _PAGE / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_kib(path: Path) -> tuple[float, float]:
    """The database file, and its write-ahead log (which SQLite reuses once it reaches ~4 MiB)."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size / 1024, (wal.stat().st_size / 1024 if wal.exists() else 0.0)


def _receiver() -> tuple[web.AppRunner, str]:
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def ok(_: web.Request) -> web.Response:
        return web.Response()

    async def start() -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/hook", ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner, f"http://127.0.0.1:{port}/hook"

    return asyncio.run_coroutine_threadsafe(start(), loop).result(10)


def run(categories: int = 100_000) -> list[dict[str, Any]]:
    _, url = _receiver()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "alerts.sqlite3"
        nethical_otel.configure(
            {
                "metrics_server": {"enabled": False},
                "alerting": {
                    "storage_path": str(path),
                    "webhook_url": url,
                    "console": "off",
                    "rules": {"enabled": False},
                },
            }
        )
        try:

            @instrument_detector("prompt_injection")
            def detect(category: str) -> dict[str, Any]:
                return {"threat_level": "HIGH", "category": category, "confidence": 0.9}

            manager = get_alert_manager()
            assert manager is not None
            step = max(1, categories // 10)
            started = time.perf_counter()
            for index in range(categories):
                detect(f"attack-{index}")
                if (index + 1) % step == 0:
                    manager.flush(60.0)
                    gc.collect()
                    rows.append(_sample(manager, path, index + 1, time.perf_counter() - started))
        finally:
            nethical_otel.shutdown()
    return rows


def _sample(manager: Any, path: Path, done: int, elapsed: float) -> dict[str, Any]:
    loop = manager._loop  # the engine's own state, read on its loop
    assert loop is not None

    def inside() -> tuple[int, int]:
        return (len(loop.parts.router.groups), len(loop.parts.identities))

    groups, identities = loop.call(inside)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        history_rows = db.execute("SELECT count(*) FROM alerts").fetchone()[0]
        history_rows += db.execute("SELECT count(*) FROM occurrences").fetchone()[0]
    return {
        "categories": done,
        "seconds": elapsed,
        "rss_mib": rss_mib(),
        "store_kib": store_kib(path),
        "history_rows": history_rows,
        "groups": groups,
        "open_identities": identities,
    }


def main() -> None:
    categories = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rows = run(categories)
    print(
        "| categories | seconds | RSS MiB | store KiB | WAL KiB | rows (alerts + occurrences) | groups | identities |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['categories']:,} | {row['seconds']:.1f} | {row['rss_mib']:.1f} | {row['store_kib'][0]:,.0f} |"
            f" {row['store_kib'][1]:,.0f} |"
            f" {row['history_rows']:,} | {row['groups']} | {row['open_identities']} |"
        )


if __name__ == "__main__":
    main()
