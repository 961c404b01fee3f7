"""Pre-fork servers (gunicorn): one pipeline per worker, nothing inherited from the master.

Under ``opentelemetry-instrument`` (or with ``configure()`` at import time and ``--preload``) the
pipeline is built in the master and copied into every worker by ``fork()``: the same
``service.instance.id``, the same (dead) exporter threads, the master's port. Two workers pushing
cumulative series under one instance id overwrite each other, which loses or doubles counts.

So each worker gets its own pipeline right after the fork, from the same config: a fresh
``service.instance.id`` (unless ``OTEL_RESOURCE_ATTRIBUTES`` pins one), empty aggregations, its own
exporter threads. The metrics server is switched off in workers: they share the master's listening port.

Without multiprocess mode, workers export OTLP and a backend or Collector sums over instances. With it
(``prometheus.multiprocess_dir`` or ``PROMETHEUS_MULTIPROC_DIR``), each worker records into its own
file in that directory and the master, the *coordinator*, serves the merged view of every worker on
``/metrics``, evaluates the metric alert rules once over it, and folds each dead worker into the archive.

In ``gunicorn.conf.py``::

    from nethical_otel.auto.prefork import *  # noqa: F403  (gunicorn reads the hooks by name)
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from nethical_otel.config import ConfigError, load_config
from nethical_otel.metrics import NethicalMeterProvider, role
from nethical_otel.pipeline import Telemetry, active_telemetry, configure, multiprocess_path, sdk_disabled, shutdown

__all__ = ["child_exit", "on_exit", "on_starting", "post_fork", "worker_exit"]

_logger = logging.getLogger("nethical_otel.auto")


def become_coordinator() -> Telemetry | None:
    """In a pre-fork master, multiprocess mode: rebuild the pipeline as the workers' coordinator.

    Uses the master's pipeline config when one is running (``opentelemetry-instrument``, ``--preload``),
    else ``NETHICAL_OTEL_CONFIG``. Does nothing when multiprocess mode is off.
    """
    inherited = active_telemetry()
    if inherited is not None and not inherited.is_shut_down:
        config = inherited.config
    else:
        try:
            config = load_config(None)
        except ConfigError as error:
            _logger.error("%s\nthe pre-fork master does not merge the workers' metrics", error)
            return None
    if sdk_disabled() or multiprocess_path(config, os.environ) is None:
        return None
    if inherited is not None and not isinstance(inherited.meter_provider, NethicalMeterProvider):
        _logger.warning("the master's OpenTelemetry SDK was built by another configurator: it cannot coordinate")
        return None
    role.coordinator = True
    # The first process of the run in the directory: what a previous run left there is wiped.
    return configure(config)


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
    # leaves the master's server, threads and files alone (each knows the pid it was built in).
    config = inherited.config
    if config.metrics_server.enabled:
        if inherited.multiprocess is None:
            _logger.warning(
                "metrics_server is off in pre-fork workers (they share the master's port); export with OTLP "
                "(otlp.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT), or set prometheus.multiprocess_dir for one "
                "/metrics over all workers"
            )
        config = replace(config, metrics_server=replace(config.metrics_server, enabled=False))
    return configure(config)


def on_starting(server: object) -> None:
    """gunicorn ``on_starting`` hook (master): coordinate the workers in multiprocess mode."""
    become_coordinator()


def post_fork(server: object, worker: object) -> None:
    """gunicorn ``post_fork`` hook."""
    restart_after_fork()


def child_exit(server: object, worker: object) -> None:
    """gunicorn ``child_exit`` hook (master): fold the worker that just exited into the archive."""
    telemetry = active_telemetry()
    if telemetry is not None and telemetry.multiprocess is not None and not telemetry.is_shut_down:
        try:
            telemetry.multiprocess.compact()
        except OSError:
            _logger.exception("folding an exited worker's metrics into %s failed", telemetry.multiprocess.path)


def worker_exit(server: object, worker: object) -> None:
    """gunicorn ``worker_exit`` hook: flush this worker's spans and metrics before it goes."""
    shutdown()


def on_exit(server: object) -> None:
    """gunicorn ``on_exit`` hook (master): flush and stop the master's pipeline."""
    shutdown()
