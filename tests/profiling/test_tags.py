"""Which tags each thread carries while detector and root spans run, sync and under asyncio.

The processor talks to the agent through ``add_thread_tag``/``remove_thread_tag``; here those record
per-thread state, so the tests can see exactly what a profile sample taken at any moment would carry.
The end-to-end tests in test_continuous.py check the same with the real agent.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from nethical_otel.config import ProfilingConfig
from nethical_otel.profiling._tags import PROFILE_ID_ATTRIBUTE, ProfileTagProcessor
from nethical_otel.semconv import ATTR_DETECTOR_TYPE

MAX_LENGTH = ProfilingConfig().tag_value_max_length


class ThreadTags:
    """The agent's per-thread tag store, as the processor drives it."""

    def __init__(self) -> None:
        self.by_thread: dict[int, dict[str, str]] = {}
        self.calls = 0

    def add(self, key: str, value: str) -> bool:
        self.calls += 1
        self.by_thread.setdefault(threading.get_ident(), {})[key] = value
        return True

    def remove(self, key: str, value: str) -> bool:
        self.calls += 1
        tags = self.by_thread.setdefault(threading.get_ident(), {})
        assert tags.get(key) == value, f"removing {key}={value} but the thread shows {tags}"
        del tags[key]
        return True

    def now(self) -> dict[str, str]:
        return dict(self.by_thread.get(threading.get_ident(), {}))

    def detector(self) -> str | None:
        return self.now().get("detector_type")


@pytest.fixture
def agent() -> ThreadTags:
    return ThreadTags()


@pytest.fixture
def processor(agent: ThreadTags) -> ProfileTagProcessor:
    processor = ProfileTagProcessor(tag_value_max_length=MAX_LENGTH)
    processor.activate(agent.add, agent.remove)
    return processor


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(processor: ProfileTagProcessor, exporter: InMemorySpanExporter) -> Iterator[trace.Tracer]:
    provider = TracerProvider()
    provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test")
    provider.shutdown()


def detector_span(tracer: trace.Tracer, detector: str) -> trace.Span:
    return tracer.start_span(f"detect {detector}", attributes={ATTR_DETECTOR_TYPE: detector})


def test_a_root_detector_span_links_to_its_profile_and_tags_its_samples(
    tracer: trace.Tracer, agent: ThreadTags, exporter: InMemorySpanExporter
) -> None:
    with trace.use_span(detector_span(tracer, "sqli"), end_on_exit=True) as span:
        during = agent.now()
        context = span.get_span_context()

    assert during == {
        "span_id": f"{context.span_id:016x}",
        "span_name": "detect sqli",
        "trace_id": f"{context.trace_id:032x}",
        "detector_type": "sqli",
    }
    assert agent.now() == {}
    (finished,) = exporter.get_finished_spans()
    assert finished.attributes is not None
    assert finished.attributes[PROFILE_ID_ATTRIBUTE] == f"{context.span_id:016x}"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (json.loads('"GET /x\\ud800"'), "GET /x\ufffd"),
        ("GET /\x1b[2J\u202e" + "a" * 500, "GET /[2J" + "a" * (MAX_LENGTH - 8)),
        (" \x00 ", "unknown"),
    ],
)
def test_a_root_span_name_becomes_a_clean_bounded_profile_label(
    tracer: trace.Tracer, agent: ThreadTags, name: str, shown: str
) -> None:
    with tracer.start_as_current_span(name):
        during = agent.now()
    assert during["span_name"] == shown
    during["span_name"].encode("utf-8")


def test_a_nested_detector_takes_over_the_tag_and_hands_it_back(tracer: trace.Tracer, agent: ThreadTags) -> None:
    seen = []
    with tracer.start_as_current_span("handle request") as root:
        seen.append(agent.detector())
        with trace.use_span(detector_span(tracer, "outer"), end_on_exit=True):
            seen.append(agent.detector())
            with trace.use_span(detector_span(tracer, "inner"), end_on_exit=True):
                seen.append(agent.detector())
                assert agent.now()["span_name"] == "handle request"  # the root's link stays on
            seen.append(agent.detector())
        seen.append(agent.detector())
        assert agent.now()["span_id"] == f"{root.get_span_context().span_id:016x}"

    assert seen == [None, "outer", "inner", "outer", None]
    assert agent.now() == {}


