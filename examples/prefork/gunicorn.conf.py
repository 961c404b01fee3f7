"""gunicorn settings for the pre-fork example.

The two hooks give every worker its own nethical_otel pipeline right after the fork (a fresh
service.instance.id and empty aggregations) and flush it when the worker exits. Without them the
workers would push OTLP under the master's instance id and overwrite each other's counts.
"""

import os

from nethical_otel.auto.prefork import post_fork, worker_exit  # noqa: F401  (gunicorn reads them by name)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = 2
worker_class = "sync"
graceful_timeout = 10
