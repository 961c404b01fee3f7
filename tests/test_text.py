"""The one text-hygiene policy: every destination gets valid UTF-8 with no control or bidi characters."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nethical_otel._text import ELLIPSIS, UNPRINTABLE, Destination, as_text, clean, terminal_lines, valid_unicode
from tests._support.hostile import BIDI, hostile_text


def _unsafe(char: str, destination: Destination) -> bool:
    if destination is Destination.BODY and char in "\n\t":
        return False
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI


@pytest.mark.parametrize("destination", list(Destination))
@given(text=hostile_text, limit=st.integers(min_value=0, max_value=300))
def test_every_destination_gets_encodable_text_without_unsafe_characters_within_its_limit(destination, text, limit):
    result = clean(text, destination, limit)
    result.encode("utf-8")  # never raises
    assert not any(_unsafe(char, destination) for char in result)
    assert len(result) <= limit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (json.loads('"x\\ud800"'), "x\ufffd"),
        ("\udc00\ud800", "\ufffd\ufffd"),  # a reversed pair is two lone surrogates
        ("\ud83d\ude00", "😀"),  # an ordered pair is the character it encodes
        (b"caf\xe9".decode("utf-8", "surrogateescape"), "caf\ufffd"),
        ("plain", "plain"),
    ],
)
def test_invalid_unicode_becomes_the_replacement_character(raw, expected):
    assert valid_unicode(raw) == expected


def test_labels_lose_controls_and_bidi_and_are_trimmed():
    assert clean("  \x1b[31mred\u202e\x9b\u2028 ", Destination.LABEL, 64) == "[31mred"


def test_alert_lines_turn_line_breakers_into_spaces():
    assert clean("title\r\nBcc: x@y\u0085z", Destination.LINE, 64) == "title  Bcc: x@y z"


def test_terminal_lines_cannot_steer_the_terminal_or_reverse_text():
    assert clean("ok\x1b]0;pwned\x07 \x9b2J \u202egnp.exe", Destination.TERMINAL, 64) == "ok ]0;pwned   2J  gnp.exe"


def test_bodies_keep_newlines_and_tabs_and_mark_other_controls():
    assert clean("a\r\nb\rc\td\x00e\u202e", Destination.BODY, 64) == "a\nb\nc\td\ufffde\ufffd"


def test_alert_text_is_cut_with_an_ellipsis_and_labels_are_cut_bare():
    assert clean("x" * 10, Destination.LINE, 4) == "xxx" + ELLIPSIS
    assert clean("x" * 10, Destination.LABEL, 4) == "xxxx"
    assert clean("x" * 10, Destination.LINE, 0) == ""


class _Raises:
    def __str__(self) -> str:
        raise RuntimeError("no")


class _StrSubclass(str):
    def __str__(self) -> str:
        return "lies"


def test_any_value_becomes_text_and_nothing_raises():
    assert as_text(_Raises()) == UNPRINTABLE
    assert as_text(_StrSubclass("truth")) == "truth"
    assert as_text(42) == "42"


@given(text=hostile_text, limit=st.integers(min_value=1, max_value=300))
def test_terminal_text_keeps_its_line_breaks_and_nothing_else_that_steers_a_terminal(text, limit):
    lines = terminal_lines(text, limit).split("\n")
    for line in lines:
        line.encode("utf-8")
        assert not any(_unsafe(char, Destination.TERMINAL) for char in line)
        assert len(line) <= limit
    assert terminal_lines("a\r\nb\nc", 10) == "a\nb\nc"
