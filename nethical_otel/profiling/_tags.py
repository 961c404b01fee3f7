"""Label profile samples with the running detector and link root spans to their profiles.

Pyroscope's dynamic tags belong to an OS thread: the agent labels each stack sample with the tags its
thread carries at that moment. This span processor keeps, per thread, the spans that asked for tags
(detector spans, and root spans for the span<->profile link) and shows the innermost one for each
tag key.

asyncio tasks share their thread, and a task suspended at an ``await`` leaves its span open while
other tasks run. So each open span remembers the task that started it, and at every span start or end
the thread shows only the tags of spans belonging to the task running at that moment: a nested
detector takes over from its caller and hands back when it returns, and when a task finishes a
detector while another task's detector is suspended, the thread shows no detector instead of the
suspended one. What no span boundary can reveal is a task switch in between: while a detector is
suspended and other tasks run code outside any detector, their samples keep its label until the next
span boundary on that thread (docs/profiling.md explains how to avoid that).

Matches pyroscope-otel's ``PyroscopeSpanProcessor`` for the links (same attribute, same labels) but
is task-aware, and goes quiet once profiling stops: processors cannot be removed from a
TracerProvider, and calling into a stopped agent is wasted work.
"""

from __future__ import annotations

import threading
from asyncio import current_task
from asyncio.events import _get_running_loop
from collections.abc import Callable

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext

from nethical_otel._internal import internal_error
from nethical_otel._text import Destination, clean
from nethical_otel.semconv import ATTR_DETECTOR_TYPE, UNKNOWN
from nethical_otel.semconv import ATTR_PROFILE_ID as PROFILE_ID_ATTRIBUTE
from nethical_otel.semconv import PROFILE_DETECTOR_TAG as DETECTOR_TAG
from nethical_otel.semconv import PROFILE_SPAN_ID_TAG as SPAN_ID_TAG
from nethical_otel.semconv import PROFILE_SPAN_NAME_TAG as SPAN_NAME_TAG
from nethical_otel.semconv import PROFILE_TRACE_ID_TAG as TRACE_ID_TAG

TagFunction = Callable[[str, str], object]
Tags = tuple[tuple[str, str], ...]


# One open span that asked for tags: (its SpanContext, its asyncio task or None, its tags, the span).
# on_end gets a fresh ReadableSpan; the SpanContext object is the one on_start saw, so it identifies.
_Open = tuple[SpanContext, object, Tags, Span]


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.open: list[_Open] = []
        self.shown: Tags = ()  # what the agent currently has for this thread


def _link(span: Span, max_length: int) -> Tags:
    """Mark a root span with its profile id; the tags that put its samples in the span's profile."""
    context = span.get_span_context()
    span_id = format(context.span_id, "016x")
    span.set_attribute(PROFILE_ID_ATTRIBUTE, span_id)
    # Root span names come from any instrumentation (an HTTP route, a message subject): a label value.
    name = clean(span.name, Destination.LABEL, max_length) or UNKNOWN
    return ((SPAN_ID_TAG, span_id), (SPAN_NAME_TAG, name), (TRACE_ID_TAG, format(context.trace_id, "032x")))


def _running_task() -> object:
    """The asyncio task running on this thread, or None outside an event loop."""
    loop = _get_running_loop()
    return None if loop is None else current_task(loop)


class ProfileTagProcessor(SpanProcessor):
    """Thread tags for detector spans and root spans; inert until :meth:`activate`."""

    def __init__(self, *, tag_value_max_length: int, detector_tags: bool = True, span_links: bool = True) -> None:
        self._detector_tags = detector_tags
        self._span_links = span_links
        self._max_length = tag_value_max_length
        self._add: TagFunction | None = None
        self._remove: TagFunction | None = None
        self._threads = _ThreadState()

    def activate(self, add_thread_tag: TagFunction, remove_thread_tag: TagFunction) -> None:
        """Start tagging through the agent's ``add_thread_tag``/``remove_thread_tag``."""
        self._remove = remove_thread_tag
        self._add = add_thread_tag

    def deactivate(self) -> None:
        """Stop calling into the agent (it stopped, or this is a fork child that lost it)."""
        self._add = None

    @property
    def active(self) -> bool:
        return self._add is not None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        add = self._add
        if add is None:
            return
        try:
            tags: Tags = ()
            if self._span_links:
                parent = span.parent
                if parent is None or parent.is_remote:
                    tags = _link(span, self._max_length)
            if self._detector_tags:
                attributes = span.attributes  # the decorator sets the detector type at span start
                detector = attributes.get(ATTR_DETECTOR_TYPE) if attributes is not None else None
                if isinstance(detector, str):
                    tags += ((DETECTOR_TAG, detector),)
            if not tags:
                return
            state = self._threads
            open_spans = state.open
            task = _running_task()
            open_spans.append((span.get_span_context(), task, tags, span))
            if len(open_spans) == 1:
                # The common case, one detector call at a time: nothing to take over from.
                for key, value in tags:
                    add(key, value)
                state.shown = tags
            else:
                self._show(state, task)
        except Exception:
            internal_error("tagging profile samples at span start")

    def on_end(self, span: ReadableSpan) -> None:
        remove = self._remove
        if self._add is None or remove is None:
            return
        state = self._threads
        open_spans = state.open
        if not open_spans:
            return
        try:
            context = span.context
            if open_spans[-1][0] is context:
                open_spans.pop()
                if not open_spans:
                    for key, value in state.shown:
                        remove(key, value)
                    state.shown = ()
                    return
            else:
                for index in range(len(open_spans) - 2, -1, -1):
                    if open_spans[index][0] is context:
                        del open_spans[index]
                        break
                else:
                    return  # started on another thread, or before activation
            # Spans that another thread ended would otherwise lend this thread their tags again.
            state.open = [entry for entry in open_spans if entry[3].end_time is None]
            self._show(state, _running_task())
        except Exception:
            internal_error("tagging profile samples at span end")

    def _show(self, state: _ThreadState, task: object) -> None:
        """Make the thread's tags those of ``task``'s innermost open spans, one value per key."""
        wanted: dict[str, str] = {}
        for _, owner, tags, _ in reversed(state.open):
            if owner is task:
                for key, value in tags:
                    wanted.setdefault(key, value)
        add, remove = self._add, self._remove
        if add is None or remove is None:
            return
        shown = dict(state.shown)
        for key, value in shown.items():
            if wanted.get(key) != value:
                remove(key, value)
        for key, value in wanted.items():
            if shown.get(key) != value:
                add(key, value)
        state.shown = tuple(wanted.items())

    def shutdown(self) -> None:
        self.deactivate()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
