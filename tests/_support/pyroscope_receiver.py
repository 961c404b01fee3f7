"""A fake Pyroscope server on 127.0.0.1 that decodes what pyroscope-io 1.x pushes.

pyroscope-io >= 1.0 sends ``POST /push.v1.PusherService/Push`` (Connect unary): a gzip'd protobuf
``push.v1.PushRequest`` whose samples carry an *uncompressed* pprof ``Profile``. No generated code
exists for these messages here, so a small protobuf wire-format reader decodes just the fields the
tests assert on (series labels, stack function names, sample labels) and skips the rest.

Schema (field numbers as in pyroscope's push.proto and Google's profile.proto):

    PushRequest      { repeated RawProfileSeries series = 1; }
    RawProfileSeries { repeated LabelPair labels = 1; repeated RawSample samples = 2; }
    LabelPair        { string name = 1; string value = 2; }
    RawSample        { bytes raw_profile = 1; string ID = 2; }
    Profile          { ValueType sample_type = 1; Sample sample = 2; Location location = 4;
                       Function function = 5; string string_table = 6; int64 period = 12; ... }
    Sample           { repeated uint64 location_id = 1; repeated int64 value = 2; Label label = 3; }
    Label            { int64 key = 1; int64 str = 2; int64 num = 3; }
    Location         { uint64 id = 1; Line line = 4; }
    Line             { uint64 function_id = 1; int64 line = 2; }
    Function         { uint64 id = 1; int64 name = 2; int64 filename = 4; }
    ValueType        { int64 type = 1; int64 unit = 2; }
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass

from tests._support.recorder import Recorded, RecordingServer, Reply

PUSH_PATH = "/push.v1.PusherService/Push"
_JSON = {"Content-Type": "application/json"}

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field; varints as int, length-delimited as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == _VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == _LEN:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise WireError(f"field {number}: length {length} runs past the end")
            value, pos = data[pos : pos + length], pos + length
        elif wire_type == _I64:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire_type == _I32:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise WireError(f"field {number}: unsupported wire type {wire_type}")
        yield number, wire_type, value


def _ints(wire_type: int, value: int | bytes) -> list[int]:
    """A repeated integer field's values, whether packed (one LEN field) or not."""
    if wire_type == _VARINT:
        assert isinstance(value, int)
        return [value]
    assert isinstance(value, bytes)
    out, pos = [], 0
    while pos < len(value):
        number, pos = read_varint(value, pos)
        out.append(number)
    return out


def _signed(value: int) -> int:
    """int64 fields travel as two's complement varints."""
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True)
class PprofSample:
    stack: tuple[str, ...]  # function names, leaf first (pprof order)
    values: tuple[int, ...]
    labels: dict[str, str]


@dataclass(frozen=True)
class Pprof:
    sample_types: tuple[tuple[str, str], ...]  # (type, unit)
    period: int
    samples: tuple[PprofSample, ...]

    @property
    def function_names(self) -> set[str]:
        return {name for sample in self.samples for name in sample.stack}

    def samples_with(self, function: str) -> list[PprofSample]:
        return [sample for sample in self.samples if function in sample.stack]


def decode_pprof(data: bytes) -> Pprof:
    strings: list[str] = []
    raw_samples: list[tuple[list[int], list[int], list[tuple[int, int]]]] = []
    location_functions: dict[int, list[int]] = {}
    function_names: dict[int, int] = {}
    sample_types: list[tuple[int, int]] = []
    period = 0
    for number, _, value in iter_fields(data):
        if number == 6 and isinstance(value, bytes):
            strings.append(value.decode("utf-8"))
        elif number == 12 and isinstance(value, int):
            period = _signed(value)
        elif number == 1 and isinstance(value, bytes):
            fields = {n: v for n, _, v in iter_fields(value)}
            sample_types.append((int(fields.get(1, 0)), int(fields.get(2, 0))))
        elif number == 2 and isinstance(value, bytes):
            raw_samples.append(_decode_sample(value))
        elif number == 4 and isinstance(value, bytes):
            location_id, functions = _decode_location(value)
            location_functions[location_id] = functions
        elif number == 5 and isinstance(value, bytes):
            fields = {n: v for n, _, v in iter_fields(value)}
            function_names[int(fields.get(1, 0))] = int(fields.get(2, 0))
    samples = tuple(
        PprofSample(
            stack=tuple(
                strings[function_names[function_id]]
                for location_id in location_ids
                for function_id in location_functions.get(location_id, [])
            ),
            values=tuple(values),
            labels={strings[key]: strings[text] for key, text in labels},
        )
        for location_ids, values, labels in raw_samples
    )
    types = tuple((strings[kind], strings[unit]) for kind, unit in sample_types)
    return Pprof(types, period, samples)


