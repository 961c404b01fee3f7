from dataclasses import dataclass
from enum import Enum

import pytest

from nethical_otel import Threat
from nethical_otel.decorator import read_threat


class Level(Enum):
    CRITICAL = "critical"


@dataclass
class Result:
    detected: bool
    level: object = None
    category: object = None
    confidence: object = None


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"threat_level": "HIGH", "category": "jailbreak", "confidence": 0.9}, Threat("HIGH", "jailbreak", 0.9)),
        ({"threat_level": "none"}, None),
        ({"threat_level": "SAFE", "confidence": 0.1}, None),
        ({"is_threat": True}, Threat("unknown", "unknown", None)),
        ({"is_threat": False, "threat_level": "CRITICAL"}, None),
        (Result(True, Level.CRITICAL, "deepfake", "0.7"), Threat("critical", "deepfake", 0.7)),
        (Result(False, "HIGH"), None),
        ({"threat_detected": True, "level": "medium", "threat_category": "pii"}, Threat("medium", "pii", None)),
        ({"threat_level": "None"}, None),
        ({"threat_level": " safe "}, None),
        ({"threat_level": "Severe"}, Threat("Severe", "unknown", None)),
        ({"threat_level": "LOW", "confidence": "not a number"}, Threat("LOW", "unknown", None)),
        ("HIGH", None),
        (None, None),
        (0.9, None),
        ({}, None),
    ],
)
def test_threats_are_read_from_dicts_dataclasses_and_objects(result, expected):
    assert read_threat(result) == expected
