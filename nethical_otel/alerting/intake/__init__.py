"""Intake: where alerts enter. Threat spans and unrecorded threats (from any thread), alerts of the API and
the rules, made bounded and safe to keep, queued for the alerting loop without blocking anyone."""
