"""The detector instrumentor in-process: patching by name, the decorator's telemetry, exact restoration."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import nethical_otel
from nethical_otel.auto import DETECTORS_ENV_VAR
from nethical_otel.auto.instrumentor import NethicalDetectorInstrumentor
from tests._support.pipeline import Captured, attrs, capture

DETECTOR_SOURCE = textwrap.dedent(
    """
    class Base:
        def detect(self, text):
            return {"threat_level": "HIGH", "category": "jailbreak", "confidence": 0.9}

    class Child(Base):
        pass

    class Tools:
        @staticmethod
        def check(text):
            return {"is_threat": False}

        @classmethod
        def classify(cls, text):
            return {"threat_level": "LOW", "category": cls.__name__}

        async def adetect(self, text):
            return {"threat_level": "MEDIUM", "category": "async"}

    def scan(text):
        if not text:
            raise ValueError("empty")
        return {"is_threat": False}
    """
)


@pytest.fixture
def detector_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of a fresh, not yet imported module holding detectors of every shape."""
    name = f"zc_detectors_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(DETECTOR_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DETECTORS_ENV_VAR, raising=False)
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def instrumentor() -> Iterator[NethicalDetectorInstrumentor]:
    instance = NethicalDetectorInstrumentor()
    yield instance
    if instance.is_instrumented_by_opentelemetry:
        instance.uninstrument()


def _raw(module: object, qualname: str) -> object:
    *path, attribute = qualname.split(".")
    owner = module
    for part in path:
        owner = getattr(owner, part)
    return vars(owner).get(attribute, "<inherited>")


QUALNAMES = ("Base.detect", "Child.detect", "Tools.check", "Tools.classify", "Tools.adetect", "scan")


def test_uninstrument_puts_back_the_very_same_objects(captured: Captured, detector_module, instrumentor):
    module = importlib.import_module(detector_module)
    before = {qualname: _raw(module, qualname) for qualname in QUALNAMES}
    instrumentor.instrument(detectors=[f"{detector_module}:{qualname}" for qualname in QUALNAMES])
    assert len(instrumentor.patches) == len(QUALNAMES)
    for qualname in QUALNAMES:
        assert _raw(module, qualname) is not before[qualname], qualname
    assert isinstance(vars(module.Tools)["check"], staticmethod)
    assert isinstance(vars(module.Tools)["classify"], classmethod)

    instrumentor.uninstrument()

    for qualname in QUALNAMES:
        assert _raw(module, qualname) is before[qualname], qualname
    assert "detect" not in vars(module.Child)  # the inherited method is inherited again
    assert instrumentor.patches == []


def test_a_module_imported_after_instrumentation_is_patched_on_import(
    captured: Captured, detector_module, instrumentor
):
    assert detector_module not in sys.modules
    instrumentor.instrument(detectors=[f"{detector_module}:scan type=scanner"])
    assert instrumentor.patches == []  # nothing to patch until the application imports it

    module = importlib.import_module(detector_module)
    assert module.scan("text") == {"is_threat": False}
    with pytest.raises(ValueError, match="empty"):
        module.scan("")

    assert [(span["name"], span["status"]) for span in captured.span_dicts()] == [
        ("detect scanner", "UNSET"),
        ("detect scanner", "ERROR"),
    ]
    requests = captured.metrics()["nethical_requests"]
    assert requests == {
        attrs(detector_type="scanner", status="success"): 1,
        attrs(detector_type="scanner", status="error"): 1,
    }


def test_instrumented_detectors_record_what_the_decorator_records(captured: Captured, detector_module, instrumentor):
    module = importlib.import_module(detector_module)
    instrumentor.instrument(
        detectors=[
            f"{detector_module}:Child type=child model=m-1",  # a class: its detect() method
            f"{detector_module}:Tools.classify type=classifier",
            f"{detector_module}:Tools.adetect",
        ]
    )
    module.Child().detect("x")
    module.Base().detect("x")  # the base class itself was not named: not instrumented
    module.Tools.classify("x")
    asyncio.run(module.Tools().adetect("x"))

    # The same calls through the decorator, in code, under a second pipeline.
    decorated = captured.span_dicts()
    threats = captured.metrics()["nethical_threats_detected"]
    instrumentor.uninstrument()
    with capture() as reference:  # a second, independent in-memory pipeline
        child = nethical_otel.instrument_detector("child", model="m-1")(module.Base.detect)
        child(module.Child(), "x")
        nethical_otel.instrument_detector("classifier")(module.Tools.classify)("x")
        asyncio.run(nethical_otel.instrument_detector(module.Tools.adetect)(module.Tools(), "x"))
        assert reference.span_dicts() == decorated
        assert reference.metrics()["nethical_threats_detected"] == threats
    assert threats == {
        attrs(detector_type="child", threat_level="HIGH", threat_category="jailbreak"): 1,
        attrs(detector_type="classifier", threat_level="LOW", threat_category="Tools"): 1,
        attrs(detector_type="adetect", threat_level="MEDIUM", threat_category="async"): 1,
    }


