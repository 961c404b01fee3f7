"""The generated parts of README.md and docs/: reference tables built from the code they describe.

``scripts/docs generate`` (``python -m docgen``) rewrites every generated block; tests/docs fails when
one is out of date. A block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers.
"""
