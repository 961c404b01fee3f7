"""Config files and values that are broken, hostile or absurd: each a ConfigError naming the file or the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nethical_otel.config import Config, ConfigError, load_config
from nethical_otel.config._yaml import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, MAX_CONFIG_VALUES
from tests._support.hostile import hostile_text


def file_issues(tmp_path, content: bytes | str) -> str:
    path = tmp_path / "nethical.yaml"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})
    message = str(raised.value)
    assert "nethical.yaml" in message  # every problem of the document names the file
    return message


def billion_laughs(levels: int, key: str = "integration.detectors") -> str:
    """A few hundred bytes that expand to 9**levels strings, under a real key."""
    names = "abcdefghij"
    lines = ["a: &a [l,l,l,l,l,l,l,l,l]"]
    lines += [f"{names[i]}: &{names[i]} [{','.join([f'*{names[i - 1]}'] * 9)}]" for i in range(1, levels)]
    section, field = key.split(".")
    return "\n".join([*lines, f"{section}:", f"  {field}: *{names[levels - 1]}"]) + "\n"


def test_a_file_that_is_not_utf8_is_refused_with_the_offending_byte(tmp_path):
    assert "not UTF-8 text: byte 0xe9 at offset 20" in file_issues(tmp_path, b"service:\n  name: caf\xe9\n")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfservice:\n  name: detectors\n")
    assert load_config(path, environ={}).service.name == "detectors"


def test_a_number_too_large_for_a_float_is_refused_naming_the_key(tmp_path):
    message = file_issues(tmp_path, "alerting:\n  rules:\n    high_latency_threshold_ms: " + "9" * 400 + "\n")
    assert "alerting.rules.high_latency_threshold_ms: expected a finite number, got int of about 400 digits" in message


def test_an_integer_longer_than_python_converts_is_refused(tmp_path):
    assert "holds a value YAML cannot represent" in file_issues(
        tmp_path, "alerting:\n  rules:\n    min_requests: " + "9" * 5000 + "\n"
    )


def test_an_alias_bomb_is_refused_without_expanding_it(tmp_path):
    document = billion_laughs(levels=7)  # 4,782,969 strings once expanded
    assert len(document) < 300
    assert f"expands to more than {MAX_CONFIG_VALUES:,} values" in file_issues(tmp_path, document)


def test_a_small_alias_bomb_under_a_string_key_is_described_briefly(tmp_path):
    message = file_issues(tmp_path, billion_laughs(levels=3, key="service.name"))  # 729 strings
    (line,) = [line for line in message.splitlines() if "service.name" in line]
    assert line.startswith("  - service.name: expected a string, got list [[[") and len(line) < 200


def test_a_value_that_contains_itself_is_refused(tmp_path):
    assert "a value contains itself" in file_issues(tmp_path, "integration:\n  detectors: &loop [*loop]\n")


def test_nesting_deeper_than_any_configuration_is_refused(tmp_path):
    deep = "integration:\n  detectors: " + "[" * (MAX_CONFIG_DEPTH + 5) + "]" * (MAX_CONFIG_DEPTH + 5) + "\n"
    assert f"nested more than {MAX_CONFIG_DEPTH} levels deep" in file_issues(tmp_path, deep)
    absurd = "a: " + "[" * 200_000 + "]" * 200_000 + "\n"
    assert "not valid YAML" in file_issues(tmp_path, absurd)


def test_a_file_larger_than_any_configuration_is_refused_unread(tmp_path):
    assert "larger than" in file_issues(tmp_path, b"# " + b"x" * MAX_CONFIG_BYTES)


def test_a_key_repeated_in_one_mapping_is_refused_with_both_lines(tmp_path):
    message = file_issues(tmp_path, "service:\n  name: a\n  version: '1'\n  name: b\n")
    assert "duplicate key 'name' at line 4 (first at line 2)" in message


def test_merge_keys_still_override_as_yaml_defines(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("defaults: &d {port: 1, host: 127.0.0.1}\n")
    path.write_text("metrics_server:\n  <<: {port: 1, host: 127.0.0.1}\n  port: 2\n")
    assert load_config(path, environ={}).metrics_server.port == 2


def test_invalid_unicode_from_an_environment_variable_is_refused_naming_the_key():
    undecodable = b"eu-\xff".decode("utf-8", "surrogateescape")  # how Python reads such bytes from environ
    with pytest.raises(ConfigError) as raised:
        load_config(
            {"service": {"name": "${REGION}"}, "otlp": {"headers": {"x": "${TOKEN}"}}},
            environ={"REGION": undecodable, "TOKEN": undecodable},
        )
    assert [str(issue) for issue in raised.value.issues] == [
        "service.name: is not valid Unicode text (it holds a lone surrogate, as undecodable bytes in an "
        "environment variable do)",
        "otlp.headers.x: is not valid Unicode text (it holds a lone surrogate, as undecodable bytes in an "
        "environment variable do) (value hidden: secret)",
    ]


def test_keys_and_values_cannot_steer_the_terminal_or_forge_lines_in_the_message():
    with pytest.raises(ConfigError) as raised:
        load_config({"service": {"x\x1b]0;pwned\x07\n  - fake: problem\u202e": 1, "name": ["\x1b[2J"] * 3}})
    message = str(raised.value)
    assert "\x1b" not in message and "\u202e" not in message and "\x07" not in message
    assert message.count("\n") == 2  # the header line and two problems, one line each


def test_hundreds_of_problems_are_listed_up_to_a_bound_and_all_kept():
    raw = {"integration": {"detectors": list(range(500))}}
    with pytest.raises(ConfigError) as raised:
        load_config(raw)
    assert len(raised.value.issues) == 500
    assert str(raised.value).endswith("... and 450 more problems")


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("otlp.endpoint", "https://user:s3cret@collector:4318"),
        ("otlp.traces_endpoint", "http://s3cret@collector:4318/v1/traces"),
        ("alerting.alertmanager_url", "http://admin:s3cret@alertmanager:9093"),
        ("alerting.alertmanager_url", "http://alertmanager:9093/?token=s3cret#s3cret"),
    ],
)
def test_credentials_in_url_settings_never_show_in_reprs_or_errors(key, url):
    section, field = key.split(".")
    config = load_config({section: {field: url}}, environ={})
    value = getattr(getattr(config, section), field)
    assert str(value[0] if isinstance(value, tuple) else value) == url  # used as given (a list of peers: its one)
    assert "s3cret" not in repr(config) and "****" in repr(config)
    with pytest.raises(ConfigError) as raised:
        load_config({section: {field: url.replace("http", "ftp", 1)}}, environ={})
    assert "s3cret" not in str(raised.value) and key in str(raised.value)


@given(st.binary(max_size=2000))
def test_any_bytes_as_a_file_give_a_config_or_a_config_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "nethical.yaml"
    path.write_bytes(content)
    try:
        assert isinstance(load_config(path, environ={}), Config)
    except ConfigError as error:
        str(error).encode("utf-8")  # the message itself is valid text


@given(
    st.dictionaries(
        st.sampled_from(["service", "otlp", "metrics_server", "alerting", "x"]),
        st.dictionaries(
            st.sampled_from(["name", "endpoint", "port", "headers", "alertmanager_url", "version", "y"]),
            st.one_of(hostile_text, st.integers(), st.floats(), st.none(), st.lists(hostile_text, max_size=3)),
            max_size=4,
        ),
    )
)
def test_any_values_give_a_config_or_a_config_error_whose_message_is_one_safe_line_each(raw):
    try:
        load_config(raw, environ={})
    except ConfigError as error:
        message = str(error)
        message.encode("utf-8")
        assert "\x1b" not in message
        assert message.count("\n") == min(len(error.issues), 51)