def test_names_that_cannot_be_resolved_are_reported_by_name_and_the_rest_still_works(
    captured: Captured, detector_module, instrumentor, caplog
):
    caplog.set_level(logging.ERROR, logger="nethical_otel.auto")
    module = importlib.import_module(detector_module)
    instrumentor.instrument(
        detectors=[
            f"{detector_module}:Missing.detect",
            f"{detector_module}:Tools.nothing",
            f"{detector_module}:Tools",  # a class without detect()
            "no_such_package.detectors:scan",
            "__main__:detect",
            f"{detector_module}:scan",
        ]
    )
    reasons = {problem.target: problem.reason for problem in instrumentor.problems}
    assert reasons == {
        f"{detector_module}:Missing.detect": f"{detector_module} has no attribute 'Missing'",
        f"{detector_module}:Tools.nothing": f"{detector_module}.Tools has no attribute 'nothing'",
        f"{detector_module}:Tools": f"class {detector_module}.Tools has no detect() method; name the method: "
        f"{detector_module}:Tools.<method>",
        "no_such_package.detectors:scan": "module 'no_such_package.detectors' cannot be found "
        "(No module named 'no_such_package')",
        "__main__:detect": "the script run as __main__ cannot be patched before it runs; move the detector into a "
        "module it imports",
    }
    for target in reasons:
        assert any(f"cannot instrument detector {target!r}" in record.getMessage() for record in caplog.records)
    module.scan("ok")
    assert [span["name"] for span in captured.span_dicts()] == ["detect scan"]


def test_detectors_already_decorated_in_code_are_left_alone(captured: Captured, tmp_path, monkeypatch, instrumentor):
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"zc_decorated_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "import nethical_otel\n\n@nethical_otel.instrument_detector('pi')\ndef detect(text):\n    return None\n",
        encoding="utf-8",
    )
    module = importlib.import_module(name)
    try:
        original = module.detect
        instrumentor.instrument(detectors=[f"{name}:detect"])
        assert module.detect is original
        module.detect("x")
        assert [span["name"] for span in captured.span_dicts()] == ["detect pi"]  # one span, not two
    finally:
        sys.modules.pop(name, None)


def test_otel_sdk_disabled_leaves_detectors_untouched(captured: Captured, detector_module, instrumentor, monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    module = importlib.import_module(detector_module)
    original = module.scan
    instrumentor.instrument(detectors=[f"{detector_module}:scan"])
    assert module.scan is original
    assert instrumentor.patches == []


def test_with_no_pipeline_running_the_instrumentor_adopts_the_global_providers(detector_module, instrumentor):
    nethical_otel.shutdown()
    instrumentor.instrument(detectors=[f"{detector_module}:scan"], config={"metrics_server": {"enabled": False}})
    telemetry = nethical_otel.pipeline.active_telemetry()
    assert telemetry is not None and telemetry.enabled
    instrumentor.uninstrument()
    assert telemetry.is_shut_down


def test_classes_registered_under_the_nethical_detectors_entry_point_group_are_instrumented(
    captured: Captured, detector_module, instrumentor, tmp_path
):
    # What pip writes for a package declaring [project.entry-points."nethical.detectors"].
    dist_info = tmp_path / "zc_detector_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: zc-detector-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[nethical.detectors]\ninheriting = {detector_module}:Child\nbroken = {detector_module}\n", encoding="utf-8"
    )
    module = importlib.import_module(detector_module)
    instrumentor.instrument()

    module.Child().detect("x")
    assert [span["name"] for span in captured.span_dicts()] == ["detect inheriting"]
    assert [(problem.target, problem.source) for problem in instrumentor.problems] == [
        (detector_module, "entry point nethical.detectors:broken")
    ]