def test_only_root_spans_get_a_profile_id(tracer: trace.Tracer, exporter: InMemorySpanExporter) -> None:
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass

    attributes = {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    assert PROFILE_ID_ATTRIBUTE in attributes["root"]
    assert PROFILE_ID_ATTRIBUTE not in attributes["child"]


async def test_asyncio_tasks_never_show_a_suspended_tasks_detector(tracer: trace.Tracer, agent: ThreadTags) -> None:
    a_suspended = asyncio.Event()
    b_done = asyncio.Event()
    seen: dict[str, str | None] = {}

    async def slow_detector() -> None:  # awaits I/O inside its span
        with trace.use_span(detector_span(tracer, "slow_io"), end_on_exit=True):
            seen["slow running"] = agent.detector()
            a_suspended.set()
            await b_done.wait()
            seen["slow resumed"] = agent.detector()

    async def fast_detector() -> None:  # CPU only, no await inside its span
        await a_suspended.wait()
        seen["other task, before"] = agent.detector()
        with trace.use_span(detector_span(tracer, "regex"), end_on_exit=True):
            seen["fast running"] = agent.detector()
        seen["other task, after"] = agent.detector()
        b_done.set()

    await asyncio.gather(slow_detector(), fast_detector())

    assert seen == {
        "slow running": "slow_io",
        # No span boundary tells the processor that the loop switched tasks: the label lingers.
        "other task, before": "slow_io",
        "fast running": "regex",
        # Finishing "regex" does not hand the thread back to a detector of a suspended task.
        "other task, after": None,
        # ...and the suspended detector is unlabelled once it resumes, rather than mislabelled.
        "slow resumed": None,
    }
    assert agent.now() == {}


def test_nothing_reaches_the_agent_before_activation_or_after_deactivation(
    processor: ProfileTagProcessor, tracer: trace.Tracer, agent: ThreadTags
) -> None:
    processor.deactivate()
    with trace.use_span(detector_span(tracer, "sqli"), end_on_exit=True):
        pass

    assert agent.calls == 0
    assert not processor.active


def test_a_span_ended_on_another_thread_leaves_this_thread_consistent(tracer: trace.Tracer, agent: ThreadTags) -> None:
    span = detector_span(tracer, "handoff")
    ender = threading.Thread(target=span.end)
    ender.start()
    ender.join()

    # Only this thread can change its tags: they stay until its next span boundary...
    assert agent.detector() == "handoff"
    with trace.use_span(detector_span(tracer, "next"), end_on_exit=True):
        assert agent.detector() == "next"
    assert agent.detector() is None  # ...which drops the span the other thread ended


def test_detector_tags_and_span_links_can_be_switched_off_separately(agent: ThreadTags) -> None:
    for detector_tags, span_links, expected in (
        (True, False, {"detector_type": "sqli"}),
        (False, True, {"span_id", "span_name", "trace_id"}),
    ):
        processor = ProfileTagProcessor(
            detector_tags=detector_tags, span_links=span_links, tag_value_max_length=MAX_LENGTH
        )
        processor.activate(agent.add, agent.remove)
        provider = TracerProvider()
        provider.add_span_processor(processor)
        with trace.use_span(detector_span(provider.get_tracer("t"), "sqli"), end_on_exit=True):
            during = agent.now()
        assert (during if isinstance(expected, dict) else set(during)) == expected


def test_links_use_pyroscope_otels_attribute_labels_and_formats(
    tracer: trace.Tracer, agent: ThreadTags, exporter: InMemorySpanExporter
) -> None:
    # Grafana's traces-to-profiles and span profiles read what pyroscope-otel writes; stay identical.
    from pyroscope import otel as upstream

    with trace.use_span(tracer.start_span("handle request"), end_on_exit=True) as span:
        during = agent.now()

    (finished,) = exporter.get_finished_spans()
    assert PROFILE_ID_ATTRIBUTE == upstream.PROFILE_ID_SPAN_ATTRIBUTE_KEY
    assert finished.attributes is not None
    assert finished.attributes[PROFILE_ID_ATTRIBUTE] == upstream._get_span_id(span)
    assert during == {
        upstream.PROFILE_ID_PYROSCOPE_TAG_KEY: upstream._get_span_id(span),
        upstream.SPAN_NAME_PYROSCOPE_TAG_KEY: "handle request",
        upstream.TRACE_ID_PYROSCOPE_TAG_KEY: upstream._get_trace_id(span),
    }
