"""Turn YAML, a dict or nothing into a validated :class:`Config`.

Validation walks the dataclass schema and reports every problem at once, each with its key path, the
offending value (never for secrets) and what was expected. Strings may reference the environment as
``${VAR}`` or ``${VAR:-default}``; a reference that is the whole value is parsed as a YAML scalar, so
``port: ${PORT:-9091}`` yields an int. An unset variable without default is an error, except inside a
section whose ``enabled`` is false.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import reprlib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union
from urllib.parse import urlsplit

import yaml

from nethical_otel._text import Destination, clean, valid_unicode
from nethical_otel.config._fields import Secret, redact_url
from nethical_otel.config._schema import Config
from nethical_otel.config._yaml import ConfigSyntaxError, check_size, read_document

CONFIG_ENV_VAR = "NETHICAL_OTEL_CONFIG"

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")
_MISSING = object()
_SHOWN_ISSUES = 50  # a message lists this many problems; ConfigError.issues keeps them all
_SHOWN_KEY_LENGTH = 64
_LINE_LENGTH = 1000  # one problem of a ConfigError, cut with an ellipsis
_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother = 2, 60, 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4


@dataclasses.dataclass(frozen=True)
class ConfigIssue:
    path: str
    problem: str

    def __str__(self) -> str:
        # One line, whatever keys and values the document held: the message goes to logs and terminals.
        text = f"{self.path}: {self.problem}" if self.path else self.problem
        return clean(text, Destination.LINE, _LINE_LENGTH)


class ConfigError(ValueError):
    """The configuration was refused; ``issues`` lists every problem with its key path."""

    def __init__(self, issues: list[ConfigIssue], source: str = "configuration") -> None:
        self.issues = issues
        lines = [f"  - {issue}" for issue in issues[:_SHOWN_ISSUES]]
        if len(issues) > _SHOWN_ISSUES:
            lines.append(f"  - ... and {len(issues) - _SHOWN_ISSUES} more problems")
        super().__init__(f"invalid nethical_otel {clean(source, Destination.LINE, _LINE_LENGTH)}:\n" + "\n".join(lines))


ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config | None


def load_config(source: ConfigSource = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate a configuration.

    ``source`` is a YAML file path, a mapping, a ready :class:`Config`, or ``None`` for the file named by
    ``NETHICAL_OTEL_CONFIG`` (defaults when unset).
    """
    env = os.environ if environ is None else environ
    if isinstance(source, Config):
        return source
    origin = "configuration"
    if source is None:
        path = env.get(CONFIG_ENV_VAR)
        if not path:
            return Config()
        source = path
        origin = f"configuration {path!r} (from {CONFIG_ENV_VAR})"
    if isinstance(source, (str, os.PathLike)):
        file = Path(source)
        origin = origin if origin != "configuration" else f"configuration {str(file)!r}"
        raw = _read_yaml(file, origin)
    elif isinstance(source, Mapping):
        raw = source
        try:
            check_size(raw)
        except ConfigSyntaxError as error:
            raise ConfigError([ConfigIssue("", str(error))], origin) from None
    else:
        raise TypeError(f"config must be a path, a mapping or a Config, not {type(source).__name__}")
    walker = _Walker(env)
    config = walker.build(Config, raw, "")
    if walker.issues:
        raise ConfigError(walker.issues, origin)
    return typing.cast(Config, config)


def _read_yaml(path: Path, origin: str) -> Mapping[str, Any]:
    try:
        data = read_document(path)
    except OSError as exc:
        raise ConfigError([ConfigIssue("", f"cannot read the file: {exc.strerror}")], origin) from None
    except ConfigSyntaxError as exc:
        raise ConfigError([ConfigIssue("", str(exc))], origin) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError([ConfigIssue("", f"the top level must be a mapping, not {type(data).__name__}")], origin)
    return data


