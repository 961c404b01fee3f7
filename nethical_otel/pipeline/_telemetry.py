"""The :class:`Telemetry` handle that ``configure()`` returns: one running pipeline and its shutdown."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from functools import partial
from typing import TypeVar

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from nethical_otel.config import Config
from nethical_otel.metrics import (
    Instruments,
    MultiprocessDir,
)
from nethical_otel.pipeline._background import BackgroundLoop
from nethical_otel.pipeline._bounded import Exporter, Step, remaining, run_all_within, run_within, stop_abandoned
from nethical_otel.pipeline._components import Component, MetricsEndpoint
from nethical_otel.pipeline._runtime import Runtime, current

_logger = logging.getLogger("nethical_otel")
C = TypeVar("C", bound=Component)


class Telemetry:
    """The pipeline built by :func:`configure`. ``shutdown()`` flushes and stops it; it is idempotent."""

    def __init__(
        self,
        config: Config,
        *,
        resource: Resource | None = None,
        meter_provider: MeterProvider | None = None,
        tracer_provider: TracerProvider | None = None,
        prometheus_registry: CollectorRegistry | None = None,
        runtime: Runtime | None = None,
        components: Sequence[Component] = (),
        adopted_readers: Sequence[MetricReader] | None = None,
        exporters: Sequence[Exporter] = (),
        multiprocess: MultiprocessDir | None = None,
    ) -> None:
        self.config = config
        self.resource = resource
        self.meter_provider = meter_provider
        self.tracer_provider = tracer_provider
        self.prometheus_registry = prometheus_registry
        self.runtime = runtime
        self.components = list(components)
        # Set when the providers belong to someone else: only these readers of ours are removed at shutdown.
        self._adopted_readers = adopted_readers
        self._exporters = list(exporters)  # the OTLP exporters built here, stopped if shutdown abandons them
        self.metrics_server: MetricsEndpoint | None = None  # set by the metrics-server component
        # Multiprocess mode: the directory of the workers' metric files (None in a single process).
        self.multiprocess = multiprocess
        self._background: BackgroundLoop | None = None
        self._lock = threading.Lock()
        self._shut_down = False
        self._pid = os.getpid()

    @property
    def enabled(self) -> bool:
        """False when ``OTEL_SDK_DISABLED=true``: nothing is recorded or exported."""
        return self.runtime is not None

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    @property
    def instruments(self) -> Instruments | None:
        return self.runtime.instruments if self.runtime else None

    @property
    def background(self) -> BackgroundLoop:
        """The I/O thread shared by the metrics server and alert delivery, started on first use."""
        with self._lock:
            if self._background is None:
                self._background = BackgroundLoop()
            return self._background

    def is_evaluating_process(self) -> bool:
        """Whether metric rules are evaluated here: always in one process; in multiprocess mode, in one
        process of the directory (the pre-fork master, else the oldest live worker), over the merged view."""
        return self.multiprocess is None or self.multiprocess.is_primary()

    def component(self, kind: type[C]) -> C | None:
        """The running component of type ``kind`` (for instance the alerting pipeline), if enabled."""
        return next((c for c in self.components if isinstance(c, kind)), None)

    def force_flush(self, timeout: float | None = None) -> None:
        """Export what the providers hold; returns within ``timeout`` (default ``shutdown.timeout_seconds``)."""
        budget = self.config.shutdown.timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + budget
        steps: list[Step] = []
        if self.tracer_provider is not None:
            steps.append(("flushing spans", partial(self.tracer_provider.force_flush, int(budget * 1000))))
        if self.meter_provider is not None:
            steps.append(("flushing metrics", partial(self.meter_provider.force_flush, budget * 1000)))
        self._report_late(run_all_within(deadline, steps), budget)

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop serving, flush spans, metrics and alerts, and release ports and threads.

        Returns within ``timeout`` seconds (default ``shutdown.timeout_seconds``) whatever the exporters'
        peers do; what is still being exported then is abandoned, and logged.
        """
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        budget = self.config.shutdown.timeout_seconds if timeout is None else max(0.0, timeout)
        deadline = time.monotonic() + budget
        if current.runtime is self.runtime:
            current.runtime = None
        late: list[str] = []
        if os.getpid() == self._pid:
            late += self._stop_components(deadline)
        # else: a forked child's copy. The server, the I/O thread and the components' threads live in the
        # parent; the child only flushes what it recorded itself through the (fork-aware) SDK providers.
        late += run_all_within(deadline, self._provider_steps(deadline))
        if self.multiprocess is not None:
            self._fold_worker_file()
        if self._background is not None and os.getpid() == self._pid:
            self._background.stop(remaining(deadline))
        if late:
            stop_abandoned(self._exporters)
        self._report_late(late, budget)

    def _fold_worker_file(self) -> None:
        """Multiprocess mode, after the providers: nothing records any more, so this worker's counters
        and histograms join the archive now (a forked child's copy leaves its parent's file alone)."""
        assert self.multiprocess is not None
        try:
            self.multiprocess.close(fold=True)
        except OSError:
            _logger.exception("folding this worker's metrics into %s failed", self.multiprocess.path)

    def _provider_steps(self, deadline: float) -> list[Step]:
        meter_provider, tracer_provider = self.meter_provider, self.tracer_provider
        if self._adopted_readers is not None:
            if meter_provider is None:
                return []
            return [
                (f"removing {type(reader).__name__}", partial(meter_provider.remove_metric_reader, reader))
                for reader in self._adopted_readers
            ]
        steps: list[Step] = []
        if tracer_provider is not None:
            steps.append(("exporting spans", tracer_provider.shutdown))
        if meter_provider is not None:
            steps.append(
                ("exporting metrics", lambda: meter_provider.shutdown(timeout_millis=remaining(deadline) * 1000))
            )
        return steps

    def _stop_components(self, deadline: float) -> list[str]:
        late: list[str] = []
        for component in reversed(self.components):
            stop = partial(component.shutdown, remaining(deadline))
            late += run_within(deadline, f"shutting down {component.name}", stop)
        return late

    @staticmethod
    def _report_late(late: list[str], budget: float) -> None:
        if late:
            _logger.warning(
                "%s did not finish within %.1f s (a collector or channel not answering?); what was still in "
                "flight there is abandoned",
                ", ".join(late),
                budget,
            )

    def __repr__(self) -> str:
        state = "shut down" if self._shut_down else ("running" if self.enabled else "disabled")
        port = f", metrics on {self.metrics_server.url}" if self.metrics_server and not self._shut_down else ""
        return f"<Telemetry {state}{port}>"
