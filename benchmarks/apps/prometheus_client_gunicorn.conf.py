"""gunicorn settings for the prometheus_client side of the multiprocess benchmark (its documented hook)."""

import os

from prometheus_client import multiprocess

bind = os.environ["GUNICORN_BIND"]
workers = int(os.environ["GUNICORN_WORKERS"])
max_requests = int(os.environ["GUNICORN_MAX_REQUESTS"])


def child_exit(server: object, worker: object) -> None:
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