def _decode_sample(data: bytes) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    location_ids: list[int] = []
    values: list[int] = []
    labels: list[tuple[int, int]] = []
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            location_ids.extend(_ints(wire_type, value))
        elif number == 2:
            values.extend(_signed(v) for v in _ints(wire_type, value))
        elif number == 3 and isinstance(value, bytes):
            fields = {n: v for n, _, v in iter_fields(value)}
            if fields.get(2):  # string labels only; numeric ones (num = 3) are not used by pyroscope-io
                labels.append((int(fields.get(1, 0)), int(fields[2])))
    return location_ids, values, labels


def _decode_location(data: bytes) -> tuple[int, list[int]]:
    location_id = 0
    functions: list[int] = []
    for number, _, value in iter_fields(data):
        if number == 1 and isinstance(value, int):
            location_id = value
        elif number == 4 and isinstance(value, bytes):
            line = {n: v for n, _, v in iter_fields(value)}
            functions.append(int(line.get(1, 0)))
    return location_id, functions


@dataclass(frozen=True)
class PushedSeries:
    labels: dict[str, str]
    profiles: tuple[Pprof, ...]


def decode_push(body: bytes) -> list[PushedSeries]:
    """A ``PushRequest`` body as its series; gzip'd bodies are unpacked first.

    aiohttp already unpacks request bodies sent with ``Content-Encoding: gzip`` (and answers 400 when
    they are not valid gzip), so the recorded body is usually the bare protobuf.
    """
    data = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    series = []
    for number, _, value in iter_fields(data):
        if number != 1 or not isinstance(value, bytes):
            continue
        labels: dict[str, str] = {}
        profiles: list[Pprof] = []
        for inner, _, item in iter_fields(value):
            if inner == 1 and isinstance(item, bytes):
                pair = {n: v for n, _, v in iter_fields(item)}
                name, text = pair.get(1, b""), pair.get(2, b"")
                assert isinstance(name, bytes) and isinstance(text, bytes)
                labels[name.decode()] = text.decode()
            elif inner == 2 and isinstance(item, bytes):
                raw = {n: v for n, _, v in iter_fields(item)}.get(1, b"")
                assert isinstance(raw, bytes)
                profiles.append(decode_pprof(raw))
        series.append(PushedSeries(labels, tuple(profiles)))
    return series


class PyroscopeReceiver(RecordingServer):
    """A RecordingServer that answers like Pyroscope's distributor and decodes what it received.

    It answers 200 to pushes with profiles, ``400 invalid_argument`` to a push without any (as the
    real server does), 404 elsewhere. ``failing(500)`` makes it answer that status to everything.
    """

    def __init__(self) -> None:
        super().__init__()
        self.failure_status: int | None = None
        self.handler = self._answer

    def failing(self, status: int | None) -> PyroscopeReceiver:
        self.failure_status = status
        return self

    def _answer(self, recorded: Recorded) -> Reply:
        if self.failure_status is not None:
            return Reply(self.failure_status, b'{"code":"internal","message":"failing on purpose"}', _JSON)
        if recorded.path != PUSH_PATH:
            return Reply(404, b"404 page not found\n")
        if not decode_push(recorded.body):
            return Reply(400, b'{"code":"invalid_argument","message":"no profiles received"}', _JSON)
        return Reply(200, b"{}", _JSON)

    def pushes(self) -> list[Recorded]:
        """Received pushes that carried profiles (not the SDK's empty health probes)."""
        return [push for push in self.received(PUSH_PATH) if decode_push(push.body)]

    def series(self) -> list[PushedSeries]:
        """Every series of every push received so far, decoded."""
        return [series for push in self.pushes() for series in decode_push(push.body)]

    def profiles(self, service_name: str | None = None) -> list[Pprof]:
        return [
            profile
            for series in self.series()
            if service_name is None or series.labels.get("service_name") == service_name
            for profile in series.profiles
        ]
