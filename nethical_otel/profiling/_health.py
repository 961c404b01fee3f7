"""Tell the operator, once, when the Pyroscope server cannot take pushes.

pyroscope-io's agent uploads from Rust threads and keeps failures to itself (with its logging on, it
prints every failed upload straight to stderr). So a background thread probes the push endpoint the
agent uses, with the agent's credentials, every ``interval`` seconds, and logs one warning when the
server goes from reachable (or unknown) to failing, and one info line when it comes back.

The probe is an empty ``PushRequest``. Pyroscope answers it ``400 invalid_argument: no profiles
received`` after authentication and tenant checks, so that answer counts as healthy, like any 2xx.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import urllib.error
import urllib.request

from nethical_otel._version import __version__
from nethical_otel.profiling._settings import PyroscopeSettings

logger = logging.getLogger("nethical_otel.profiling")

_EMPTY_PUSH = gzip.compress(b"")  # a PushRequest without series encodes to zero bytes


def probe(settings: PyroscopeSettings, timeout: float) -> str | None:
    """What is wrong with the push endpoint, or None when it takes pushes."""
    request = urllib.request.Request(settings.push_url, data=_EMPTY_PUSH, method="POST")
    request.add_header("Content-Type", "application/proto")
    request.add_header("Content-Encoding", "gzip")
    request.add_header("User-Agent", f"nethical-otel/{__version__} health-check")
    if settings.basic_auth_username:
        credentials = f"{settings.basic_auth_username}:{settings.basic_auth_password.reveal()}"
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    if settings.tenant_id:
        request.add_header("X-Scope-OrgID", settings.tenant_id)
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError as error:
        with error:
            body = error.read(4096)
        return _classify(error.code, body)
    except TimeoutError:
        return f"did not answer within {timeout:g} s"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"is unreachable ({reason})"


def _classify(status: int, body: bytes) -> str | None:
    if status == 400 and _connect_code(body) == "invalid_argument":
        return None  # Pyroscope refusing the empty probe: reachable, authenticated
    if status in (401, 403):
        return f"refused the credentials (HTTP {status}); check basic_auth_username/basic_auth_password and tenant_id"
    if status == 404:
        return "has no push endpoint (HTTP 404); is server_address the Pyroscope base URL?"
    return f"answered HTTP {status}"


def _connect_code(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    code = document.get("code") if isinstance(document, dict) else None
    return code if isinstance(code, str) else None


class PushHealthCheck:
    """A daemon thread that probes every ``interval`` seconds and logs state changes."""

    def __init__(self, settings: PyroscopeSettings, interval: float) -> None:
        self._settings = settings
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.problem: str | None = None  # the last probe's finding
        self.probes = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nethical-otel-pyroscope-health", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failing = False
        timeout = min(10.0, self._interval)
        while not self._stop.is_set():
            problem = probe(self._settings, timeout)
            self.problem = problem
            self.probes += 1
            if problem is not None and not failing:
                logger.warning(
                    "continuous profiling: the Pyroscope server at %s %s. Profiles are dropped until it takes "
                    "pushes again; the application is unaffected. (Checked every %g s; this is not repeated "
                    "until the server recovers.)",
                    self._settings.server_address,
                    problem,
                    self._interval,
                )
            elif problem is None and failing:
                logger.info(
                    "continuous profiling: the Pyroscope server at %s takes pushes again", self._settings.server_address
                )
            failing = problem is not None
            self._stop.wait(self._interval)
