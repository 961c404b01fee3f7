# The nethical_otel demo app for the docker-compose stack: `nethical-otel demo` serving /metrics on
# :9091 and pushing OTLP to the collector. Your own application's image needs the same two things:
# `pip install "nethical-otel[profiling]"` and a config that points otlp.endpoint at the collector.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY nethical_otel ./nethical_otel
RUN pip install ".[profiling]"

# Never run as root; the metrics port is above 1024. /var/lib/nethical holds the alert outbox
# (alerting.storage_path in config/deployment.yaml); a new volume mounted there inherits its owner.
RUN useradd --system --uid 10001 --no-create-home nethical \
    && install -d -o nethical -g nethical /var/lib/nethical
USER 10001

EXPOSE 9091
ENTRYPOINT ["nethical-otel"]
CMD ["demo", "--host", "0.0.0.0", "--port", "9091"]
