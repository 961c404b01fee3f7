"""An asyncio application with its own detectors. It never imports nethical_otel.

cd examples/zero_code
export NETHICAL_OTEL_CONFIG=nethical.yaml OTEL_PYTHON_DISTRO=nethical
opentelemetry-instrument python app_async.py --linger 60
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import _lifecycle
import workload


async def main() -> None:
    args = _lifecycle.parse_args(__doc__ or "")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    counts = await workload.run_async()
    _lifecycle.report(counts, args.summary)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), args.linger)


if __name__ == "__main__":
    asyncio.run(main())
