"""gunicorn settings for the pre-fork example; copy it as it is.

The hooks give every worker its own nethical_otel pipeline right after the fork (a fresh
service.instance.id and empty aggregations) and flush it when the worker exits. With multiprocess mode on
(prometheus.multiprocess_dir or PROMETHEUS_MULTIPROC_DIR), the master serves one /metrics for all workers,
folds each exited worker into the archive, and evaluates the metric alert rules once.
"""

import os

from nethical_otel.auto.prefork import *  # noqa: F403  (gunicorn reads the hooks by name)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
# Restarting workers now and then is where per-worker metric files used to pile up.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
graceful_timeout = 10