class _UnsetVariable(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


class _Walker:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ
        self.issues: list[ConfigIssue] = []

    # Structure ------------------------------------------------------------------------------------
    def build(self, cls: type[Any], raw: Any, path: str, *, section_enabled: bool = True) -> Any:
        if not isinstance(raw, Mapping):
            self._issue(path, f"expected a mapping, got {_describe(raw)}")
            return cls()
        fields = {_yaml_key(f): f for f in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        enabled = section_enabled
        if "enabled" in fields and "enabled" in raw:
            # Resolved first: a disabled section may reference variables that are not set.
            value = self._value(hints["enabled"], fields["enabled"], raw["enabled"], _join(path, "enabled"), True)
            if value is not _MISSING:
                values["enabled"] = value
                enabled = section_enabled and bool(value)
        for key, raw_value in raw.items():  # in document order, so problems read top to bottom
            if key == "enabled" and "enabled" in fields:
                continue
            fld = fields.get(key)
            if fld is None:
                self._issue(_join(path, str(key)), f"unknown key{_suggest(str(key), fields)}")
                continue
            value = self._value(hints[fld.name], fld, raw_value, _join(path, key), enabled)
            if value is not _MISSING:
                values[fld.name] = value
        return cls(**values)

    def _value(self, hint: Any, fld: dataclasses.Field[Any], raw: Any, path: str, enabled: bool) -> Any:
        value = self._convert(hint, raw, path, secret=_contains_secret(hint), enabled=enabled)
        if value is _MISSING:
            return value
        if fld.metadata.get("url"):
            listed = isinstance(value, tuple) and not isinstance(raw, str)  # one URL given as such: no index
            urls = [(f"{path}[{i}]", v) for i, v in enumerate(value)] if listed else [(path, v) for v in _items(value)]
            wrong = [(where, url) for where, url in urls if isinstance(url, str) and not _is_http_url(url)]
            for where, url in wrong:
                self._issue(where, f"{redact_url(url)!r} is not an absolute http:// or https:// URL with a host")
            if wrong:
                return _MISSING
        return self._check_limits(fld, value, path)

    # Conversion -----------------------------------------------------------------------------------
    def _convert(self, hint: Any, raw: Any, path: str, *, secret: bool, enabled: bool) -> Any:
        try:
            raw = self._interpolate(raw)
        except _UnsetVariable as unset:
            if enabled:
                self._issue(
                    path,
                    f"environment variable {unset.name} is not set and has no default "
                    f"(write ${{{unset.name}:-}} to make it optional)",
                )
            return _MISSING
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (Union, types.UnionType):
            if raw is None and type(None) in args:
                return None
            (inner,) = [a for a in args if a is not type(None)]
            return self._convert(inner, raw, path, secret=secret, enabled=enabled)
        if dataclasses.is_dataclass(hint):
            return self.build(typing.cast(type[Any], hint), {} if raw is None else raw, path, section_enabled=enabled)
        if origin is tuple:
            if isinstance(raw, str):
                raw = [raw]  # `to: ops@example.com`, as the original configuration allowed
            if not isinstance(raw, (list, tuple)):
                return self._wrong(path, "a list", raw, secret)
            items = [
                self._convert(args[0], v, f"{path}[{i}]", secret=secret, enabled=enabled) for i, v in enumerate(raw)
            ]
            return _MISSING if _MISSING in items else tuple(items)
        if origin is dict:
            if not isinstance(raw, Mapping):
                return self._wrong(path, "a mapping", raw, secret)
            out = {}
            for k, v in raw.items():
                key = str(k)
                if valid_unicode(key) is not key:
                    self._issue(_join(path, key), _INVALID_UNICODE)
                    continue
                converted = self._convert(args[1], v, _join(path, key), secret=secret, enabled=enabled)
                if converted is not _MISSING:
                    out[key] = converted
            return out
        if hint is Secret:
            if isinstance(raw, Secret):
                return raw
            if not isinstance(raw, str):
                return self._wrong(path, "a string", raw, True)
            if valid_unicode(raw) is not raw:
                self._issue(path, _INVALID_UNICODE + " (value hidden: secret)")
                return _MISSING
            return Secret(raw)
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            return self._wrong(path, "true or false", raw, secret)
        if hint is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            return self._wrong(path, "an integer", raw, secret)
        if hint is float:
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                try:
                    number = float(raw)
                except OverflowError:  # an integer too large for a float: report it, do not raise
                    return self._wrong(path, "a finite number", raw, secret)
                if math.isfinite(number):
                    return number
            return self._wrong(path, "a finite number", raw, secret)
        if hint is str:
            if not isinstance(raw, str):
                return self._wrong(path, "a string", raw, secret)
            if valid_unicode(raw) is not raw:
                self._issue(path, _INVALID_UNICODE)
                return _MISSING
            return raw
        raise TypeError(f"unsupported config type {hint!r} at {path}")  # a schema bug, not a user error

    def _check_limits(self, fld: dataclasses.Field[Any], value: Any, path: str) -> Any:
        meta = fld.metadata
        lo, hi, choices = meta.get("minimum"), meta.get("maximum"), meta.get("choices")
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if numeric and ((lo is not None and value < lo) or (hi is not None and value > hi)):
            self._issue(path, f"{_shown(value)} is out of range (expected {_range(lo, hi)})")
            return _MISSING
        if choices and isinstance(value, str) and value not in choices:
            self._issue(path, f"{_shown(value)} is not one of {', '.join(choices)}")
            return _MISSING
        if choices and isinstance(value, tuple):  # a list of names: each one is checked
            wrong = [(index, item) for index, item in enumerate(value) if item not in choices]
            for index, item in wrong:
                self._issue(f"{path}[{index}]", f"{_shown(item)} is not one of {', '.join(choices)}")
            if wrong:
                return _MISSING
        return value

    # Interpolation --------------------------------------------------------------------------------
    def _interpolate(self, raw: Any) -> Any:
        if not isinstance(raw, str) or "$" not in raw:
            return raw
        match = _REFERENCE.fullmatch(raw)
        whole = match is not None and match.group(0) != "$$"
        text = _REFERENCE.sub(self._substitute, raw)
        if whole:
            # `${PORT:-9091}` is the number 9091, `${FLAG:-false}` the boolean false.
            if text == "":
                return None
            try:
                parsed = yaml.safe_load(text)
            except (yaml.YAMLError, ValueError, RecursionError):
                return text
            return parsed if isinstance(parsed, (bool, int, float, str)) else text
        return text

    def _substitute(self, match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, default = match.group(1), match.group(2), match.group(3)
        value = self._env.get(name)
        if operator == ":-" and not value:
            return default or ""
        if operator == "-" and value is None:
            return default or ""
        if value is None:
            raise _UnsetVariable(name)
        return value

    # Reporting ------------------------------------------------------------------------------------
    def _wrong(self, path: str, expected: str, raw: Any, secret: bool) -> Any:
        shown = f"a {type(raw).__name__} (value hidden: secret)" if secret else _describe(raw)
        self._issue(path, f"expected {expected}, got {shown}")
        return _MISSING

    def _issue(self, path: str, problem: str) -> None:
        self.issues.append(ConfigIssue(path, problem))


_INVALID_UNICODE = (
    "is not valid Unicode text (it holds a lone surrogate, as undecodable bytes in an environment variable do)"
)


def _items(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _yaml_key(fld: dataclasses.Field[Any]) -> str:
    return typing.cast(str, fld.metadata.get("key") or fld.name)


def _contains_secret(hint: Any) -> bool:
    return hint is Secret or any(_contains_secret(arg) for arg in typing.get_args(hint))


def _join(path: str, key: str) -> str:
    if len(key) > _SHOWN_KEY_LENGTH:
        key = key[: _SHOWN_KEY_LENGTH - 3] + "..."
    return f"{path}.{key}" if path else key


def _describe(raw: Any) -> str:
    return f"{type(raw).__name__} {_shown(raw)}"


def _shown(value: Any) -> str:
    """A short repr, bounded whatever ``value`` is: an alias-expanded list, a huge integer, an object
    whose repr raises."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"of about {int((value.bit_length() - 1) * math.log10(2)) + 1} digits"
    try:
        text = _repr.repr(value)
    except Exception:
        return "(cannot be shown)"
    return text if len(text) <= 80 else text[:77] + "..."


def _suggest(key: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1) if len(key) <= _SHOWN_KEY_LENGTH else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (expected one of: {', '.join(sorted(known))})"


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"
