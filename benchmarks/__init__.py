"""The overhead benchmark suite: ``python -m benchmarks`` (not part of the test run)."""
