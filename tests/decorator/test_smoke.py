from nethical_otel import instrument_detector


def test_decorated_detector_returns_its_result(captured):
    @instrument_detector("pi")
    def detect(prompt: str) -> dict:
        return {"threat_level": "HIGH"}

    assert detect("x") == {"threat_level": "HIGH"}
    assert [s.name for s in captured.spans()] == ["detect pi"]
