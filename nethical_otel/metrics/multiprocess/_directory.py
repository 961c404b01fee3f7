"""Multiprocess mode: the directory of worker files, its compaction, and the backend that merges it.

Files in the directory (``prometheus.multiprocess_dir``)::

    w-<created ns>-<pid>.mmap  one per worker that recorded something; that worker is its only writer
    archive.mmap               the counters and histograms of every dead worker, folded together
    archive.tmp                only while a compaction writes the next archive

No ``*.db`` name: the directory may be the one prometheus_client's own multiprocess mode uses
(``PROMETHEUS_MULTIPROC_DIR``), whose collector reads every ``*.db`` file in it as its own.

Locks, all ``flock`` (the kernel drops them when a process dies, SIGKILL included):

* each worker holds its own file exclusively for its lifetime: a file whose lock can be taken is dead;
* every participating process holds the directory shared; the first one of a run (the lock can be
  taken exclusively) wipes what a previous run left;
* a compaction holds ``archive.tmp``; it folds the dead files into a new archive, renames it over the
  old one, then removes the dead files. The archive lists the files it folded, so a reader that still
  sees one of them skips it, and a compaction interrupted between the rename and the removals is
  finished by the next one.

Readers take no lock: they read the archive, then the workers' files, and start again if the archive
was replaced meanwhile. The file count stays at the live workers plus one however many workers came
and went.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from pathlib import Path

from opentelemetry.sdk.metrics.export import Metric

from nethical_otel.metrics._families import Family, LocalBackend, LocalFamily, Reject, local_series
from nethical_otel.metrics._labels import LabelCleaner
from nethical_otel.metrics._points import ReaderState, Scope, build_metrics
from nethical_otel.metrics.multiprocess._cell_file import CellFile, CellReader, FileValues, Slot, file_bytes
from nethical_otel.metrics.multiprocess._merge import Accumulator, KeyCache
from nethical_otel.metrics.multiprocess._shared_cells import SharedFamily
from nethical_otel.semconv import MetricSpec

WORKER_PREFIX, WORKER_SUFFIX = "w-", ".mmap"
ARCHIVE, ARCHIVE_TMP = "archive.mmap", "archive.tmp"
_READ_ATTEMPTS = 5


class ProcessRole:
    """This process's part in multiprocess mode.

    The *coordinator* (a gunicorn master, set by the pre-fork hooks) keeps its own cells in memory,
    serves the merged view and evaluates rules; its forked workers are *coordinated* and leave that to it.
    Without a coordinator every process writes a file, the first to bind the port serves, and the oldest
    live worker evaluates rules and pushes merged OTLP.
    """

    coordinator = False
    coordinated = False


role = ProcessRole()


_open_dirs: weakref.WeakSet[MultiprocessDir] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    if role.coordinator:
        role.coordinator, role.coordinated = False, True
    for directory in list(_open_dirs):
        directory.forget()  # the parent's lease and readers stay the parent's


os.register_at_fork(after_in_child=_after_fork_in_child)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _is_locked(fd: int) -> bool:
    """Whether a live process holds the file's lock (if not, probing leaves it unlocked)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


