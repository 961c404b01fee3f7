"""Zero-code instrumentation: ``opentelemetry-instrument python app.py``.

The entry points (declared in pyproject.toml) are:

* ``opentelemetry_distro`` ``nethical``: :class:`nethical_otel.auto.distro.NethicalDistro`
* ``opentelemetry_configurator`` ``nethical``: :class:`nethical_otel.auto.configurator.NethicalConfigurator`
* ``opentelemetry_instrumentor`` ``nethical_detectors``:
  :class:`nethical_otel.auto.instrumentor.NethicalDetectorInstrumentor`
* ``opentelemetry_metrics_exporter`` ``nethical_prometheus``:
  :class:`nethical_otel.auto.prometheus_reader.NethicalPrometheusMetricReader`

Pre-fork servers use the hooks in :mod:`nethical_otel.auto.prefork`. Only the distro, configurator and
instrumentor need ``opentelemetry-instrumentation`` (the ``auto`` extra), so this package imports none
of them itself.
"""

from nethical_otel.auto._targets import DETECTORS_ENV_VAR, ENTRY_POINT_GROUP, Problem, Target

__all__ = ["DETECTORS_ENV_VAR", "ENTRY_POINT_GROUP", "Problem", "Target"]
