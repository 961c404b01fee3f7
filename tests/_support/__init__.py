"""Test support: real components (binaries, servers) and readers of real outputs."""
