"""A synchronous application with its own detectors. It never imports nethical_otel.

    cd examples/zero_code
    export NETHICAL_OTEL_CONFIG=nethical.yaml OTEL_PYTHON_DISTRO=nethical
    opentelemetry-instrument python app_sync.py --linger 60

then open http://127.0.0.1:9091/metrics.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

import _lifecycle
import workload


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)  # like Ctrl-C: exit handlers run, so buffered telemetry is flushed (a bare SIGTERM skips them)


def main() -> None:
    args = _lifecycle.parse_args(__doc__ or "")
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    counts = workload.run_sync()
    _lifecycle.report(counts, args.summary)
    time.sleep(args.linger)


if __name__ == "__main__":
    main()
