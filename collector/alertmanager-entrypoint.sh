#!/bin/sh
# Start Alertmanager with receiver credentials taken from the environment.
#
# Alertmanager does not expand environment variables in alertmanager.yml; its receivers read secrets
# from files instead (api_url_file, routing_key_file). This writes each variable to the file the
# configuration names, readable by this user only, then replaces itself with Alertmanager. The files
# live on a tmpfs in the compose stack, so credentials never touch a disk or the repository.
#   ALERTMANAGER_SECRETS_DIR  where to write the files (default /run/alertmanager-secrets)
#   ALERTMANAGER_BINARY       what to exec (default /bin/alertmanager, the image's binary)
set -eu

secrets_dir=${ALERTMANAGER_SECRETS_DIR:-/run/alertmanager-secrets}
umask 077
mkdir -p "$secrets_dir"

write_secret() {
    # printf, not echo: no trailing newline, and backslashes in the value stay as they are.
    printf '%s' "$2" >"$secrets_dir/$1.tmp"
    mv "$secrets_dir/$1.tmp" "$secrets_dir/$1"
}
write_secret slack_webhook_url "${SLACK_WEBHOOK_URL:-}"
write_secret pagerduty_routing_key "${PAGERDUTY_ROUTING_KEY:-}"

for name in SLACK_WEBHOOK_URL PAGERDUTY_ROUTING_KEY; do
    eval "value=\${$name:-}"
    if [ -z "$value" ]; then
        echo "alertmanager-entrypoint: $name is not set; its receiver will fail to deliver" >&2
    fi
done

exec "${ALERTMANAGER_BINARY:-/bin/alertmanager}" "$@"
