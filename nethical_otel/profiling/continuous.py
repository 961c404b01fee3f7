"""Continuous profiling: the process-wide pyroscope-io agent, started and stopped with the pipeline.

pyroscope-io runs one agent per process. ``configure()`` called again replaces the pipeline, which
stops this agent and starts a new one; with the default py-spy sampler pyroscope-io 1.4 restarts
cleanly in the same process. Its agent threads do not survive ``fork()``: a fork child stops tagging
and says so once, and profiles again when the child calls ``nethical_otel.configure()`` (gunicorn:
in ``post_fork``).

Nothing here raises into the application: a missing ``pyroscope-io``, an agent that refuses to start
or a server that is down each produce one warning, and the application runs as before.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from types import ModuleType

from nethical_otel.profiling._health import PushHealthCheck
from nethical_otel.profiling._settings import PyroscopeSettings
from nethical_otel.profiling._tags import ProfileTagProcessor

logger = logging.getLogger("nethical_otel.profiling")

INSTALL_HINT = "pip install 'nethical-otel[profiling]'"


class _AgentSlot:
    """Who runs the process's one agent, and a stop still waiting for a slow server."""

    lock = threading.Lock()
    owner: ContinuousProfiler | None = None
    unfinished_stop: threading.Thread | None = None


def _load_pyroscope() -> ModuleType | None:
    try:
        return importlib.import_module("pyroscope")
    except ImportError:
        logger.warning(
            "continuous profiling is enabled but pyroscope-io is not installed (%s); the application runs without it",
            INSTALL_HINT,
        )
        return None


class ContinuousProfiler:
    """Starts the pyroscope-io agent with ``settings`` and feeds ``processor`` its tag functions."""

    def __init__(self, settings: PyroscopeSettings, processor: ProfileTagProcessor | None = None) -> None:
        self.settings = settings
        self.processor = processor
        self.application_name: str | None = None
        self.health: PushHealthCheck | None = None
        self._pyroscope: ModuleType | None = None
        self._pid = 0

    @property
    def running(self) -> bool:
        return _AgentSlot.owner is self and self._pid == os.getpid()

    def start(self, application_name: str) -> bool:
        """Start profiling as ``application_name``; False (after one warning) when it cannot."""
        pyroscope = _load_pyroscope()
        if pyroscope is None:
            return False
        with _AgentSlot.lock:
            if not self._claim_agent(pyroscope, application_name):
                return False
        self._pyroscope = pyroscope
        self.application_name = application_name
        if self.processor is not None:
            self.processor.activate(pyroscope.add_thread_tag, pyroscope.remove_thread_tag)
        if self.settings.health_check_interval > 0:
            self.health = PushHealthCheck(self.settings, self.settings.health_check_interval)
            self.health.start()
        logger.info(
            "continuous profiling: pushing %s to %s at %d Hz every %d s",
            application_name,
            self.settings.server_address,
            self.settings.sample_rate,
            self.settings.upload_interval,
        )
        return True

    def _claim_agent(self, pyroscope: ModuleType, application_name: str) -> bool:
        if _AgentSlot.owner is not None:
            logger.warning("continuous profiling: another nethical_otel pipeline already runs the Pyroscope agent")
            return False
        unfinished = _AgentSlot.unfinished_stop
        if unfinished is not None and unfinished.is_alive():
            logger.warning(
                "continuous profiling not started: the previous Pyroscope agent is still waiting for its last "
                "upload to %s",
                self.settings.server_address,
            )
            return False
        try:
            started = pyroscope.configure(**self.settings.configure_arguments(application_name))
        except TypeError as error:
            logger.warning(
                "continuous profiling not started: pyroscope-io %s does not accept nethical_otel's settings (%s); "
                "nethical_otel needs pyroscope-io>=1.4,<2",
                _installed_version("pyroscope-io"),
                error,
            )
            return False
        if not started:
            logger.warning(
                "continuous profiling not started: pyroscope-io refused to start an agent (is one configured "
                "outside nethical_otel in this process?)"
            )
            return False
        _AgentSlot.owner = self
        self._pid = os.getpid()
        return True

    def stop(self, timeout: float) -> None:
        """Stop tagging and the agent; its final push may take up to ``timeout`` seconds."""
        if self.processor is not None:
            self.processor.deactivate()
        if self.health is not None:
            self.health.stop(timeout)
        with _AgentSlot.lock:
            if _AgentSlot.owner is not self:
                return
            _AgentSlot.owner = None
            if self._pyroscope is None:
                return
            # shutdown() flushes synchronously and waits on a slow server for tens of seconds; it
            # releases the GIL, so a helper thread bounds the wait.
            stopper = threading.Thread(
                target=self._pyroscope.shutdown, name="nethical-otel-pyroscope-stop", daemon=True
            )
            stopper.start()
            stopper.join(timeout)
            if stopper.is_alive():
                _AgentSlot.unfinished_stop = stopper
                logger.warning(
                    "continuous profiling: the last upload to %s did not finish within %g s and is abandoned",
                    self.settings.server_address,
                    timeout,
                )

    def _lost_in_fork(self) -> None:
        if self.processor is not None:
            self.processor.deactivate()
        logger.warning(
            "continuous profiling stopped in fork child %d: the Pyroscope agent runs in the parent only. Call "
            "nethical_otel.configure() in the child (gunicorn: post_fork) to profile it",
            os.getpid(),
        )


def _after_fork_in_child() -> None:
    # The parent may have held the lock while forking; the child gets a fresh one.
    _AgentSlot.lock = threading.Lock()
    _AgentSlot.unfinished_stop = None
    owner, _AgentSlot.owner = _AgentSlot.owner, None
    if owner is not None:
        # The pipeline does not shut its components down in a fork child (their threads are the
        # parent's), so the slot is freed here for the child's own configure().
        owner._lost_in_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"
