"""Multiprocess mode: one memory-mapped file of cells per worker, merged into one exact ``/metrics``.

``_cell_file`` lays out a worker's file (one writer, no cross-process lock); ``_shared_cells`` records into
it on the hot path; ``_merge`` adds every worker's values together; ``_directory`` holds the files, notices
dead workers and folds them into one archive, and is the backend the pipeline reads.
"""

from nethical_otel.metrics.multiprocess._directory import MultiprocessBackend, MultiprocessDir, role

__all__ = ["MultiprocessBackend", "MultiprocessDir", "role"]
