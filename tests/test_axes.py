"""The axis grammar of `superpose sweep` (superpose.lab.axes): what it prints back parses to the same values,
bit for bit, and every malformed axis is one line naming it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from superpose.config import ConfigError
from superpose.lab.axes import format_axes, format_axis, format_values, parse_axes, parse_axis

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
float_axes = hnp.arrays(np.float64, st.integers(1, 12), elements=finite, unique=True)
int_axes = hnp.arrays(
    np.int64, st.integers(1, 12), elements=st.integers(-(2**63) + 1, 2**63 - 1), unique=True
)

progressions = (
    st.builds(  # integer ranges, up to the ends of int64 (where a range's stop would not fit)
        lambda start, step, k: [start + step * i for i in range(k)],
        st.one_of(st.integers(-100, 100), st.integers(2**63 - 40, 2**63 - 1), st.just(-(2**63) + 1)),
        st.integers(-5, 5).filter(bool),
        st.integers(1, 8),
    )
    .filter(lambda v: all(abs(x) < 2**63 for x in v))
    .map(lambda v: np.array(v, np.int64))
)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, bit for bit (0.0 and -0.0 apart), and the same dtype."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@given(st.one_of(float_axes, int_axes, progressions))
def test_printed_values_parse_back_exactly(values):
    name, parsed = parse_axis(format_axis("density", values))
    assert name == "density"
    assert same(parsed, values), (format_values(values), values, parsed)


range_text = (
    st.tuples(st.integers(-50, 50), st.integers(-50, 50), st.sampled_from([None, 1, 2, 7, -1, -3]))
    .filter(lambda t: len(range(t[0], t[1], t[2] or 1)) > 0)
    .map(lambda t: f"{t[0]}:{t[1]}" + ("" if t[2] is None else f":{t[2]}"))
)
number_text = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e3, 1e3, allow_nan=False).map(repr),
    st.sampled_from(["0.1", "1e-3", "3.", ".5", "-2.5e2", "+4", "1E2"]),
)
call_text = st.builds(
    lambda fn, a, b, n: f"{fn}({a},{b},{n})",
    st.sampled_from(["linspace", "logspace", "geomspace"]),
    st.sampled_from(["0", "1", "-2", "0.5", "1e-2", "3"]),
    st.sampled_from(["1", "-1", "2.5", "0.001", "10"]),
    st.integers(1, 12),
)


@given(st.one_of(range_text, call_text, st.lists(number_text, min_size=1, max_size=6).map(",".join)))
def test_typed_axes_print_back_to_the_same_values(text):
    try:
        name, values = parse_axis(f"lr={text}")
    except ConfigError as e:  # a repeated value, a geomspace through 0: refused, and in one line
        assert "\n" not in str(e) and "lr=" in str(e)
        return
    again = format_axis(name, values)
    assert same(parse_axis(again)[1], values), (text, again)
    assert len(again) <= max(len(text) + 8, 60) or "," in again  # a call or range stays a call or range


def test_the_common_forms_read_as_numpy_says():
    axes = parse_axes(["density=logspace(0,-2,10)", "seed=0:4", "lr=1e-3,3e-3", "n_hidden = 2", "x=0:10:5"])
    assert list(axes) == ["density", "seed", "lr", "n_hidden", "x"]
    assert same(axes["density"], np.logspace(0, -2, 10))
    assert same(axes["seed"], np.arange(4, dtype=np.int64))
    assert same(axes["lr"], np.array([1e-3, 3e-3]))
    assert same(axes["n_hidden"], np.array([2]))
    assert same(axes["x"], np.array([0, 5]))
    assert same(parse_axis("d=geomspace(1,0.05,6)")[1], np.geomspace(1, 0.05, 6))
    assert same(parse_axis("d=linspace(0.1,1,4)")[1], np.linspace(0.1, 1, 4))
    assert same(parse_axis("seed=3:0:-1")[1], np.array([3, 2, 1]))
    assert parse_axes("density=1,0.1; seed=0:2").keys() == {"density", "seed"}
    assert format_axes(axes).startswith("density=logspace(0,-2,10); seed=0:4; lr=0.001,0.003")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("density=lgspace(0,-2,10)", "unknown function 'lgspace'"),
        ("seed=4:0", "is empty"),
        ("seed=0:4:0", "step must not be 0"),
        ("density=abc", "'abc' is not a number"),
        ("density=0.1,,0.2", "'' is not a number"),
        ("density=nan", "'nan' is not a number"),
        ("density=1e999", "must be finite"),
        ("density=logspace(0,400,3)", "must be finite"),
        ("seed=0.5,1", "seed values must be integers"),
        ("seed=linspace(0,3,4)", "seed values must be integers"),
        ("seed=0:1:0.5", "takes integers"),
        ("seed=0:1:2:3", "start:stop or start:stop:step"),
        ("density", "expected NAME=VALUES"),
        ("density=", "no values"),
        ("=0.1", "is not an axis name"),
        ("2x=1", "is not an axis name"),
        ("density=linspace(0,1)", "takes (start, stop, num)"),
        ("density=linspace(0,1,0)", "num must be a positive integer"),
        ("density=linspace(0,1,2.5)", "num must be a positive integer"),
        ("density=geomspace(0,1,3)", "non-zero and of one sign"),
        ("density=0.1,0.1", "appears more than once"),
        ("seed=99999999999999999999", "too large"),
        ("density=linspace(0,1,1000000)", "at most"),
    ],
)
def test_malformed_axes_are_one_line_naming_the_axis(text, fragment):
    with pytest.raises(ConfigError) as e:
        parse_axes([text])
    message = str(e.value)
    assert fragment in message and "\n" not in message, message
    assert message.startswith(f"axis {text.split('=')[0].strip()!r}") or "axis '" in message


def test_axes_given_twice_or_not_at_all_are_refused():
    with pytest.raises(ConfigError, match="given twice"):
        parse_axes(["density=0.1", "density=0.2"])
    with pytest.raises(ConfigError, match="no axes"):
        parse_axes(" ; ")
