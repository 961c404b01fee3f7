"""Run as a script: one thread keeps the store busy inside SQLite while the main thread forks again and
again; each child opens a store of its own at once. Prints how many children hung.

``--unguarded`` swaps the store's lock for one nobody shares, as if there were no fork guard."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from nethical_otel.alerting.model import Alert, AlertSeverity
from nethical_otel.alerting.store import Accepted, HistoryQuery, Store, database


def hammer(store: Store, stop: threading.Event, done: list[int]) -> None:
    alert = Alert("busy", "busy", "m" * 2000, AlertSeverity.INFO, {"k": "v" * 100})
    while not stop.is_set():
        with store.transaction():
            store.outbox.insert_alerts([Accepted(alert, ("webhook",), {"n": i}, time.time()) for i in range(20)])
        store.history.query(HistoryQuery(limit=50))
        done[0] += 1


def main() -> None:
    workdir, forks, patience = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    if "--unguarded" in sys.argv:
        database.SQLITE_LOCK = threading.Lock()  # type: ignore[misc]
    store = Store(os.path.join(workdir, "busy.sqlite3"))
    stop, done = threading.Event(), [0]
    worker = threading.Thread(target=hammer, args=(store, stop, done), daemon=True)
    worker.start()
    while done[0] < 5:
        time.sleep(0.01)
    hung = 0
    started = done[0]
    for index in range(forks):
        pid = os.fork()
        if pid == 0:
            child = Store(os.path.join(workdir, f"child-{index}.sqlite3"))  # sqlite3.connect, the schema
            child.history.count_alerts()
            child.close()
            os._exit(0)
        deadline = time.monotonic() + patience
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                hung += 1
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.001)
        if hung and "--unguarded" in sys.argv:
            break  # one is proof enough
    busy = done[0] - started
    stop.set()
    worker.join()
    store.close()
    print(json.dumps({"forks": index + 1, "hung": hung, "busy_batches": busy}))


if __name__ == "__main__":
    main()
