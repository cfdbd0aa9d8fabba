"""The axis grammar of `superpose sweep`: a grid's axes typed on one line, and printed back the same way.

One axis is NAME=VALUES, where NAME is a Study axis (density, seed, lr, n_hidden, model.FIELD, ...) and
VALUES is one of

    0.1                     one value
    1,0.3,0.1               a list
    0:4   0:20:5   4:0:-1   integers from start up to stop, stop excluded (Python's range), optional step
    linspace(0,1,5)         numpy.linspace(start, stop, num): num values, ends included
    logspace(0,-2,10)       numpy.logspace(start, stop, num): 10**start ... 10**stop
    geomspace(1,0.01,10)    numpy.geomspace(start, stop, num)

Several axes on one line are separated by ";" (`density=logspace(0,-2,10); seed=0:4`), which is how a sweep's
config stores them. Numbers written without a "." or an exponent are integers, and an axis of integers stays
integer; any float makes the axis float64, exact as written. `format_axis` prints values back in this
grammar (the shortest exact form: a range, a *space call, or the list of shortest round-trip reprs), so
parsing what it prints gives the same values, bit for bit.

Owns: parsing and printing, with a one-line ConfigError for anything malformed (an unknown function, an empty
or non-integer range, a non-number, NaN or inf, a repeated value or axis, a seed axis of non-integers).
Does not: know which names a Study accepts (superpose.study refuses unknown ones) or import jax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np

from superpose.config import ConfigError

FUNCTIONS = {"linspace": np.linspace, "logspace": np.logspace, "geomspace": np.geomspace}
INTEGER_AXES = ("seed",)  # axes whose values must be integers whatever the Study says later
NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$")
INT = re.compile(r"^[+-]?\d+$")
FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
CALL = re.compile(r"^([A-Za-z_]\w*)\s*\((.*)\)$")
MAX_VALUES = 100_000  # one axis; the grid is the product, so even this is far beyond a sane sweep


def _number(text: str, where: str) -> int | float:
    text = text.strip()
    if INT.match(text):
        if abs(int(text)) >= 2**63:
            raise ConfigError(f"{where}: the integer {text} is too large (at most 2**63 - 1)")
        return int(text)
    if FLOAT.match(text):
        return float(text)
    raise ConfigError(f"{where}: {text!r} is not a number")


def _values(text: str, where: str) -> np.ndarray:
    """VALUES (module docstring) as a 1-D int64 or float64 array."""
    text = text.strip()
    if not text:
        raise ConfigError(f"{where}: no values after '='")
    call = CALL.match(text)
    if call:
        fn, args = call.group(1), call.group(2).split(",")
        if fn not in FUNCTIONS:
            raise ConfigError(f"{where}: unknown function {fn!r} (known: {', '.join(FUNCTIONS)})")
        if len(args) != 3:
            raise ConfigError(f"{where}: {fn} takes (start, stop, num), got {len(args)} argument(s)")
        start, stop = (float(_number(a, where)) for a in args[:2])
        num = _number(args[2], where)
        if not isinstance(num, int) or num < 1:
            raise ConfigError(f"{where}: {fn}'s num must be a positive integer, got {args[2].strip()}")
        if num > MAX_VALUES:
            raise ConfigError(f"{where}: {num:,} values on one axis (at most {MAX_VALUES:,})")
        if fn == "geomspace" and (start == 0 or stop == 0 or (start < 0) != (stop < 0)):
            raise ConfigError(f"{where}: geomspace needs start and stop non-zero and of one sign")
        with np.errstate(over="ignore"):
            values = FUNCTIONS[fn](start, stop, num)
    elif ":" in text:
        parts = text.split(":")
        if len(parts) > 3:
            raise ConfigError(f"{where}: a range is start:stop or start:stop:step, got {text!r}")
        numbers = [_number(p, where) for p in parts]
        if not all(isinstance(n, int) for n in numbers):
            raise ConfigError(
                f"{where}: a range start:stop[:step] takes integers, got {text!r} (for floats use linspace)"
            )
        start, stop, step = (*numbers, 1) if len(numbers) == 2 else numbers
        if step == 0:
            raise ConfigError(f"{where}: a range's step must not be 0")
        count = len(range(start, stop, step))
        if count > MAX_VALUES:
            raise ConfigError(f"{where}: {count:,} values on one axis (at most {MAX_VALUES:,})")
        values = np.arange(start, stop, step, dtype=np.int64)
        if values.size == 0:
            raise ConfigError(
                f"{where}: the range {text} is empty (the stop is excluded, as in Python's range: 0:4 is 0, 1, 2, 3)"
            )
    else:
        items = text.split(",")
        if items[-1].strip() == "" and len(items) > 1:  # a trailing comma, as in 0.1,
            items = items[:-1]
        numbers = [_number(item, where) for item in items]
        is_int = all(isinstance(n, int) for n in numbers)
        values = np.asarray(numbers, dtype=np.int64 if is_int else np.float64)
    if not np.all(np.isfinite(values)):
        raise ConfigError(f"{where}: values must be finite, got {values[~np.isfinite(values)][0]}")
    unique, counts = np.unique(values, return_counts=True)
    if np.any(counts > 1):
        raise ConfigError(f"{where}: the value {unique[counts > 1][0]} appears more than once")
    return values


def parse_axis(text: str) -> tuple[str, np.ndarray]:
    """Parse NAME=VALUES into (NAME, values [k] int64 or float64). ConfigError (one line) if malformed."""
    where = f"axis {text.strip()!r}"
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep:
        raise ConfigError(f"{where}: expected NAME=VALUES, e.g. density=logspace(0,-2,10) or seed=0:4")
    if not NAME.match(name):
        raise ConfigError(f"{where}: {name!r} is not an axis name (letters, digits, _ and one '.')")
    values = _values(rest, where)
    if name in INTEGER_AXES and not np.issubdtype(values.dtype, np.integer):
        raise ConfigError(f"{where}: {name} values must be integers, got {values[0].item()!r}")
    return name, values


def parse_axes(spec: str | Iterable[str]) -> dict[str, np.ndarray]:
    """Axes from "A=...; B=..." or from a list of "NAME=VALUES" (each may hold several, split at ";"), in
    order. ConfigError for a malformed axis, none at all, or one given twice."""
    texts = [spec] if isinstance(spec, str) else list(spec)
    axes: dict[str, np.ndarray] = {}
    for text in texts:
        if not isinstance(text, str):
            raise ConfigError(f"an axis must be text NAME=VALUES, got {text!r}")
        for part in text.split(";"):
            if not part.strip():
                continue
            name, values = parse_axis(part)
            if name in axes:
                raise ConfigError(f"axis {name!r} given twice")
            axes[name] = values
    if not axes:
        raise ConfigError("no axes: give at least one, e.g. density=logspace(0,-2,10)")
    return axes


def _float_text(x: float) -> str:
    """The shortest text that reads back as exactly x, always with a '.' or an exponent (so it stays float)."""
    text = repr(float(x))
    return text if FLOAT.match(text) and not INT.match(text) else f"{float(x):.17g}"


def format_values(values) -> str:
    """VALUES text for a 1-D array of finite numbers: parsing it gives back exactly `values` (and dtype kind)."""
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
    if np.issubdtype(values.dtype, np.integer):
        ints = [int(v) for v in values]  # Python ints: differences of int64 values may overflow
        step = ints[1] - ints[0] if len(ints) > 2 else 0
        stop = ints[-1] + step
        if step and abs(stop) < 2**63 and all(b - a == step for a, b in zip(ints, ints[1:])):
            return f"{ints[0]}:{stop}" + ("" if step == 1 else f":{step}")
        return ",".join(map(str, ints))
    values = values.astype(np.float64)
    if values.size > 2:
        for candidate in _calls(values):
            try:
                if np.array_equal(_values(candidate, ""), values):
                    return candidate
            except ConfigError:
                continue
    return ",".join(_float_text(v) for v in values)


def _arg_text(x: float) -> str:
    """A *space argument (read as a float whatever it looks like): 2 rather than 2.0 where exact."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else _float_text(x)


def _calls(values: np.ndarray) -> list[str]:
    """linspace / geomspace / logspace texts that may reproduce `values` exactly (format_values checks)."""
    a, b, n = values[0], values[-1], values.size
    out = [f"linspace({_arg_text(a)},{_arg_text(b)},{n})"]
    if a > 0 and b > 0:
        la, lb = np.log10(a), np.log10(b)
        out += [
            f"logspace({_arg_text(round(la, 12))},{_arg_text(round(lb, 12))},{n})",
            f"logspace({_arg_text(la)},{_arg_text(lb)},{n})",
        ]
    if a != 0 and b != 0 and (a < 0) == (b < 0):
        out.append(f"geomspace({_arg_text(a)},{_arg_text(b)},{n})")
    return out


def format_axis(name: str, values) -> str:
    """NAME=VALUES text: parse_axis of it gives back (name, values) exactly."""
    return f"{name}={format_values(values)}"


def format_axes(axes: Mapping[str, np.ndarray]) -> str:
    """Axes as "A=...; B=..." text: parse_axes of it gives back the same axes, in order."""
    return "; ".join(format_axis(k, v) for k, v in axes.items())
