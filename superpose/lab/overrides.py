"""`--set key=value` overrides, configs read back from config.json, and validation of an experiment's Config.

Owns: one walker over a field's annotated type (int, float, bool, str, tuples, lists, `T | None`, `Literal`)
that converts either text from `--set` or a JSON/Python value; building a config from config.json; and
`validate_config`, which checks every field's type, that its floats are finite, and the check the field
declares (superpose.lab.fields). Every problem is a `ConfigError` whose message is one line for the user.
Does not: run anything, or infer a rule from a field's name.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from collections.abc import Sequence

from superpose.config import ConfigError
from superpose.lab import store
from superpose.lab.fields import declared_check


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or e.__class__.__name__


# --- one walker over the annotated type: text from --set, or a JSON/Python value --------------------------


def _describe(typ) -> str:
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    simple = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    if typ in simple:
        return simple[typ]
    if origin in (tuple, list):
        item = args[0] if args else str
        return f"comma-separated values, each {_describe(item)}"
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin in (typing.Union, types.UnionType):
        return " or ".join("none" if a is type(None) else _describe(a) for a in args)
    return getattr(typ, "__name__", str(typ))


class _Text:
    """Leaves of a `--set` value: ints accept 1e4 and 2.0, bools yes/no/on/off/1/0, sequences are
    comma-separated with optional brackets and a trailing comma, None is "none" or "null"."""

    TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

    @staticmethod
    def is_none(text: str) -> bool:
        return text.strip().lower() in ("none", "null")

    @staticmethod
    def items(text: str) -> list[str]:
        text = text.strip()
        if len(text) >= 2 and text[0] + text[-1] in ("()", "[]"):
            text = text[1:-1]
        parts = text.split(",") if text.strip() else []
        return parts[:-1] if parts and not parts[-1].strip() else parts  # a trailing comma, as in (0.5,)

    @classmethod
    def leaf(cls, text: str, typ):
        text = text.strip()
        if typ is bool:
            if text.lower() not in cls.TRUE + cls.FALSE:
                raise ValueError(text)
            return text.lower() in cls.TRUE
        if typ is int:
            try:
                return int(text)
            except ValueError:
                value = float(text)  # 1e4 and 2.0 name integers
                if not (math.isfinite(value) and value.is_integer() and abs(value) < 2**53):
                    raise ValueError(text) from None
                return int(value)
        if typ is float:
            return float(text)
        if typ in (str, typing.Any):  # text is text
            return text
        raise ConfigError(f"a field of type {_describe(typ)} cannot be set from the command line")


class _Value:
    """Leaves of a value from config.json or Python: no conversion beyond int -> float; bools are not ints."""

    @staticmethod
    def is_none(value) -> bool:
        return value is None

    @staticmethod
    def items(value) -> list:
        if not isinstance(value, (list, tuple)):
            raise ValueError(value)
        return list(value)

    @staticmethod
    def leaf(value, typ):
        if typ is bool and isinstance(value, bool):
            return value
        if typ in (int, float) and not isinstance(value, bool):
            if isinstance(value, numbers.Integral):
                return typ(value)
            if typ is float and isinstance(value, numbers.Real):
                return float(value)
        if typ is str and isinstance(value, str):
            return value
        if typ in (bool, int, float, str):
            raise ValueError(value)
        if typ is typing.Any or not isinstance(typ, type) or isinstance(value, typ):
            return value  # a type the walker does not know: taken as it is
        raise ValueError(value)


def _convert(value, typ, reader):
    """`value` as annotated type `typ`, walking unions, Literal, tuples and lists; `reader` (_Text or _Value)
    reads the leaves. Raises ValueError if it does not fit."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and reader.is_none(value):
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(value, option, reader)
            except ValueError:
                continue
        raise ValueError(value)
    if origin is typing.Literal:
        for option in args:
            try:
                if reader.leaf(value, type(option)) == option:
                    return option
            except ValueError:
                continue
        raise ValueError(value)
    if origin in (tuple, list):
        items = reader.items(value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise ValueError(value)
            return tuple(_convert(v, a, reader) for v, a in zip(items, args))
        item = args[0] if args else typing.Any
        values = [_convert(v, item, reader) for v in items]
        return tuple(values) if origin is tuple else values
    return reader.leaf(value, typ)


def parse_value(text: str, typ):
    """`text` as a value of annotated type `typ`: int, float, bool, str, tuple/list of those, Optional,
    Literal. Raises ValueError if it does not parse, ConfigError if the type cannot be set from text."""
    return _convert(text, typ, _Text)


def _type_hints(config_cls) -> dict:
    try:
        return typing.get_type_hints(config_cls)
    except Exception as e:  # an unresolvable annotation is the script's bug; say so in one line
        raise ConfigError(f"cannot read the field types of {config_cls.__name__}: {e}") from None


def apply_overrides(cfg, overrides: Sequence[str]):
    """cfg with each "key=value" applied (values parsed by the field's annotated type), then validated.

    Raises ConfigError (one line) for anything malformed, unknown, mistyped or out of range.
    """
    fields = {f.name: f for f in dataclasses.fields(cfg) if f.init}
    hints = _type_hints(type(cfg))
    changes = {}
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set n_steps=2000")
        key, text = item.split("=", 1)
        key = key.strip()
        if key not in fields:
            what = "missing key" if not key else f"unknown config key {key!r}"
            raise ConfigError(f"--set {item!r}: {what}; known keys: {', '.join(fields)}")
        try:
            changes[key] = parse_value(text, hints.get(key, str))
        except (ValueError, OverflowError):
            raise ConfigError(
                f"--set {key}={text.strip()!r}: expected {_describe(hints.get(key, str))}"
            ) from None
        check_field(type(cfg), key, changes[key], hints)  # before __post_init__ sees the value
    try:
        new = dataclasses.replace(cfg, **changes)
    except (ValueError, TypeError, ArithmeticError) as e:
        raise ConfigError(f"invalid config: {one_line(e)}") from None
    validate_config(new)
    return new


def config_from_dict(config_cls, values: dict, source="config.json"):
    """A config dataclass from the "config" object of a run's config.json; RunError naming `source`."""
    if not isinstance(values, dict):
        raise store.RunError(f"corrupt file: {source} (config is not an object)")
    hints = _type_hints(config_cls)
    names = {f.name for f in dataclasses.fields(config_cls) if f.init}
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            raise store.RunError(f"{source}: unknown config key {key!r} for {config_cls.__name__}")
        try:
            kwargs[key] = _convert(value, hints.get(key, typing.Any), _Value)
        except ValueError:
            raise store.RunError(
                f"{source}: config key {key!r} should be {_describe(hints[key])}, found {value!r}"
            ) from None
    try:
        for key, value in kwargs.items():
            check_field(config_cls, key, value, hints)
        cfg = config_cls(**kwargs)
        validate_config(cfg)
    except (ValueError, TypeError, ArithmeticError) as e:
        raise store.RunError(f"{source}: invalid config: {one_line(e)}") from None
    return cfg


# --- validation: the annotated type, finite floats, and the check each field declares -------------------


def _floats(value) -> list:
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _floats(item)]
    is_float = isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)
    return [value] if is_float else []


def check_field(config_cls, name: str, value, hints: dict | None = None) -> None:
    """ConfigError (one line) unless `value` fits field `name` of `config_cls`: its annotated type, finite
    floats, and the check the field declares (superpose.lab.fields), if any."""
    hints = _type_hints(config_cls) if hints is None else hints
    if name in hints:
        try:
            _convert(value, hints[name], _Value)
        except ValueError:
            raise ConfigError(f"{name} must be {_describe(hints[name])}, got {value!r}") from None
    if not all(math.isfinite(v) for v in _floats(value)):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    check = declared_check(config_cls, name)
    problem = check(value) if check is not None else None
    if problem:
        raise ConfigError(f"{name} {problem}, got {value!r}")


def validate_config(cfg) -> None:
    """ConfigError (one line) if any field of `cfg` breaks its type, has a NaN or inf, or fails the check it
    declares (superpose.lab.fields). Rules between fields are the Config's own __post_init__, already run."""
    hints = _type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        if hasattr(cfg, f.name):
            check_field(type(cfg), f.name, getattr(cfg, f.name), hints)
