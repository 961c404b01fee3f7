"""Pre-fork servers (gunicorn): one pipeline per worker, nothing inherited from the master.

Under ``opentelemetry-instrument`` (or with ``configure()`` at import time and ``--preload``) the
pipeline is built in the master and copied into every worker by ``fork()``: the same
``service.instance.id``, the same (dead) exporter threads, the master's port. Two workers pushing
cumulative series under one instance id overwrite each other, which loses or doubles counts.

So each worker gets its own pipeline right after the fork, from the same config: a fresh
``service.instance.id`` (unless ``OTEL_RESOURCE_ATTRIBUTES`` pins one), empty aggregations, its own
exporter threads. Workers export OTLP; a backend or Collector sums over instances. The metrics server
is switched off in workers: they share the master's listening port, and a Prometheus scrape of it
would reach one worker at random.

In ``gunicorn.conf.py``::

    from nethical_otel.auto.prefork import post_fork, worker_exit  # noqa: F401
"""

from __future__ import annotations

import logging
from dataclasses import replace

from nethical_otel.metrics import NethicalMeterProvider
from nethical_otel.pipeline import Telemetry, active_telemetry, configure, shutdown

_logger = logging.getLogger("nethical_otel.auto")


def restart_after_fork() -> Telemetry | None:
    """In a freshly forked worker: replace the inherited pipeline with this worker's own."""
    inherited = active_telemetry()
    if inherited is None or inherited.is_shut_down or not inherited.enabled:
        return None  # nothing configured before the fork (or OTEL_SDK_DISABLED): nothing to redo
    if not isinstance(inherited.meter_provider, NethicalMeterProvider):
        _logger.warning(
            "the OpenTelemetry SDK of this worker was built by another configurator before the fork; "
            "nethical_otel cannot rebuild it per worker: use OTEL_PYTHON_CONFIGURATOR=nethical"
        )
        return None
    # configure() shuts the inherited pipeline down; in a forked child that only flushes the providers and
    # leaves the master's server and threads alone (Telemetry knows the pid it was built in).
    config = inherited.config
    if config.metrics_server.enabled:
        _logger.warning(
            "metrics_server is off in pre-fork workers (they share the master's port); export with OTLP "
            "(otlp.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT), each worker under its own service.instance.id"
        )
        config = replace(config, metrics_server=replace(config.metrics_server, enabled=False))
    return configure(config)


def post_fork(server: object, worker: object) -> None:
    """gunicorn ``post_fork`` hook."""
    restart_after_fork()


def worker_exit(server: object, worker: object) -> None:
    """gunicorn ``worker_exit`` hook: flush this worker's spans and metrics before it goes."""
    shutdown()
