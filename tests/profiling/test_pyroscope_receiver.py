"""The fake Pyroscope server's protobuf reader, checked against hand-encoded messages."""

from __future__ import annotations

import gzip

import pytest

from tests._support.pyroscope_receiver import WireError, decode_pprof, decode_push, iter_fields, read_varint


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def packed(number: int, values: list[int]) -> bytes:
    return field(number, b"".join(varint(v) for v in values))


def sample_profile() -> bytes:
    strings = ["", "cpu", "nanoseconds", "scan_sqli", "main", "detector_type", "sqli", "app.py"]
    return b"".join(
        [
            field(1, field(1, 1) + field(2, 2)),  # sample_type cpu/nanoseconds
            # leaf first: scan_sqli called from main, packed ids, one string label
            field(2, packed(1, [1, 2]) + packed(2, [30_000_000]) + field(3, field(1, 5) + field(2, 6))),
            # the same stack again with unpacked repeated fields and no label
            field(2, field(1, 1) + field(1, 2) + field(2, 10_000_000)),
            field(4, field(1, 1) + field(4, field(1, 10) + field(2, 42))),
            field(4, field(1, 2) + field(4, field(1, 20) + field(2, 7))),
            field(5, field(1, 10) + field(2, 3) + field(4, 7)),
            field(5, field(1, 20) + field(2, 4) + field(4, 7)),
            *(field(6, text) for text in strings),
            field(12, 10_000_000),
        ]
    )


def test_varints_of_every_length_round_trip() -> None:
    for value in (0, 1, 127, 128, 300, 2**32, 2**63 - 1, 2**64 - 1):
        assert read_varint(varint(value), 0) == (value, len(varint(value)))


def test_truncated_messages_are_refused() -> None:
    with pytest.raises(WireError, match="truncated varint"):
        read_varint(b"\x80\x80", 0)
    with pytest.raises(WireError, match="runs past the end"):
        list(iter_fields(field(1, b"abcdef")[:-2]))


def test_pprof_stacks_values_and_labels_decode_from_packed_and_unpacked_fields() -> None:
    profile = decode_pprof(sample_profile())

    assert profile.sample_types == (("cpu", "nanoseconds"),)
    assert profile.period == 10_000_000
    assert [(s.stack, s.values, s.labels) for s in profile.samples] == [
        (("scan_sqli", "main"), (30_000_000,), {"detector_type": "sqli"}),
        (("scan_sqli", "main"), (10_000_000,), {}),
    ]
    assert profile.function_names == {"scan_sqli", "main"}


def test_push_request_series_labels_and_profiles_decode_gzipped_or_not() -> None:
    series = field(1, field(1, "service_name") + field(2, "svc")) + field(1, field(1, "env") + field(2, "t"))
    series += field(2, field(1, sample_profile()) + field(2, "0b7c-uuid"))
    body = field(1, series)

    for encoded in (body, gzip.compress(body)):
        (decoded,) = decode_push(encoded)
        assert decoded.labels == {"service_name": "svc", "env": "t"}
        assert [p.function_names for p in decoded.profiles] == [{"scan_sqli", "main"}]


def test_an_empty_push_has_no_series() -> None:
    assert decode_push(gzip.compress(b"")) == []
