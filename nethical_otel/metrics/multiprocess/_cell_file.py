"""One process's metric cells in a memory-mapped file: the layout, its single writer and its readers.

A file is a 64-byte header followed by entries, one per series, appended and never moved::

    header   magic "NOTELMP1" | used (end of the last complete entry) | pid | created (ns) | layout |
             parent pid (the server that started the worker: workers of one run share it)
    entry    word: key length | kind << 32 | buckets << 40, then the key (UTF-8 JSON, padded to 8 bytes),
             then the payload, in 8-byte words:
      counter    value, declared, exemplar
      gauge      value (NaN: never set), exemplar
      histogram  seq, declared, slot 0, slot 1, one exemplar per bucket;
                 a slot is the bucket counts (buckets + 1), sum, min, max

Every word is 8-byte aligned and written with one store, so a reader never sees half a word. A counter
or gauge is one word; a histogram's words must agree with each other (the count with the sum), so its two
slots form a *latch*: the writer bumps ``seq`` to odd, updates slot 0, bumps it to even, updates slot 1;
a reader reads slot ``seq & 1``, which is complete whenever ``seq`` holds still, and retries otherwise.
A writer killed mid-update (SIGKILL) leaves ``seq`` still and the slot it names complete: the merged
view then lacks that one half-done observation, and is never inconsistent.

An entry becomes visible when ``used`` moves past it, after its key and payload are in place.

An exemplar is six words with a sequence of its own: seq, trace id (high, low), span id, value, time
(ns; 0: none kept). The writer makes seq odd, writes the five, makes it even; a reader that finds it odd
or changed reads again, and drops an exemplar that a killed writer left half written.

Stores reach the other processes in program order on x86-64 (TSO); on weaker architectures the kernel
and CPython's own barriers around the GIL make a reader at worst one update behind.
"""

from __future__ import annotations

import fcntl
import json
import math
import mmap
import os
import sys
import time
import weakref
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nethical_otel.metrics._families import Kept

MAGIC = b"NOTELMP1"
HEADER_BYTES = 64
LAYOUT = 1
# Header words.
_USED, _PID, _CREATED, _LAYOUT, _PARENT = 1, 2, 3, 4, 5

KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM, KIND_META = 1, 2, 3, 9
EXEMPLAR_WORDS = 6
_MASK64 = (1 << 64) - 1
INITIAL_BYTES = 64 * 1024
_READ_ATTEMPTS = 1000


def payload_words(kind: int, buckets: int) -> int:
    if kind == KIND_COUNTER:
        return 2 + EXEMPLAR_WORDS
    if kind == KIND_GAUGE:
        return 1 + EXEMPLAR_WORDS
    if kind == KIND_HISTOGRAM:
        return 2 + 2 * slot_words(buckets) + (buckets + 1) * EXEMPLAR_WORDS
    return 0


def slot_words(buckets: int) -> int:
    """Words of one histogram slot: the counts of ``buckets`` bounds plus +Inf, then sum, min, max."""
    return buckets + 4


