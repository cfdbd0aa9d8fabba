"""Declaring a Config field's check where the field is declared.

Owns: the helpers that make a dataclass field with its default and its rule, e.g.

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_features: int = count(5)                               # a positive integer
        densities: tuple[float, ...] = probability((1.0, 0.1))  # each in (0, 1]

and `Check`, the rule they store in the field's metadata under "check". `overrides.validate_config` reads it:
every field's value must match its annotated type and floats must be finite; a declared check then judges
the value (each element of a tuple or list). A field's name implies nothing. A check is any callable
`value -> None | str`: None when the value passes, else a phrase completing "NAME ...", e.g. "must be odd"
(declare one as `dataclasses.field(default=..., metadata={"check": fn})`). A subclass that redeclares a field
only to change its default (`n_features: int = 3`) keeps the check of the class it inherits the field from.
Rules between fields belong in the Config's `__post_init__` (raise ValueError or ConfigError). In a class
body a field named like a helper (`seed: int = seed(0)`) hides the helper from the fields after it: put it last.
Does not: parse or convert values (overrides.py).
"""

from __future__ import annotations

import dataclasses
import math
import numbers

from superpose.config import MAX_STEPS

CHECK = "check"  # the metadata key
MISSING = dataclasses.MISSING  # no default: the field must be given


@dataclasses.dataclass(frozen=True)
class Check:
    """A number (each number, in a tuple or list) in [low, high], an end open where `low_open` / `high_open`,
    and an integer where `integer`. `rule` completes "NAME must be ...", e.g. "in (0, 1]"."""

    rule: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    empty_ok: bool = False  # a tuple or list field may be empty (e.g. "() skips this case")

    def __call__(self, value) -> str | None:
        if isinstance(value, (tuple, list)) and not value and not self.empty_ok:
            # An empty list where the experiment expects values would only fail later, inside training or
            # analysis (sae --set dict_ratios=): refuse it where it enters.
            return "must hold at least one value (got an empty list)"
        for v in _numbers(value):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral if self.integer else numbers.Real):
                return f"must be {self.rule}"
            above = v > self.low if self.low_open else v >= self.low
            below = v < self.high if self.high_open else v <= self.high
            if not (above and below):
                return f"must be {self.rule}"
        return None


def _numbers(value) -> list:
    """The values a check judges: the value itself, or each element of a (nested) tuple or list; None skipped."""
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _numbers(item)]
    return [] if value is None else [value]


def checked(default, check) -> dataclasses.Field:
    """A dataclass field with `default` (MISSING: none) whose values `check` judges."""
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={CHECK: check})
    return dataclasses.field(default=default, metadata={CHECK: check})


def declared_check(config_cls, name: str):
    """The check declared for field `name` of dataclass `config_cls` or of the base it inherits it from."""
    for klass in config_cls.__mro__:
        field = getattr(klass, "__dataclass_fields__", {}).get(name)
        if field is not None and CHECK in field.metadata:
            return field.metadata[CHECK]
    return None


def _bounds(low, high, low_open, high_open) -> str:
    if high == math.inf:
        return f"{'>' if low_open else '>='} {low:g}"
    if low == -math.inf:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def between(
    default=MISSING,
    low=-math.inf,
    high=math.inf,
    *,
    low_open=False,
    high_open=False,
    integer=False,
    empty_ok=False,
):
    """A number in [low, high] (open ends where asked; an integer if `integer`)."""
    rule = f"{'an integer' if integer else 'a number'} {_bounds(low, high, low_open, high_open)}"
    return checked(default, Check(rule, low, high, low_open, high_open, integer, empty_ok))


def count(default=MISSING, minimum: int = 1, *, empty_ok: bool = False):
    """A count or shape: an integer >= minimum (1 unless 0 means "none", e.g. skip a case)."""
    rule = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
    return checked(default, Check(rule, low=minimum, integer=True, empty_ok=empty_ok))


def steps(default=MISSING, minimum: int = 1):
    """A number of training steps: an integer >= minimum that fits the device's int32 step counter."""
    rule = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
    return checked(default, Check(f"{rule} below 2**31", low=minimum, high=MAX_STEPS, integer=True))


def probability(default=MISSING, *, empty_ok: bool = False):
    """A density (feature probability, 1 - S) or another probability that must not be 0: in (0, 1]."""
    return checked(default, Check("in (0, 1]", 0, 1, low_open=True, empty_ok=empty_ok))


def sparsity(default=MISSING, *, empty_ok: bool = False):
    """A sparsity S = 1 - density: in [0, 1)."""
    return checked(default, Check("in [0, 1)", 0, 1, high_open=True, empty_ok=empty_ok))


def fraction(default=MISSING, *, empty_ok: bool = False):
    """A fraction or share, e.g. a pass threshold: in [0, 1]."""
    return checked(default, Check("in [0, 1]", 0, 1, empty_ok=empty_ok))


def positive(default=MISSING, *, empty_ok: bool = False):
    """A number > 0: learning rates, tolerances, ratios."""
    return checked(default, Check("positive", low=0, low_open=True, empty_ok=empty_ok))


def nonnegative(default=MISSING, *, empty_ok: bool = False):
    """A number >= 0: weight decays, importances, margins."""
    return checked(default, Check("non-negative", low=0, empty_ok=empty_ok))


def seed(default=MISSING):
    """A root random seed: an integer in [0, 2**32)."""
    return checked(default, Check("an integer in [0, 2**32)", 0, 2**32, high_open=True, integer=True))
