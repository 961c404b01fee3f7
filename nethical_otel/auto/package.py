"""What the detector instrumentor instruments, in the form ``opentelemetry-instrument`` checks.

Detectors are the application's own code, so there is no library version to require: the dependency
check always passes.
"""

_instruments: tuple[str, ...] = ()

_supports_metrics = True
