# The official otelcol-contrib image plus a static busybox, so the compose healthcheck can poll the
# collector's health_check extension. The official image is FROM scratch: no shell, no wget, nothing a
# Docker healthcheck could run. Nothing else changes: same binary, same entrypoint, same user.
FROM busybox:1.36.1-musl AS busybox

FROM otel/opentelemetry-collector-contrib:0.131.0
COPY --from=busybox /bin/busybox /busybox
