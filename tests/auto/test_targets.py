"""Detector target names: the string form, and where targets come from."""

from __future__ import annotations

import pytest

from nethical_otel.auto._targets import DETECTORS_ENV_VAR, Target, TargetError, collect_targets, parse_target
from nethical_otel.config import load_config


def test_a_target_names_module_and_qualname_with_optional_type_and_model():
    assert parse_target("app.detectors:PromptInjection.detect type=prompt_injection model=pi-v2", "here") == Target(
        "app.detectors", "PromptInjection.detect", "prompt_injection", "pi-v2", "here"
    )
    assert parse_target("app:scan", "here") == Target("app", "scan", None, None, "here")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("app.detectors.scan", "pkg.module:Class.method"),
        ("app:", "pkg.module:Class.method"),
        ("app:Class.", "pkg.module:Class.method"),
        ("app-x:f", "pkg.module:Class.method"),
        ("", "empty"),
        ("app:f colour=red", "unknown option 'colour=red'"),
        ("app:f type=", "unknown option 'type='"),
    ],
)
def test_a_malformed_target_says_what_is_wrong(text, message):
    with pytest.raises(TargetError, match=message):
        parse_target(text, "here")


def test_targets_come_from_config_then_environment_and_the_first_name_wins():
    config = load_config({"integration": {"detectors": ["a.b:f type=from_config", "a.b:g"]}})
    environ = {DETECTORS_ENV_VAR: " a.b:f type=from_env , c:h ,, bad target"}
    targets, problems = collect_targets(config, environ, extra=["x:y"])
    assert [(t.name, t.detector_type, t.source) for t in targets] == [
        ("x:y", None, "instrument(detectors=...)"),
        ("a.b:f", "from_config", "integration.detectors[0]"),
        ("a.b:g", None, "integration.detectors[1]"),
        ("c:h", None, DETECTORS_ENV_VAR),
    ]
    assert [str(p) for p in problems] == [
        f"cannot instrument detector 'bad target' (from {DETECTORS_ENV_VAR}): "
        'expected "pkg.module:Class.method" or "pkg.module:function"'
    ]
