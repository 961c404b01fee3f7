from enum import Enum

import pytest

from nethical_otel.metrics import LabelCleaner
from nethical_otel.metrics._labels import INVALID_LABEL


class Level(Enum):
    HIGH = "HIGH"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("prompt_injection", "prompt_injection"),
        ("line\nbreak\r\x00\x1b[31m", "linebreak[31m"),
        ("  padded  ", "padded"),
        ("", "unknown"),
        ("\n\t", "unknown"),
        (42, "42"),
        (Level.HIGH, "HIGH"),
        (Unprintable(), INVALID_LABEL),
        ("sep\u2028arator\u0085", "separator"),
        ("日本語 ok", "日本語 ok"),
    ],
)
def test_label_values_become_short_printable_strings(raw, expected):
    assert LabelCleaner(32)(raw) == expected


def test_label_values_are_cut_to_the_configured_length():
    assert LabelCleaner(8)("a" * 100_000) == "a" * 8