class MultiprocessDir:
    """This process's view of the directory: its own file (created on first use) and everyone else's."""

    def __init__(self, path: str | os.PathLike[str], cardinality_limit: int, *, writes_file: bool = True) -> None:
        self.path = Path(path)
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.writes_file = writes_file
        self._limit = cardinality_limit
        self._pid = os.getpid()
        self._dir_fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._take_lease()
        self._file: CellFile | None = None
        self._own_name: str | None = None
        self._allocate_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._readers: dict[str, CellReader] = {}
        self._archive: tuple[int, CellReader] | None = None  # kept while it is the current archive
        self.keys = KeyCache()
        self.closed = False
        _open_dirs.add(self)

    # Lifecycle --------------------------------------------------------------------------------------
    def _take_lease(self) -> None:
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(self._dir_fd, fcntl.LOCK_SH)  # waits while a first process wipes
            return
        # Nobody else is here. What is left is from a previous run, unless it was left by siblings of
        # this process: workers restarted by the same live server (``uvicorn --workers`` has no hook
        # that would keep the directory for them in between).
        if not self._left_by_siblings():
            self.wipe()
        fcntl.flock(self._dir_fd, fcntl.LOCK_SH)

    def _left_by_siblings(self) -> bool:
        parent = os.getppid()
        if parent <= 1:  # started by init or a container runtime: every start is a new run
            return False
        for name in [*self._listing(), ARCHIVE]:
            try:
                reader = CellReader(os.open(self.path / name, os.O_RDONLY | os.O_CLOEXEC))
            except FileNotFoundError:
                continue
            values = reader.read_and_close()
            if values is not None and values.parent == parent:
                return True
        return False

    def wipe(self) -> None:
        for entry in os.listdir(self.path):
            if entry.startswith((WORKER_PREFIX, f".{WORKER_PREFIX}")) or entry in (ARCHIVE, ARCHIVE_TMP):
                _unlink(self.path / entry)

    def close(self, fold: bool = True) -> None:
        """Stop writing; with ``fold``, move this process's counters and histograms into the archive now."""
        if self.closed:
            return
        self.closed = True
        _open_dirs.discard(self)
        if self._file is not None:
            self._file.close()  # releases the lock: the file is dead from here on
            self._own_name = None
            if fold:
                self.compact()
        self.forget()

    def forget(self) -> None:
        """Close the descriptors (in a forked child: this process's copies of its parent's)."""
        self.closed = True
        _open_dirs.discard(self)
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()
        if self._archive is not None:
            self._archive[1].close()
            self._archive = None
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    # Writing ----------------------------------------------------------------------------------------
    def allocate(self, key: bytes, kind: int, buckets: int) -> Slot:
        with self._allocate_lock:
            if self._file is None:
                name = f"{WORKER_PREFIX}{time.time_ns():020d}-{os.getpid()}{WORKER_SUFFIX}"
                self._file = CellFile(self.path / name)
                self._own_name = name
            return self._file.allocate(key, kind, buckets)

    # Reading ----------------------------------------------------------------------------------------
    def _listing(self) -> list[str]:
        return sorted(
            name for name in os.listdir(self.path) if name.startswith(WORKER_PREFIX) and name.endswith(WORKER_SUFFIX)
        )

    def file_count(self) -> int:
        """Worker files plus the archive (what stays flat however many workers restart)."""
        return len(self._listing()) + (self.path / ARCHIVE).exists()

    def _open_archive(self) -> CellReader | None:
        try:
            return CellReader(os.open(self.path / ARCHIVE, os.O_RDONLY | os.O_CLOEXEC))
        except FileNotFoundError:
            return None

    def _read_archive(self) -> FileValues | None:
        archive = self._open_archive()
        return archive.read_and_close() if archive is not None else None

    def _current_archive(self) -> tuple[int | None, CellReader | None]:
        """The archive as it is now; the same reader (entries parsed once) while it is not replaced."""
        cached = self._archive
        inode = self._archive_inode()
        if cached is not None and cached[0] == inode:
            return cached
        if cached is not None:
            cached[1].close()
            self._archive = None
        opened = self._open_archive()
        if opened is None:
            return None, None
        self._archive = (os.fstat(opened.fd).st_ino, opened)
        return self._archive

    def _archive_inode(self) -> int | None:
        try:
            return (self.path / ARCHIVE).stat().st_ino
        except FileNotFoundError:
            return None

    def _reader(self, name: str) -> CellReader | None:
        reader = self._readers.get(name)
        if reader is None:
            try:
                fd = os.open(self.path / name, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return None
            reader = self._readers[name] = CellReader(fd)
        return reader

    def read(self) -> list[tuple[FileValues, bool]]:
        """Every file's values with whether its writer is alive: the archive first, then the workers."""
        with self._read_lock:
            for _ in range(_READ_ATTEMPTS):
                # Kept open: its inode cannot be reused by a later archive while it is compared below.
                inode, opened = self._current_archive()
                archive = opened.read() if opened is not None else None
                found: list[tuple[FileValues, bool]] = [(archive, False)] if archive is not None else []
                folded = {key.decode("utf-8", "replace") for key in archive.meta} if archive is not None else set()
                names = self._listing()
                for name in names:
                    reader = None if name in folded else self._reader(name)
                    values = reader.read() if reader is not None else None
                    if reader is not None and values is not None:
                        found.append((values, name == self._own_name or _is_locked(reader.fd)))
                if self._archive_inode() == inode:
                    break  # no compaction in between: nothing counted twice or missed
            for name in set(self._readers) - set(names):
                self._readers.pop(name).close()
            return found

    def read_own(self) -> FileValues | None:
        with self._read_lock:
            reader = self._reader(self._own_name) if self._own_name is not None else None
            return reader.read() if reader is not None else None

    def is_primary(self) -> bool:
        """Whether this process evaluates rules and pushes merged OTLP (one process in the directory does)."""
        if role.coordinator or role.coordinated:
            return role.coordinator
        if self._own_name is None:
            return False
        for name in self._listing():
            if name == self._own_name:
                return True
            try:
                fd = os.open(self.path / name, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                if _is_locked(fd):
                    return False  # an older live worker leads
            finally:
                os.close(fd)
        return False

    # Compaction -------------------------------------------------------------------------------------
    def _compaction_lock(self) -> int | None:
        tmp = self.path / ARCHIVE_TMP
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino == tmp.stat().st_ino:
                return fd
        except (BlockingIOError, FileNotFoundError):
            pass  # another process compacts (or just renamed its work over the archive)
        os.close(fd)
        return None

    def compact(self) -> int:
        """Fold every dead worker's file into the archive; returns how many were folded."""
        lock = self._compaction_lock()
        if lock is None:
            return 0
        dead: list[tuple[str, int]] = []
        try:
            archive = self._read_archive()
            folded = {key.decode("utf-8", "replace") for key in archive.meta} if archive is not None else set()
            names = self._listing()
            for name in names:
                if name == self._own_name or name in folded:
                    continue
                try:
                    fd = os.open(self.path / name, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    dead.append((name, fd))
                except BlockingIOError:
                    os.close(fd)
            leftovers = folded & set(names)  # folded by a compaction that stopped before removing them
            if dead:
                accumulator = Accumulator(self.keys, self._limit)
                if archive is not None:
                    accumulator.add_file(archive, live=False)
                folded_values = []
                for _name, fd in dead:
                    values = CellReader(os.dup(fd)).read_and_close()
                    if values is not None:
                        accumulator.add_file(values, live=False)
                        folded_values.append(values)
                counters, histograms = accumulator.archive_entries()
                gone = [name for name, _fd in dead] + sorted(leftovers)
                parent = max((values.parent for values in folded_values), default=os.getppid())
                data = file_bytes(counters, histograms, [name.encode() for name in gone], parent)
                os.ftruncate(lock, 0)
                os.pwrite(lock, data, 0)
                os.rename(self.path / ARCHIVE_TMP, self.path / ARCHIVE)
            else:
                _unlink(self.path / ARCHIVE_TMP)  # still ours (we hold it): no file is left behind
            for name in [name for name, _fd in dead] + sorted(leftovers):
                _unlink(self.path / name)
            return len(dead)
        finally:
            for _name, fd in dead:
                os.close(fd)
            os.close(lock)


class MultiprocessBackend(LocalBackend):
    """Local aggregation whose cells live in this worker's file, collected as the merge of every worker."""

    def __init__(self, clean: LabelCleaner, cardinality_limit: int, directory: MultiprocessDir) -> None:
        super().__init__(clean, cardinality_limit)
        self.directory = directory

    def family(self, spec: MetricSpec, reject: Reject) -> Family:
        created: Family
        if self.directory.writes_file:
            created = SharedFamily(spec, self.clean, self._limit, reject, self.directory.allocate)
        else:
            created = LocalFamily(spec, self.clean, self._limit, reject)
        self._families.append(created)
        return created

    def collect(self, state: ReaderState) -> list[Metric] | None:
        accumulator = Accumulator(self.directory.keys, self._limit)
        if state.scope is Scope.OWN:
            own = self.directory.read_own()
            if own is not None:
                accumulator.add_file(own, live=True)
        else:
            if state.scope is Scope.MERGED_IF_PRIMARY and not self.directory.is_primary():
                return None
            self.directory.compact()
            for values, live in self.directory.read():
                accumulator.add_file(values, live)
        for family in self._families:  # this process's in-memory cells (a coordinator's, or a fallback's)
            accumulator.add_series(family.spec, local_series(family))
        specs = [family.spec for family in self._families]
        return build_metrics(accumulator.series(specs), state, self.start_time_ns)

    def close(self, fold: bool = True) -> None:
        self.directory.close(fold)
