"""Localhost emulators of the alerting services, enforcing the contracts in the alerting-channels reference."""
