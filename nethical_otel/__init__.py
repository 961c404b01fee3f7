"""OpenTelemetry observability for AI threat detectors.

```python
import nethical_otel

telemetry = nethical_otel.configure("config/monitoring.yaml")

@nethical_otel.instrument_detector("prompt_injection", model="pi-v2")
def detect(prompt: str) -> dict: ...
```
"""

from nethical_otel._version import __version__
from nethical_otel.config import Config, ConfigError, load_config
from nethical_otel.decorator import Threat, instrument_detector
from nethical_otel.pipeline import Telemetry, configure, shutdown

__all__ = [
    "Config",
    "ConfigError",
    "Telemetry",
    "Threat",
    "__version__",
    "configure",
    "instrument_detector",
    "load_config",
    "shutdown",
]