def encode_key(name: str, attributes: dict[str, Any]) -> bytes:
    return json.dumps([name, attributes], ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _padded(length: int) -> int:
    return (length + 7) & ~7


class _Views:
    """An 8-byte-word view of one mapping of the file, as floats and as unsigned integers."""

    __slots__ = ("d", "map", "q")

    def __init__(self, mapping: mmap.mmap) -> None:
        self.map = mapping
        self.d = memoryview(mapping).cast("d")
        self.q = memoryview(mapping).cast("Q")


@dataclass(frozen=True)
class Slot:
    """Where a cell lives: the views of the mapping that holds it and the index of its first payload word."""

    d: Any  # memoryview of doubles
    q: Any  # memoryview of unsigned 64-bit words
    index: int


class CellFile:
    """The single writer of one process's file.

    The process holds an exclusive ``flock`` on the file for as long as it lives; the kernel drops it when
    the process dies however it dies, which is how the others tell a live file from a dead one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid = os.getpid()
        # Made under a name no reader lists, locked, then renamed: nobody ever sees it unlocked.
        making = path.with_name(f".{path.name}.new")
        self._fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        # The lock lives on a descriptor of its own: mmap keeps a duplicate of the one it maps, and the
        # lock must go when this process closes the file, while its mappings may outlive that.
        self._lock_fd = os.open(making, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._views: list[_Views] = []
            self._size = 0
            self._grow(INITIAL_BYTES)
            header = self._views[-1]
            header.map[0:8] = MAGIC
            header.q[_PID] = self.pid
            header.q[_PARENT] = os.getppid()
            header.q[_CREATED] = time.time_ns()
            header.q[_LAYOUT] = LAYOUT
            self._used = HEADER_BYTES
            header.q[_USED] = self._used
            os.rename(making, path)
        except BaseException:
            os.close(self._fd)
            os.close(self._lock_fd)
            making.unlink(missing_ok=True)
            raise
        self.closed = False
        _open_files.add(self)

    def _grow(self, size: int) -> None:
        # Reserve the blocks now: a full disk is then an OSError here, not a SIGBUS on a later store.
        os.posix_fallocate(self._fd, 0, size)
        # Earlier mappings stay open: their cells keep writing through them into the same pages.
        self._views.append(_Views(mmap.mmap(self._fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)))
        self._size = size

    def allocate(self, key: bytes, kind: int, buckets: int = 0) -> Slot:
        """Append an entry for one series; the caller serialises calls (the backend's lock)."""
        words = payload_words(kind, buckets)
        start = self._used
        payload = start + 8 + _padded(len(key))
        end = payload + words * 8
        if end > self._size:
            self._grow(max(self._size * 2, _padded(end)))
        views = self._views[-1]
        views.q[start // 8] = len(key) | kind << 32 | buckets << 40
        views.map[start + 8 : start + 8 + len(key)] = key
        index = payload // 8
        if kind == KIND_GAUGE:
            views.d[index] = math.nan
        elif kind == KIND_HISTOGRAM:
            for slot in (index + 2, index + 2 + slot_words(buckets)):
                views.d[slot + buckets + 2] = math.inf  # min
                views.d[slot + buckets + 3] = -math.inf  # max
        self._used = end
        views.q[_USED] = end  # publishes the entry
        return Slot(views.d, views.q, index)

    def close(self) -> None:
        """Release the file and its lock (the file is dead from then on); its cells must not be written."""
        if self.closed:
            return
        self.closed = True
        _open_files.discard(self)
        os.close(self._lock_fd)
        os.close(self._fd)


_open_files: weakref.WeakSet[CellFile] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked child must not keep its parent's files alive: its copies of the locks go. The parent's
    # own descriptors, and so its locks, are untouched.
    for cell_file in list(_open_files):
        cell_file.close()


os.register_at_fork(after_in_child=_after_fork_in_child)


# Reading ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    kind: int
    key: bytes
    buckets: int
    index: int  # first payload word


@dataclass
class FileValues:
    """What one file holds at the moment it was read."""

    pid: int
    parent: int
    created_ns: int
    counters: list[CounterEntry]
    gauges: list[tuple[bytes, float]]
    histograms: list[HistogramEntry]
    meta: list[bytes]


CounterEntry = tuple[bytes, float, bool, "Kept | None"]  # key, value, declared, exemplar
HistogramEntry = tuple[bytes, int, list[float], bool, "list[Kept | None]"]  # key, buckets, slot, declared, exemplars


class CellReader:
    """Reads a file written by another process (or by a dead one). Keeps the entries it parsed."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._map: mmap.mmap | None = None
        self._d: Any = None
        self._q: Any = None
        self._entries: list[Entry] = []
        self._parsed = HEADER_BYTES

    def _remap(self, needed: int) -> bool:
        size = os.fstat(self._fd).st_size
        if size < max(needed, HEADER_BYTES):
            return False
        if self._map is not None and len(self._map) >= needed:
            return True
        self._release_views()
        self._map = mmap.mmap(self._fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        self._d = memoryview(self._map).cast("d")
        self._q = memoryview(self._map).cast("Q")
        return True

    def _release_views(self) -> None:
        if self._map is not None:
            self._d.release()
            self._q.release()
            self._map.close()
            self._map = None

    def read(self) -> FileValues | None:
        """The file's values, or ``None`` if it is not (yet) a complete file of this layout."""
        if not self._remap(HEADER_BYTES):
            return None
        assert self._map is not None
        if self._map[0:8] != MAGIC or self._q[_LAYOUT] != LAYOUT:
            return None
        used = self._q[_USED]
        if not self._remap(used):
            return None
        self._parse(used)
        values = FileValues(int(self._q[_PID]), int(self._q[_PARENT]), int(self._q[_CREATED]), [], [], [], [])
        d = self._d
        for entry in self._entries:
            i = entry.index
            if entry.kind == KIND_COUNTER:
                values.counters.append((entry.key, d[i], d[i + 1] != 0.0, self._exemplar(i + 2)))
            elif entry.kind == KIND_GAUGE:
                values.gauges.append((entry.key, d[i]))
            elif entry.kind == KIND_HISTOGRAM:
                first = i + 2 + 2 * slot_words(entry.buckets)
                kept = [self._exemplar(first + b * EXEMPLAR_WORDS) for b in range(entry.buckets + 1)]
                slot = self._latched(i, entry.buckets)
                values.histograms.append((entry.key, entry.buckets, slot, d[i + 1] != 0.0, kept))
            elif entry.kind == KIND_META:
                values.meta.append(entry.key)
        return values

    def _exemplar(self, index: int) -> Kept | None:
        q, d = self._q, self._d
        for _ in range(_READ_ATTEMPTS):
            seq = q[index]
            if seq & 1:
                continue  # being written (or left half written by a killed writer)
            high, low, span_id = q[index + 1], q[index + 2], q[index + 3]
            value, at = d[index + 4], q[index + 5]
            if q[index] == seq:
                return (value, (high << 64 | low, span_id, at)) if at else None
        return None

    def _latched(self, index: int, buckets: int) -> list[float]:
        width = slot_words(buckets)
        q, d = self._q, self._d
        words: list[float] = []
        for _ in range(_READ_ATTEMPTS):
            seq = q[index]
            start = index + 2 + (seq & 1) * width
            words = d[start : start + width].tolist()
            if q[index] == seq:
                return words
        return words  # a writer updating this cell nonstop: one update of skew at most

    def _parse(self, used: int) -> None:
        q, raw = self._q, self._map
        assert raw is not None
        offset = self._parsed
        while offset + 8 <= used:
            word = q[offset // 8]
            length, kind, buckets = word & 0xFFFFFFFF, (word >> 32) & 0xFF, word >> 40
            payload = offset + 8 + _padded(length)
            end = payload + payload_words(kind, buckets) * 8
            if end > used or kind not in (KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM, KIND_META):
                break  # cannot happen for a file of this layout; stop rather than misread
            self._entries.append(Entry(kind, bytes(raw[offset + 8 : offset + 8 + length]), buckets, payload // 8))
            offset = end
        self._parsed = offset

    @property
    def fd(self) -> int:
        return self._fd

    def read_and_close(self) -> FileValues | None:
        try:
            return self.read()
        finally:
            self.close()

    def close(self) -> None:
        self._release_views()
        os.close(self._fd)


def file_bytes(counters: list[CounterEntry], histograms: list[HistogramEntry], meta: list[bytes], parent: int) -> bytes:
    """A complete file holding these values (the archive of dead workers is written whole, then renamed)."""
    out = bytearray(HEADER_BYTES)
    out[0:8] = MAGIC

    def entry(key: bytes, kind: int, buckets: int, payload: list[float], kept: list[Kept | None]) -> None:
        out.extend((len(key) | kind << 32 | buckets << 40).to_bytes(8, sys.byteorder))
        out.extend(key.ljust(_padded(len(key)), b"\0"))
        start = len(out)
        out.extend(bytes(payload_words(kind, buckets) * 8))
        words = memoryview(out)
        d, q = words[start:].cast("d"), words[start:].cast("Q")
        d[: len(payload)] = array("d", payload)
        for number, exemplar in enumerate(kept):
            if exemplar is not None:
                at = len(payload) + number * EXEMPLAR_WORDS
                value, (trace_id, span_id, time_ns) = exemplar
                q[at + 1], q[at + 2], q[at + 3] = trace_id >> 64, trace_id & _MASK64, span_id
                d[at + 4], q[at + 5] = value, time_ns
        d.release()
        q.release()
        words.release()

    for key in meta:
        entry(key, KIND_META, 0, [], [])
    for key, value, declared, kept in counters:
        entry(key, KIND_COUNTER, 0, [value, float(declared)], [kept])
    for key, buckets, slot, declared, kept_list in histograms:
        entry(key, KIND_HISTOGRAM, buckets, [0.0, float(declared), *slot, *slot], kept_list)
    header = memoryview(out).cast("Q")
    header[_USED] = len(out)
    header[_PID] = os.getpid()
    header[_PARENT] = parent
    header[_CREATED] = time.time_ns()
    header[_LAYOUT] = LAYOUT
    header.release()
    return bytes(out)
